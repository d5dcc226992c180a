package governance_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/testbinary"
	"github.com/tidegate/tidegate/internal/testpg"
	"github.com/tidegate/tidegate/internal/testupstream"
)

const replicaConfig = `
listen: {{listen}}
auth: keys
store: "%s"
redis: "%s"
counters: {prefix: "%s"}
server: {shutdown_timeout: 15s}
pricing:
  tg-replica-model: {input: %s, output: %s}
  tg-slow-model: {input: %s, output: %s}
providers:
  up:   {type: openai, base_url: "%s/v1", api_key: "sk-upstream-replicas-0123456789"}
  slow: {type: openai, base_url: "%s/v1", api_key: "sk-upstream-replicas-0123456789"}
models:
  fast: {provider: up, model: tg-replica-model}
  slow: {provider: slow, model: tg-slow-model}
`

// result is one request's outcome in a concurrent run.
type result struct {
	replica int
	resp    response
	err     error
}

// hammer sends n identical requests at once, round-robin over the
// replicas, and returns every outcome.
func hammer(replicas []*testbinary.Process, n int, path, key, body string) []result {
	out := make([]result, n)
	var wg sync.WaitGroup
	startGun := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGun
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			r := i % len(replicas)
			resp, err := send(ctx, http.MethodPost, replicas[r].URL+path, bearer, key, body)
			out[i] = result{replica: r, resp: resp, err: err}
		}()
	}
	close(startGun)
	wg.Wait()
	return out
}

