package govern

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/tidegate/tidegate/internal/counter"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/store"
)

// Ticket follows one admitted request to its end.
type Ticket struct {
	g         *Gate
	id        *Identity
	model     string
	requestID string
	start     time.Time
	reserved  *counter.Reservation
	counter   counter.Counter // where the reservation was taken
	req       *llm.Request
	prompt    *int64 // prompt tokens, once counted
	states    []counter.State
	once      sync.Once
}

// Outcome is how a request ended.
type Outcome struct {
	Usage llm.Usage
	// UsageKnown: the upstream reported usage (even partial, such as the
	// input tokens of a stream's start). Without it, a request that reached
	// a provider is charged its prompt.
	UsageKnown bool
	Sent       bool // a provider was reached
	Provider   string
	Upstream   string // upstream model, whose price applies
	Status     int
	Err        error
	// CacheHit: answered from the response cache. It costs nothing (Usage
	// is left zero) and is logged as a cache hit, not a refusal.
	CacheHit bool
}

// Finish settles the reservation with the real usage and records the
// request, and returns the usage's cost in USD. It runs once; later calls
// do nothing and return 0.
func (t *Ticket) Finish(o Outcome) (cost float64) {
	t.once.Do(func() {
		u := o.Usage
		if !o.UsageKnown && o.Sent {
			// A request cut short (cancelled, or failed mid-stream) that the
			// upstream never reported on pays for its prompt.
			u = llm.Usage{InputTokens: int(t.promptTokens())}
		}
		if o.Upstream != "" && t.g.opt.Catalog != nil {
			cost = Cost(u, t.g.models.lookup(o.Upstream).Price)
		}
		// Request counts never change after admission, so a reservation of
		// request windows only needs no settling (one Redis round trip per
		// request instead of two).
		if r := t.reserved; r != nil && (len(r.Tokens) > 0 || len(r.Budgets) > 0) {
			// Settle even if the caller left: use a fresh context.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := t.counter.Settle(ctx, t.reserved, counter.Usage{Tokens: int64(u.InputTokens + u.OutputTokens), Cost: microUSD(cost * 1e6)})
			cancel()
			if err != nil {
				t.g.opt.Metrics.CounterError(t.g.opt.CounterBackend)
				t.g.opt.Logger.Warn("settle failed; the reservation expires on its own", "error", err)
			}
		}
		rec := t.record(o.Status)
		rec.Provider, rec.UpstreamModel = o.Provider, o.Upstream
		rec.InputTokens, rec.OutputTokens = int64(u.InputTokens), int64(u.OutputTokens)
		rec.CacheReadTokens, rec.CacheWriteTokens = int64(u.CacheReadTokens), int64(u.CacheWriteTokens)
		rec.CostUSD = cost
		rec.Refused = !o.Sent && !o.CacheHit
		rec.CacheHit = o.CacheHit
		if o.Err != nil {
			rec.Error = llm.AsError(o.Err).Message
		}
		t.g.opt.Usage.Add(rec)
	})
	return cost
}

// refuse records a request the gateway answered itself.
func (t *Ticket) refuse(status int, reason string) {
	t.once.Do(func() {
		rec := t.record(status)
		rec.Refused, rec.Error = true, reason
		t.g.opt.Usage.Add(rec)
	})
}

func (t *Ticket) record(status int) store.Usage {
	rec := store.Usage{Time: t.start, RequestID: t.requestID, Model: t.model, Status: status,
		LatencyMS: t.g.opt.Now().Sub(t.start).Milliseconds()}
	if t.id != nil {
		rec.KeyID = t.id.Key.ID
		if t.id.User != nil {
			rec.UserID = t.id.User.ID
		} else {
			rec.UserID = t.id.Key.UserID
		}
		if t.id.Team != nil {
			rec.TeamID = t.id.Team.ID
		} else {
			rec.TeamID = t.id.Key.TeamID
		}
	}
	return rec
}

// RecordRefusal logs a request refused before admission (bad key, unknown
// model, policy) so refusals are counted apart in usage.
func (g *Gate) RecordRefusal(id *Identity, model, requestID string, status int, err error) {
	t := &Ticket{g: g, id: id, model: model, requestID: requestID, start: g.opt.Now()}
	t.refuse(status, llm.AsError(err).Message)
}

