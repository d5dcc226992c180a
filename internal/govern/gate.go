package govern

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"path"
	"time"

	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/counter"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/metrics"
	"github.com/tidegate/tidegate/internal/router"
	"github.com/tidegate/tidegate/internal/store"
	"github.com/tidegate/tidegate/internal/tokens"
)

// Options configure a Gate.
type Options struct {
	Store store.Store // required
	// Counter enforces limits and budgets; nil when none are needed.
	Counter counter.Counter
	Catalog *catalog.Catalog
	Tokens  *tokens.Counter
	Usage   *Writer // the usage log; nil: not recorded
	// RequireKey: auth: keys. Without it requests are anonymous and only
	// recorded.
	RequireKey bool
	// FailOpen admits requests when the counter backend is unreachable,
	// enforcing the limits per replica on Local instead (default: fail
	// closed with a 503).
	FailOpen bool
	Local    counter.Counter
	// ReservationTTL bounds how long an unsettled reservation holds budget.
	ReservationTTL time.Duration
	Logger         *slog.Logger
	Now            func() time.Time
	// Metrics counts key checks, refusals and counter failures; nil: off.
	Metrics *metrics.Metrics
	// CounterBackend names Counter in counter_errors_total (redis, memory).
	CounterBackend string
}

// Gate admits requests. It is safe for concurrent use.
type Gate struct {
	opt    Options
	ids    *identities
	models *modelInfos
}

// New builds a Gate.
func New(opt Options) *Gate {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Tokens == nil {
		opt.Tokens = tokens.New()
	}
	if opt.ReservationTTL == 0 {
		opt.ReservationTTL = 15 * time.Minute
	}
	return &Gate{opt: opt, ids: newIdentities(opt.Store, opt.Now), models: &modelInfos{catalog: opt.Catalog}}
}

// Invalidate forgets cached keys, users and teams (after an admin change).
func (g *Gate) Invalidate() { g.ids.invalidate() }

// Identify authenticates the caller. With RequireKey, a missing, unknown,
// revoked or expired key is a 401 (recorded as refused); without it, the
// caller is anonymous (nil Identity) unless it presents a valid key.
func (g *Gate) Identify(ctx context.Context, h http.Header) (*Identity, error) {
	m := g.opt.Metrics
	if !g.opt.RequireKey {
		m.Auth(metrics.AuthAnonymous)
		return nil, nil // auth: none ignores credentials (they are never forwarded either)
	}
	cred := credential(h)
	if cred == "" {
		m.Auth(metrics.AuthMissing)
		return nil, authError("missing API key: send your tidegate key as Authorization: Bearer, x-api-key or api-key")
	}
	id, err := g.ids.lookup(ctx, cred)
	switch {
	case errors.Is(err, errUnknownKey):
		m.Auth(metrics.AuthInvalid)
		return nil, authError("invalid API key")
	case err != nil:
		m.Auth(metrics.AuthError)
		g.opt.Logger.Error("key lookup failed", "error", err)
		return nil, &llm.Error{Kind: llm.KindOverloaded, Message: "cannot check the API key right now", Err: err}
	}
	now := g.opt.Now()
	switch {
	case id.Key.RevokedAt != nil:
		m.Auth(metrics.AuthRevoked)
		return nil, authError("this API key has been revoked")
	case id.Key.ExpiresAt != nil && !now.Before(*id.Key.ExpiresAt):
		m.Auth(metrics.AuthExpired)
		return nil, authError("this API key has expired")
	}
	m.Auth(metrics.AuthOK)
	return id, nil
}

func authError(msg string) *llm.Error {
	return &llm.Error{Kind: llm.KindAuthentication, Code: "invalid_api_key", Message: msg}
}