// TestMultiReplica runs three gateways that share PostgreSQL and Redis
// and checks that limits, budgets, usage and revocation hold across them.
func TestMultiReplica(t *testing.T) {
	bin.Need(t)
	storeURL := testpg.Schema(t)
	prefix, rc := redisPrefix(t)

	upA := testupstream.New("openai") // model fast
	t.Cleanup(upA.Close)
	upB := testupstream.New("openai") // model slow (SIGTERM while in flight)
	t.Cleanup(upB.Close)

	// Pricing: a request reserves P × input + M × output; the upstream
	// reports exactly that usage, so each success costs the reservation.
	// 0.05 USD / 37.5 requests = 1333.33 µUSD per request: 37 fit, the
	// 38th does not.
	const maxTokens = 100
	body := chatBody("fast", maxTokens, false)
	p := promptTokens(t, body, false)
	const inPrice = 3.0
	perRequest := 0.05 / 37.5 * 1e6 // µUSD
	outPrice := (perRequest - float64(p)*inPrice) / maxTokens
	reqCost := (float64(p)*inPrice + maxTokens*outPrice) / 1e6
	usage := testupstream.Usage{Input: p, Output: maxTokens}
	upA.Set(testupstream.Reply{Text: "ok", Usage: usage})
	t.Logf("prompt %d tokens, max_tokens %d, prices %v/%v per 1M: %.9f USD per request (%.2f fit in 0.05)",
		p, maxTokens, inPrice, outPrice, reqCost, 0.05/reqCost)

	adminKey := "tg-admin-" + randHex(16)
	cfg := fmt.Sprintf(replicaConfig, storeURL, redisURL(), prefix,
		fmtFloat(inPrice), fmtFloat(outPrice), fmtFloat(inPrice), fmtFloat(outPrice), upA.URL, upB.URL)
	started := time.Now()
	replicas := make([]*testbinary.Process, 3)
	for i := range replicas {
		replicas[i] = startGateway(t, fmt.Sprintf("replica%d", i+1), cfg, adminKey)
	}
	t.Logf("three replicas up in %s", time.Since(started).Round(time.Millisecond))
	adm := admin{url: replicas[0].URL, key: adminKey}
	secrets := []string{adminKey}
	t.Cleanup(func() {
		for _, g := range replicas {
			checkNoSecrets(t, g, secrets...)
		}
	})

	// (a) 60 requests per minute, 200 at once over three replicas.
	rpmKey := adm.createKey(t, map[string]any{"name": "rpm60", "rpm": 60})
	secrets = append(secrets, rpmKey.Secret)
	t0 := time.Now()
	res := hammer(replicas, 200, "/v1/chat/completions", rpmKey.Secret, body)
	rpmOK := 0
	perReplica := [3]int{}
	var bad []string
	for _, r := range res {
		switch {
		case r.err != nil:
			bad = append(bad, fmt.Sprintf("replica%d: %v", r.replica+1, r.err))
		case r.resp.Status == http.StatusOK:
			rpmOK++
			perReplica[r.replica]++
		case r.resp.Status == http.StatusTooManyRequests:
			typ, code, _, ok := parseOpenAIError(r.resp)
			ra, err := strconv.Atoi(r.resp.Header.Get("Retry-After"))
			if !ok || typ != "rate_limit_error" || code != "rate_limit_exceeded" || err != nil || ra < 1 || ra > 60 {
				bad = append(bad, fmt.Sprintf("replica%d: want 429 type rate_limit_error, code rate_limit_exceeded, Retry-After 1..60: %s", r.replica+1, r.resp))
			}
		default:
			bad = append(bad, fmt.Sprintf("replica%d: %s", r.replica+1, r.resp))
		}
	}
	t.Logf("(a) rpm 60: %d successes of 200 (per replica %v), upstream served %d, in %s", rpmOK, perReplica, upA.Posts(), time.Since(t0).Round(time.Millisecond))
	if rpmOK != 60 {
		t.Errorf("(a) rpm 60 across three replicas: %d successes of 200 concurrent requests, want exactly 60", rpmOK)
	}
	if n := upA.Posts(); n != rpmOK {
		t.Errorf("(a) the upstream served %d requests, %d were answered 200", n, rpmOK)
	}
	reportBad(t, "(a)", bad)
	if n := countRedisKeys(t, rc, prefix); n == 0 {
		t.Errorf("(a) no Redis key under the configured counters prefix %q after rate-limited requests: the replicas do not share their counters there", prefix)
	}

	// (b) A 0.05 USD budget, 200 at once; 37.5 requests' worth fit.
	budgetKey := adm.createKey(t, map[string]any{"name": "budget5c", "budget_usd": 0.05})
	secrets = append(secrets, budgetKey.Secret)
	servedBefore := upA.Posts()
	t0 = time.Now()
	res = hammer(replicas, 200, "/v1/chat/completions", budgetKey.Secret, body)
	budgetOK := 0
	bad = nil
	for _, r := range res {
		switch {
		case r.err != nil:
			bad = append(bad, fmt.Sprintf("replica%d: %v", r.replica+1, r.err))
		case r.resp.Status == http.StatusOK:
			budgetOK++
		case r.resp.Status == http.StatusTooManyRequests:
			typ, code, _, ok := parseOpenAIError(r.resp)
			if !ok || typ != "insufficient_quota" || code != "budget_exceeded" || r.resp.Header.Get("x-should-retry") != "false" {
				bad = append(bad, fmt.Sprintf("replica%d: want 429 type insufficient_quota, code budget_exceeded, x-should-retry: false: %s", r.replica+1, r.resp))
			}
		default:
			bad = append(bad, fmt.Sprintf("replica%d: %s", r.replica+1, r.resp))
		}
	}
	budgetServed := upA.Posts() - servedBefore
	t.Logf("(b) budget 0.05: %d successes of 200, upstream served %d, in %s", budgetOK, budgetServed, time.Since(t0).Round(time.Millisecond))
	reportBad(t, "(b)", bad)
	if budgetOK < 35 {
		t.Errorf("(b) budget 0.05 with 37.5 requests' worth: %d successes, want at least 35", budgetOK)
	}
	if budgetServed != budgetOK {
		t.Errorf("(b) the upstream served %d requests, %d were answered 200", budgetServed, budgetOK)
	}
	u, ok, took := adm.waitUsage(t, 2*time.Second, func(u usageReport) bool {
		r := u.row(budgetKey.ID)
		return r.Requests == int64(budgetOK) && r.Refused == int64(200-budgetOK)
	})
	row := u.row(budgetKey.ID)
	t.Logf("(b) usage for the budget key after %s: %+v", took.Round(time.Millisecond), row)
	if !ok {
		t.Errorf("(b) usage shows %d requests and %d refused for the budget key 2s after the run, want %d and %d", row.Requests, row.Refused, budgetOK, 200-budgetOK)
	}
	if row.CostUSD > 0.05+1e-9 {
		t.Errorf("(b) spend %.9f USD exceeds the 0.05 budget (%d successes at %.9f)", row.CostUSD, budgetOK, reqCost)
	}
	if !near(row.CostUSD, float64(row.Requests)*reqCost) {
		t.Errorf("(b) spend %.9f USD, want %d × %.9f = %.9f", row.CostUSD, row.Requests, reqCost, float64(row.Requests)*reqCost)
	}
	if row.Name != "budget5c" {
		t.Errorf("(b) usage row name %q, want budget5c", row.Name)
	}

	// (c) Usage totals equal what the upstream served, refusals apart.
	served := int64(upA.Posts())
	t0 = time.Now()
	u, ok, took = adm.waitUsage(t, 2*time.Second, func(u usageReport) bool {
		s := u.sum()
		return s.Requests == served && s.InputTokens == served*int64(p) && s.OutputTokens == served*maxTokens &&
			u.row(rpmKey.ID).Refused == int64(200-rpmOK) && u.row(budgetKey.ID).Refused == int64(200-budgetOK)
	})
	s := u.sum()
	t.Logf("(c) usage after %s: %+v (totals %+v); upstream served %d", took.Round(time.Millisecond), s, u.Totals, served)
	if !ok {
		t.Errorf("(c) usage (group_by=key, summed) = %d requests, %d input and %d output tokens; the upstream served %d requests = %d input and %d output tokens",
			s.Requests, s.InputTokens, s.OutputTokens, served, served*int64(p), served*maxTokens)
	}
	if u.Totals != nil && (u.Totals.Requests != s.Requests || u.Totals.InputTokens != s.InputTokens || u.Totals.OutputTokens != s.OutputTokens || u.Totals.Refused != s.Refused) {
		t.Errorf("(c) totals %+v do not add up the rows %+v", *u.Totals, s)
	}
	if r := u.row(rpmKey.ID); r.Requests != int64(rpmOK) || r.Refused != int64(200-rpmOK) {
		t.Errorf("(c) rpm key usage: %d requests, %d refused; want %d and %d", r.Requests, r.Refused, rpmOK, 200-rpmOK)
	}
	if r := u.row(budgetKey.ID); r.Requests != int64(budgetOK) || r.Refused != int64(200-budgetOK) {
		t.Errorf("(c) budget key usage: %d requests, %d refused; want %d and %d", r.Requests, r.Refused, budgetOK, 200-budgetOK)
	}

	// (d) Revoking on replica 1 stops the key on 2 and 3 within 2 s.
	revokee := adm.createKey(t, map[string]any{"name": "revokee"})
	secrets = append(secrets, revokee.Secret)
	for i, g := range replicas { // every replica has it cached
		if r := do(t, http.MethodPost, g.URL+"/v1/chat/completions", bearer, revokee.Secret, body); r.Status != http.StatusOK {
			t.Fatalf("(d) replica%d before the revocation: %s", i+1, r)
		}
	}
	adm.revoke(t, revokee.ID)
	revoked := time.Now()
	unauthorized := 0 // refusals to expect in the usage log
	if r := do(t, http.MethodPost, replicas[0].URL+"/v1/chat/completions", bearer, revokee.Secret, body); r.Status != http.StatusUnauthorized {
		t.Errorf("(d) replica1, where the key was revoked, answered %s right after; want 401", r)
	} else {
		unauthorized++
	}
	var wg sync.WaitGroup
	lag := make([]time.Duration, 3)
	last := make([]response, 3)
	for i := 1; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lag[i] = -1
			for time.Since(revoked) < 4*time.Second {
				sent := time.Now()
				r, err := send(context.Background(), http.MethodPost, replicas[i].URL+"/v1/chat/completions", bearer, revokee.Secret, body)
				if err == nil {
					last[i] = r
					if r.Status == http.StatusUnauthorized {
						lag[i] = sent.Sub(revoked)
						return
					}
				}
				time.Sleep(25 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	for i := 1; i < 3; i++ {
		t.Logf("(d) replica%d refused the revoked key %s after the revocation", i+1, lag[i].Round(time.Millisecond))
		if lag[i] >= 0 {
			unauthorized++
		}
		if lag[i] < 0 || lag[i] > 2*time.Second {
			t.Errorf("(d) replica%d still accepted the revoked key 2s after the revocation (first 401 after %s; last answer %s)", i+1, lag[i], last[i])
		}
		if typ, _, _, ok := parseOpenAIError(last[i]); lag[i] >= 0 && (!ok || typ != "authentication_error") {
			t.Errorf("(d) replica%d: the revoked key's 401 is not an OpenAI authentication_error: %s", i+1, last[i])
		}
	}

	// (e) SIGTERM while requests are in flight: every 200 is in the log.
	drainKey := adm.createKey(t, map[string]any{"name": "drain"})
	secrets = append(secrets, drainKey.Secret)
	upB.Set(testupstream.Reply{Text: "one two three four five", Usage: usage, Delay: 800 * time.Millisecond, EventDelay: 50 * time.Millisecond})
	victim := replicas[2]
	const inflight, streams = 20, 6
	type drained struct {
		resp   response
		err    error
		stream bool
	}
	out := make([]drained, inflight)
	for i := range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := i < streams
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			r, err := send(ctx, http.MethodPost, victim.URL+"/v1/chat/completions", bearer, drainKey.Secret, chatBody("slow", maxTokens, stream))
			out[i] = drained{r, err, stream}
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for upB.Posts() < inflight && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := upB.Posts(); n < inflight {
		t.Errorf("(e) only %d of %d requests reached the upstream within 5s", n, inflight)
	}
	signalled := time.Now()
	victim.Signal(t, syscall.SIGTERM)
	wg.Wait()
	if !victim.Wait(15 * time.Second) {
		t.Fatalf("(e) replica3 still running 15s after SIGTERM")
	}
	t.Logf("(e) replica3 exited %s after SIGTERM with code %d", victim.Exited().Sub(signalled).Round(time.Millisecond), victim.ExitCode())
	if code := victim.ExitCode(); code != 0 {
		t.Errorf("(e) replica3 exit code %d after SIGTERM, want 0", code)
	}
	var answered []string
	bad = nil
	for _, d := range out {
		switch {
		case d.err != nil:
			bad = append(bad, fmt.Sprintf("in-flight request (stream %v) failed: %v", d.stream, d.err))
		case d.resp.Status != http.StatusOK:
			bad = append(bad, fmt.Sprintf("in-flight request (stream %v): %s", d.stream, d.resp))
		default:
			answered = append(answered, d.resp.Header.Get("x-request-id"))
			if d.stream && !strings.Contains(string(d.resp.Body), "data: [DONE]") {
				bad = append(bad, fmt.Sprintf("in-flight stream did not end with [DONE]: %s", d.resp))
			}
		}
	}
	reportBad(t, "(e)", bad)
	var missing []string
	var entries []logEntry
	t0 = time.Now()
	for {
		entries = adm.logs(t, drainKey.ID)
		seen := map[string]logEntry{}
		for _, e := range entries {
			seen[e.RequestID] = e
		}
		missing = missing[:0]
		for _, id := range answered {
			if e, ok := seen[id]; !ok || e.Status != http.StatusOK || e.Refused || e.InputTokens != int64(p) || e.OutputTokens != maxTokens {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 || time.Since(t0) > 2*time.Second {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("(e) %d of %d in-flight requests answered 200 by the stopping replica; %d log entries for the key", len(answered), inflight, len(entries))
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Errorf("(e) %d requests answered 200 by replica3 before it stopped are missing from the usage log (or logged wrong): %v; log: %+v", len(missing), missing, entries)
	}

	// Finally the store matches everything both upstreams served.
	served = int64(upA.Posts() + upB.Posts())
	refused := int64(200-rpmOK) + int64(200-budgetOK) + int64(unauthorized)
	u, ok, took = adm.waitUsage(t, 2*time.Second, func(u usageReport) bool {
		s := u.sum()
		return s.Requests == served && s.InputTokens == served*int64(p) && s.OutputTokens == served*maxTokens && s.Refused == refused
	})
	s = u.sum()
	t.Logf("final usage after %s: %+v; upstreams served %d, gateways refused %d", took.Round(time.Millisecond), s, served, refused)
	if !ok {
		t.Errorf("final usage = %d requests, %d input and %d output tokens, %d refused; the upstreams served %d requests = %d input and %d output tokens, and the gateways refused %d (%d rate limit, %d budget, %d revoked key)",
			s.Requests, s.InputTokens, s.OutputTokens, s.Refused, served, served*int64(p), served*maxTokens, refused, 200-rpmOK, 200-budgetOK, unauthorized)
	}
	if math.IsNaN(s.CostUSD) {
		t.Errorf("cost is NaN")
	}
}

func reportBad(t *testing.T, what string, bad []string) {
	t.Helper()
	if len(bad) == 0 {
		return
	}
	show := bad
	if len(show) > 5 {
		show = show[:5]
	}
	t.Errorf("%s %d unexpected answers, e.g.:\n  %s", what, len(bad), strings.Join(show, "\n  "))
}