// rateHeaders are the rate-limit header names per dialect, in canonical
// form so that they are set without canonicalising on every request:
// [dialect is Anthropic][requests, tokens][limit, remaining, reset].
var rateHeaders = [2][2][3]string{
	{{"X-Ratelimit-Limit-Requests", "X-Ratelimit-Remaining-Requests", "X-Ratelimit-Reset-Requests"},
		{"X-Ratelimit-Limit-Tokens", "X-Ratelimit-Remaining-Tokens", "X-Ratelimit-Reset-Tokens"}},
	{{"Anthropic-Ratelimit-Requests-Limit", "Anthropic-Ratelimit-Requests-Remaining", "Anthropic-Ratelimit-Requests-Reset"},
		{"Anthropic-Ratelimit-Tokens-Limit", "Anthropic-Ratelimit-Tokens-Remaining", "Anthropic-Ratelimit-Tokens-Reset"}},
}

// SetHeaders writes rate-limit headers in the caller's dialect: for
// requests and tokens, the tightest window's limit, remaining and reset.
func (t *Ticket) SetHeaders(h http.Header, d llm.Dialect) {
	req, tok := tightest(t.states, t.reserved)
	anthropic := 0
	if d == llm.DialectAnthropic {
		anthropic = 1
	}
	for i, s := range [2]*counter.State{req, tok} {
		if s == nil {
			continue
		}
		// The three values share one string and one slice array: two
		// allocations per window instead of six.
		var buf [64]byte
		b := strconv.AppendInt(buf[:0], s.Limit, 10)
		limitEnd := len(b)
		b = strconv.AppendInt(b, max(s.Remaining, 0), 10)
		remainingEnd := len(b)
		if anthropic == 1 {
			b = t.g.opt.Now().Add(s.Reset).UTC().AppendFormat(b, time.RFC3339)
		} else {
			b = appendReset(b, s.Reset)
		}
		v := string(b)
		vals := [...]string{v[:limitEnd], v[limitEnd:remainingEnd], v[remainingEnd:]}
		all := vals[:]
		names := &rateHeaders[anthropic][i]
		h[names[0]] = all[0:1:1]
		h[names[1]] = all[1:2:2]
		h[names[2]] = all[2:3:3]
	}
}

// tightest picks the request window and the token window with the least
// room left.
func tightest(states []counter.State, r *counter.Reservation) (req, tok *counter.State) {
	if r == nil {
		return nil, nil
	}
	for i := range states {
		s := &states[i]
		p := &req
		if slices.ContainsFunc(r.Tokens, func(w counter.Window) bool { return w.Key == s.Key }) {
			p = &tok
		}
		if *p == nil || s.Remaining < (*p).Remaining {
			*p = s
		}
	}
	return req, tok
}

// appendReset renders a duration as OpenAI does ("1s", "6m0s", "120ms"):
// below a second in milliseconds, else rounded to the second as
// time.Duration prints it.
func appendReset(b []byte, d time.Duration) []byte {
	if d < time.Second {
		return append(strconv.AppendInt(b, d.Milliseconds(), 10), "ms"...)
	}
	secs := int64(d.Round(time.Second) / time.Second)
	if h := secs / 3600; h > 0 {
		b = append(strconv.AppendInt(b, h, 10), 'h')
	}
	if secs >= 60 {
		b = append(strconv.AppendInt(b, secs/60%60, 10), 'm')
	}
	return append(strconv.AppendInt(b, secs%60, 10), 's')
}

// newReservationID is a random reservation ID ("res_" and 24 hex digits).
// The runtime's per-thread ChaCha8 generator is enough: IDs only need to
// be unique, and crypto/rand costs ~8× more (a getrandom call each).
func newReservationID() string {
	var b [28]byte
	copy(b[:], "res_")
	var raw [16]byte
	binary.LittleEndian.PutUint64(raw[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(raw[8:], rand.Uint64())
	hex.Encode(b[4:], raw[:12])
	return string(b[:])
}

// promptTokens counts the prompt with the tokenizer, unless the
// reservation already did.
func (t *Ticket) promptTokens() int64 {
	if t.prompt != nil {
		return *t.prompt
	}
	if t.req == nil || t.req.Decode() != nil {
		return 0
	}
	n, err := t.g.opt.Tokens.Request(t.req)
	if err != nil {
		return 0
	}
	return int64(n)
}