// Admit checks the model allowlists and takes the rate-limit and budget
// reservations for one request on route. The returned Ticket must be
// finished exactly once. requestID names the request in the usage log,
// refusals included.
func (g *Gate) Admit(ctx context.Context, id *Identity, in *router.Input, route *router.Route, req *llm.Request, requestID string) (*Ticket, error) {
	t := &Ticket{g: g, id: id, model: in.Model, requestID: requestID, start: g.opt.Now(), req: req, counter: g.opt.Counter}
	scopes := id.scopes()
	if route != nil && route.Limits.Any() {
		l := route.Limits
		scopes = append(scopes[:len(scopes):len(scopes)], newScope("model", route.LimitKey, nil, store.Limits{RPM: l.RPM, RPH: l.RPH, TPM: l.TPM, TPH: l.TPH}))
	}
	if len(scopes) == 0 {
		return t, nil
	}
	for _, s := range scopes {
		if len(s.models) > 0 && !allowed(s.models, in.Model) {
			t.refuse(http.StatusForbidden, "model not allowed")
			return nil, &llm.Error{Kind: llm.KindPermission, Code: "model_not_allowed", Param: "model",
				Message: fmt.Sprintf("this key may not use model %q (%s allowlist)", in.Model, s.kind)}
		}
	}
	if g.opt.Counter == nil {
		return t, nil
	}
	res, prompt, err := g.reservation(ctx, scopes, in, route, req)
	if err != nil {
		return nil, err
	}
	if res == nil {
		return t, nil
	}
	t.reserved = res
	if prompt >= 0 {
		counted := prompt // a copy, so that only this branch allocates
		t.prompt = &counted
	}
	dec, err := g.opt.Counter.Reserve(ctx, res)
	if err != nil {
		g.opt.Metrics.CounterError(g.opt.CounterBackend)
	}
	if err != nil && g.opt.FailOpen && g.opt.Local != nil {
		g.opt.Metrics.FailOpen()
		g.opt.Logger.Warn("counter backend unavailable: limits enforced per replica", "error", err)
		t.counter = g.opt.Local
		dec, err = g.opt.Local.Reserve(ctx, res)
	}
	if err != nil {
		if g.opt.FailOpen {
			g.opt.Metrics.FailOpen()
			g.opt.Logger.Warn("limits not enforced: counter backend unavailable", "error", err)
			t.reserved = nil
			return t, nil
		}
		t.refuse(http.StatusServiceUnavailable, "counter backend unavailable")
		return nil, &llm.Error{Kind: llm.KindOverloaded, Message: "rate limits cannot be checked right now; try again shortly", Err: err}
	}
	t.states = dec.States
	if !dec.Allowed {
		t.reserved = nil
		if dec.Budget {
			g.opt.Metrics.QuotaExceeded(id.KeyName())
			t.refuse(http.StatusTooManyRequests, "budget exceeded")
			return nil, &llm.Error{Kind: llm.KindBudget, Code: "budget_exceeded",
				Message: fmt.Sprintf("the budget of %s is spent; no more requests until it is raised or the period renews", scopeName(dec.Denied))}
		}
		g.opt.Metrics.RateLimited(id.KeyName())
		t.refuse(http.StatusTooManyRequests, "rate limited")
		return nil, &llm.Error{Kind: llm.KindRateLimit, Code: "rate_limit_exceeded", RetryAfter: dec.RetryAfter,
			Message: fmt.Sprintf("rate limit reached for %s; retry after %s", scopeName(dec.Denied), dec.RetryAfter.Round(time.Millisecond))}
	}
	return t, nil
}

// scope is one level of an identity that carries limits.
type scope struct {
	kind, id string
	models   []string
	limits   store.Limits
	base     string    // "<kind>:<id>", the counter key prefix
	windows  [4]string // counter keys of rpm, rph, tpm, tph
}

func newScope(kind, id string, models []string, l store.Limits) scope {
	base := kind + ":" + id
	return scope{kind: kind, id: id, models: models, limits: l, base: base,
		windows: [4]string{base + ":rpm", base + ":rph", base + ":tpm", base + ":tph"}}
}

// scopes are the key's, user's and team's limits, built once per cached
// identity. The slice is shared: never append to it in place.
func (id *Identity) scopes() []scope {
	if id == nil {
		return nil
	}
	id.scopesOnce.Do(func() {
		id.scopeList = []scope{newScope("key", id.Key.ID, id.Key.Models, id.Key.Limits)}
		if id.User != nil {
			id.scopeList = append(id.scopeList, newScope("user", id.User.ID, id.User.Models, id.User.Limits))
		}
		if id.Team != nil {
			id.scopeList = append(id.scopeList, newScope("team", id.Team.ID, id.Team.Models, id.Team.Limits))
		}
	})
	return id.scopeList
}

// allowed matches a public model name against an allowlist with
// wildcards ("openai/*", "gpt-*").
func allowed(list []string, model string) bool {
	for _, pattern := range list {
		if pattern == model || pattern == "*" {
			return true
		}
		if ok, _ := path.Match(pattern, model); ok {
			return true
		}
	}
	return false
}

// reservation builds what the request takes: +1 on every request window,
// the estimated tokens on every token window, and its largest possible cost
// on every budget. It returns nil when no scope has any limit, and the
// prompt's token count when it counted it (-1 when only estimated).
func (g *Gate) reservation(ctx context.Context, scopes []scope, in *router.Input, route *router.Route, req *llm.Request) (*counter.Reservation, int64, error) {
	res := &counter.Reservation{ID: newReservationID(), TTL: g.opt.ReservationTTL}
	budgets := false
	for _, s := range scopes {
		l := s.limits
		for i, w := range [4]struct {
			n     int64
			per   time.Duration
			token bool
		}{{l.RPM, time.Minute, false}, {l.RPH, time.Hour, false}, {l.TPM, time.Minute, true}, {l.TPH, time.Hour, true}} {
			if w.n <= 0 {
				continue
			}
			win := counter.Window{Key: s.windows[i], Limit: w.n, Window: w.per}
			if w.token {
				res.Tokens = append(res.Tokens, win)
			} else {
				res.Requests = append(res.Requests, win)
			}
		}
		if l.BudgetUSD > 0 {
			budgets = true
			res.Budgets = append(res.Budgets, g.budget(s))
		}
	}
	if len(res.Requests)+len(res.Tokens)+len(res.Budgets) == 0 {
		return nil, 0, nil
	}
	if len(res.Tokens) == 0 && !budgets {
		return res, -1, nil // request windows take 1 each: no tokens or cost to estimate
	}
	prompt, counted := int64(in.EstimatedTokens), int64(-1)
	if budgets {
		// Budgets reserve the most the request can cost, so the prompt is
		// counted with the tokenizer, not estimated from its size.
		if err := req.Decode(); err != nil {
			return nil, 0, err
		}
		n, err := g.opt.Tokens.Request(req)
		if err != nil {
			return nil, 0, &llm.Error{Kind: llm.KindInternal, Message: "cannot count prompt tokens", Err: err}
		}
		prompt, counted = int64(n), int64(n)
	}
	maxOut := int64(in.MaxTokens)
	var worst llm.Price
	for _, t := range route.Targets {
		info := g.models.lookup(t.Model)
		if in.MaxTokens == 0 && int64(info.MaxOutput) > maxOut {
			maxOut = int64(info.MaxOutput)
		}
		if p := info.Price; p != nil {
			worst.Input = math.Max(worst.Input, math.Max(p.Input, p.CacheWrite))
			worst.Output = math.Max(worst.Output, p.Output)
		}
	}
	if maxOut == 0 {
		maxOut = 4096
	}
	res.TokenAmount = prompt + maxOut
	res.Cost = microUSD(float64(prompt)*worst.Input + float64(maxOut)*worst.Output)
	return res, counted, nil
}

// budget is the budget counter of one scope for the current period, seeded
// from the usage log when the counter has no state.
func (g *Gate) budget(s scope) counter.Budget {
	start, end, label := period(s.limits.BudgetPeriod, g.opt.Now())
	st := g.opt.Store
	return counter.Budget{
		Key:     s.base + ":budget:" + label,
		Limit:   microUSD(s.limits.BudgetUSD * 1e6),
		Expires: end,
		Seed: func(ctx context.Context) (int64, error) {
			spent, err := st.Spend(ctx, s.kind, s.id, start)
			return microUSD(spent * 1e6), err
		},
	}
}

// period returns the current budget period's start, end (zero for total)
// and a label, in UTC.
func period(p string, now time.Time) (start, end time.Time, label string) {
	now = now.UTC()
	switch p {
	case store.PeriodDaily:
		start = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 0, 1), start.Format("2006-01-02")
	case store.PeriodMonthly:
		start = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0), start.Format("2006-01")
	default:
		return time.Time{}, time.Time{}, "total"
	}
}

// microUSD converts per-million-token price products (USD × 1e6 / 1e6
// tokens) to integer micro-USD, rounding up so reservations never fall
// short.
func microUSD(v float64) int64 { return int64(math.Ceil(v - 1e-9)) }

// Cost is what usage costs at price, in USD. Cached reads and writes are
// priced at their own rates (the input rate when unknown).
func Cost(u llm.Usage, p *llm.Price) float64 {
	if p == nil {
		return 0 // local and unpriced models are free
	}
	read, write := p.CacheRead, p.CacheWrite
	if read == 0 {
		read = p.Input
	}
	if write == 0 {
		write = p.Input
	}
	plain := max(u.InputTokens-u.CacheReadTokens-u.CacheWriteTokens, 0)
	return (float64(plain)*p.Input + float64(u.CacheReadTokens)*read + float64(u.CacheWriteTokens)*write + float64(u.OutputTokens)*p.Output) / 1e6
}

func scopeName(counterKey string) string {
	// counter keys are "<kind>:<id>:<what>…"
	n := 0
	for i := range counterKey {
		if counterKey[i] == ':' {
			n++
			if n == 2 {
				return counterKey[:i]
			}
		}
	}
	return counterKey
}
