package router

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/llm"
)

const threeTargets = `
models:
  m:
    strategy: fallback
    targets:
      - {provider: a, model: ma, retry: {attempts: 3, backoff: 200ms, max_backoff: 300ms}}
      - {provider: b, model: mb}
      - {provider: c, model: mc}
  refusing:
    fallback_on_refusal: true
    targets: [{provider: a, model: ma}, {provider: b, model: mb}]
  narrow:
    targets:
      - {provider: a, model: ma, retry: {attempts: 3, on_status: [500]}}
      - {provider: b, model: mb}
`

func TestExecutor(t *testing.T) {
	twoBackoffs := []time.Duration{100 * time.Millisecond, 150 * time.Millisecond} // rand 0.5 × 200ms, 0.5 × min(400ms, 300ms)
	retryAfter := func(d time.Duration) *llm.Error { e := upstream(429); e.RetryAfter = d; return e }
	filtered := &llm.Error{Kind: llm.KindInvalidRequest, Status: 400, UpstreamStatus: 400, Code: "content_filter", Message: "filtered"}
	cases := []struct {
		name    string
		model   string
		stream  bool
		a, b, c []reply
		// want
		served   string // provider of the answer; "" for an error
		attempts int
		calls    [3]int // a, b, c
		status   int    // the error's HTTP status
		slept    []time.Duration
		stop     llm.StopReason
	}{
		{name: "first target answers", model: "m",
			served: "a", attempts: 1, calls: [3]int{1, 0, 0}},
		{name: "500 then success on the same target", model: "m",
			a:      []reply{{err: upstream(500)}, {}},
			served: "a", attempts: 2, calls: [3]int{2, 0, 0}, slept: []time.Duration{100 * time.Millisecond}},
		{name: "backoff doubles with full jitter, capped", model: "m",
			a:      []reply{{err: upstream(502)}, {err: upstream(503)}, {}},
			served: "a", attempts: 3, calls: [3]int{3, 0, 0}, slept: []time.Duration{100 * time.Millisecond, 150 * time.Millisecond}},
		{name: "retries exhausted, then the next target", model: "m",
			a:      []reply{{err: upstream(500)}},
			served: "b", attempts: 4, calls: [3]int{3, 1, 0}, slept: twoBackoffs},
		{name: "short Retry-After is honoured", model: "m",
			a:      []reply{{err: retryAfter(2 * time.Second)}, {}},
			served: "a", attempts: 2, calls: [3]int{2, 0, 0}, slept: []time.Duration{2 * time.Second}},
		{name: "long Retry-After moves on at once", model: "m",
			a:      []reply{{err: retryAfter(30 * time.Second)}},
			served: "b", attempts: 2, calls: [3]int{1, 1, 0}},
		{name: "connection refused falls back", model: "m",
			a:      []reply{{err: errConnRefused}},
			served: "b", attempts: 4, calls: [3]int{3, 1, 0}, slept: twoBackoffs},
		{name: "a timeout falls back", model: "m",
			a:      []reply{{err: &llm.Error{Kind: llm.KindTimeout, Message: "upstream a timed out"}}},
			b:      []reply{{err: &llm.Error{Kind: llm.KindTimeout, Message: "upstream b timed out"}}},
			served: "c", attempts: 5, calls: [3]int{3, 1, 1}, slept: twoBackoffs},
		{name: "caller 400 never falls back", model: "m",
			a:      []reply{{err: upstream(400)}},
			status: 400, attempts: 1, calls: [3]int{1, 0, 0}},
		{name: "caller 413 never falls back", model: "m",
			a:      []reply{{err: upstream(413)}},
			status: 413, calls: [3]int{1, 0, 0}},
		{name: "upstream 404 is the caller's", model: "m",
			a:      []reply{{err: upstream(404)}},
			status: 404, calls: [3]int{1, 0, 0}},
		{name: "an invalid request found before sending stops", model: "m",
			a:      []reply{{err: &llm.Error{Kind: llm.KindInvalidRequest, Message: "image URLs are not supported"}}},
			status: 400, calls: [3]int{1, 0, 0}},
		{name: "gateway credentials refused: next target, no retry", model: "m",
			a:      []reply{{err: &llm.Error{Kind: llm.KindUpstream, Status: 502, UpstreamStatus: 401}}},
			served: "b", attempts: 2, calls: [3]int{1, 1, 0}},
		{name: "5xx outside on_status: next target, no retry", model: "narrow",
			a:      []reply{{err: upstream(503)}},
			served: "b", attempts: 2, calls: [3]int{1, 1, 0}},
		{name: "429 outside on_status is the caller's", model: "narrow",
			a:      []reply{{err: upstream(429)}},
			status: 429, calls: [3]int{1, 0, 0}},
		{name: "all fail: the last error, status kept", model: "m",
			a:      []reply{{err: upstream(500)}},
			b:      []reply{{err: upstream(502)}},
			c:      []reply{{err: upstream(529)}},
			status: 503, calls: [3]int{3, 1, 1}, slept: twoBackoffs},
		{name: "stream failing before its first event falls back", model: "m", stream: true,
			a:      []reply{{firstErr: &llm.Error{Kind: llm.KindOverloaded, Message: "overloaded_error"}}},
			served: "b", attempts: 4, calls: [3]int{3, 1, 0}, slept: twoBackoffs},
		{name: "empty stream falls back", model: "m", stream: true,
			a:      []reply{{firstErr: io.EOF}},
			served: "b", calls: [3]int{3, 1, 0}, slept: twoBackoffs},
		{name: "refusal falls back with fallback_on_refusal", model: "refusing",
			a:      []reply{{stop: llm.StopContentFilter}},
			served: "b", attempts: 2, calls: [3]int{1, 1, 0}, stop: llm.StopEndTurn},
		{name: "refusal is an answer without it", model: "m",
			a:      []reply{{stop: llm.StopContentFilter}},
			served: "a", attempts: 1, calls: [3]int{1, 0, 0}, stop: llm.StopContentFilter},
		{name: "every target refuses: the last refusal", model: "refusing",
			a:      []reply{{stop: llm.StopContentFilter}},
			b:      []reply{{stop: llm.StopContentFilter}},
			served: "b", attempts: 2, calls: [3]int{1, 1, 0}, stop: llm.StopContentFilter},
		{name: "refusal then failure: the refusal", model: "refusing",
			a:      []reply{{stop: llm.StopContentFilter}},
			b:      []reply{{err: upstream(500)}},
			served: "a", attempts: 2, calls: [3]int{1, 1, 0}, stop: llm.StopContentFilter},
		{name: "content-filter 400 falls back with fallback_on_refusal", model: "refusing",
			a:      []reply{{err: filtered}},
			served: "b", attempts: 2, calls: [3]int{1, 1, 0}},
		{name: "content-filter 400 is the caller's without it", model: "m",
			a:      []reply{{err: filtered}},
			status: 400, calls: [3]int{1, 0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, threeTargets)
			h.p["a"].set(c.a...)
			h.p["b"].set(c.b...)
			h.p["c"].set(c.c...)
			res, err := h.chat(t, c.model, c.stream)
			switch {
			case c.served == "" && err == nil:
				t.Fatalf("want an error, served by %s", res.Target.Provider.Name())
			case c.served == "":
				if got := llm.AsError(err).HTTPStatus(); got != c.status {
					t.Errorf("status %d, want %d (%v)", got, c.status, err)
				}
			case err != nil:
				t.Fatalf("want an answer from %s, got %v", c.served, err)
			default:
				if got := res.Target.Provider.Name(); got != c.served {
					t.Errorf("served by %s, want %s", got, c.served)
				}
				if c.attempts != 0 && res.Attempts != c.attempts {
					t.Errorf("attempts %d, want %d", res.Attempts, c.attempts)
				}
				if c.stop != "" && res.First.Response.StopReason != c.stop {
					t.Errorf("stop %s, want %s", res.First.Response.StopReason, c.stop)
				}
				if want := res.Target.Model; res.First.Type == llm.EventResponse && res.First.Response.Model != want {
					t.Errorf("answer for model %s, want %s", res.First.Response.Model, want)
				}
			}
			for i, name := range []string{"a", "b", "c"} {
				if got := h.p[name].Calls(); got != c.calls[i] {
					t.Errorf("provider %s called %d times, want %d", name, got, c.calls[i])
				}
			}
			if slept := h.clock.Slept(); !equalDurations(slept, c.slept) {
				t.Errorf("slept %v, want %v", slept, c.slept)
			}
		})
	}
}

func configBreaker(failures int, cooldown time.Duration) config.Breaker {
	return config.Breaker{Failures: failures, Cooldown: config.Duration(cooldown), Window: config.Duration(time.Minute)}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBreakerOpensSkipsAndRecovers(t *testing.T) {
	h := newHarness(t, `
breaker: {failures: 3, cooldown: 30s}
models:
  m: {targets: [{provider: a, model: ma}, {provider: b, model: mb}]}
  solo: {provider: a, model: ma}
`)
	h.p["a"].set(reply{err: upstream(500)})
	for i := 0; i < 3; i++ {
		if res, err := h.chat(t, "m", false); err != nil || res.Target.Provider.Name() != "b" {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if h.p["a"].Calls() != 3 {
		t.Fatalf("a called %d times", h.p["a"].Calls())
	}
	// Open: a is skipped without a request.
	res, err := h.chat(t, "m", false)
	if err != nil || res.Target.Provider.Name() != "b" || res.Attempts != 1 || h.p["a"].Calls() != 3 {
		t.Fatalf("open circuit not skipped: %v, a called %d times", err, h.p["a"].Calls())
	}
	// solo shares the breaker of a/ma: every target open → 503 with Retry-After.
	h.clock.Advance(10 * time.Second)
	_, err = h.chat(t, "solo", false)
	e := llm.AsError(err)
	if e.HTTPStatus() != 503 || e.Kind != llm.KindOverloaded || e.RetryAfter != 20*time.Second ||
		!strings.Contains(e.Message, `all targets of model "solo" are unavailable (circuit open); retry after 20 s`) {
		t.Fatalf("all open: %v (retry after %s)", err, e.RetryAfter)
	}
	if h.p["a"].Calls() != 3 {
		t.Fatal("an open target received a request")
	}
	snap := health(h, "a/ma")
	if snap.State != "open" || snap.Available || snap.ConsecutiveFailures != 3 || !strings.Contains(snap.LastError, "HTTP 500") {
		t.Errorf("snapshot %+v", snap)
	}
	if hl := h.r.Health(); hl.Status != "degraded" || strings.Join(hl.Unavailable, ",") != "solo" {
		t.Errorf("health %s unavailable %v", hl.Status, hl.Unavailable)
	}
	// After the cooldown one probe goes through; it fails: open again.
	h.clock.Advance(20 * time.Second)
	if _, err := h.chat(t, "solo", false); llm.AsError(err).HTTPStatus() != 502 || h.p["a"].Calls() != 4 {
		t.Fatalf("probe: %v, a called %d", err, h.p["a"].Calls())
	}
	if _, err := h.chat(t, "solo", false); llm.AsError(err).HTTPStatus() != 503 || h.p["a"].Calls() != 4 {
		t.Fatalf("re-opened: %v", err)
	}
	// Next cooldown: the probe succeeds and closes the circuit.
	h.clock.Advance(30 * time.Second)
	h.p["a"].set()
	if res, err := h.chat(t, "solo", false); err != nil || res.Target.Provider.Name() != "a" {
		t.Fatalf("recovery: %v", err)
	}
	if snap := health(h, "a/ma"); snap.State != "closed" || snap.ConsecutiveFailures != 0 {
		t.Errorf("after recovery %+v", snap)
	}
	if res, err := h.chat(t, "m", false); err != nil || res.Target.Provider.Name() != "a" {
		t.Fatalf("m after recovery: %v", err)
	}
}

func TestBreakerIgnoresCallerErrors(t *testing.T) {
	h := newHarness(t, "breaker: {failures: 2}\nmodels:\n  m: {provider: a, model: ma}\n")
	h.p["a"].set(reply{err: upstream(400)})
	for i := 0; i < 5; i++ {
		if _, err := h.chat(t, "m", false); llm.AsError(err).HTTPStatus() != 400 {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if s := health(h, "a/ma"); s.State != "closed" || s.ConsecutiveFailures != 0 {
		t.Fatalf("caller errors counted: %+v", s)
	}
}

func TestBreakerFailureRatio(t *testing.T) {
	h := newHarness(t, "breaker: {failures: 100, failure_ratio: 0.5, min_requests: 10, window: 60s}\nmodels:\n  m: {provider: a, model: ma}\n")
	// Alternating failures never reach 100 in a row, but half of 10 fail.
	for i := 0; i < 9; i++ {
		if i%2 == 0 {
			h.p["a"].set(reply{err: upstream(500)})
		} else {
			h.p["a"].set()
		}
		h.chat(t, "m", false)
		h.clock.Advance(time.Second)
	}
	if s := health(h, "a/ma"); s.State != "closed" {
		t.Fatalf("opened before min_requests: %+v", s)
	}
	h.p["a"].set(reply{err: upstream(500)})
	h.chat(t, "m", false) // 10th: 6 failures of 10
	if s := health(h, "a/ma"); s.State != "open" {
		t.Fatalf("ratio did not open it: %+v", s)
	}
	// Outcomes older than the window no longer count.
	h.clock.Advance(2 * time.Minute)
	h.p["a"].set()
	h.chat(t, "m", false) // the probe closes it and resets the window
	h.p["a"].set(reply{err: upstream(500)})
	h.chat(t, "m", false)
	if s := health(h, "a/ma"); s.State != "closed" {
		t.Fatalf("stale outcomes counted: %+v", s)
	}
}

func TestHalfOpenAllowsOneProbe(t *testing.T) {
	b := &breaker{cfg: configBreaker(1, time.Second)}
	now := time.Unix(1000, 0)
	b.failure(now, "boom")
	if ok, _ := b.allow(now); ok {
		t.Fatal("open breaker allowed a request")
	}
	now = now.Add(time.Second)
	ok1, probe1 := b.allow(now)
	ok2, _ := b.allow(now)
	if !ok1 || !probe1 || ok2 {
		t.Fatalf("half-open: first %v/%v second %v", ok1, probe1, ok2)
	}
	b.release(true) // the probe said nothing (caller error)
	if ok, probe := b.allow(now); !ok || !probe {
		t.Fatal("a released probe must let the next one through")
	}
	b.firstByte() // a stream probe got its first byte
	if ok, probe := b.allow(now); !ok || probe {
		t.Fatal("the circuit must be closed after the probe's first byte")
	}
}

func TestStreamFailureAfterFirstByteCounts(t *testing.T) {
	h := newHarness(t, "breaker: {failures: 2}\nmodels:\n  m: {targets: [{provider: a, model: ma}, {provider: b, model: mb}]}\n")
	cut := &llm.Error{Kind: llm.KindUpstream, Message: "upstream a cut the stream"}
	h.p["a"].set(reply{midErr: cut})
	for i := 0; i < 2; i++ {
		req := &llm.Request{Model: "m", Stream: true}
		res, err := h.r.Chat(context.Background(), h.route(t, "m"), req, nil)
		if err != nil || res.Target.Provider.Name() != "a" {
			t.Fatalf("request %d: %v", i, err)
		}
		if _, err := res.Stream.Next(); !errors.Is(err, cut) {
			t.Fatalf("want the cut to reach the caller (no fallback after the first byte), got %v", err)
		}
		res.Stream.Close()
	}
	if s := health(h, "a/ma"); s.State != "open" || s.ConsecutiveFailures != 2 {
		t.Fatalf("stream failures not counted: %+v", s)
	}
	if res, err := h.chat(t, "m", true); err != nil || res.Target.Provider.Name() != "b" {
		t.Fatalf("open a must be skipped: %v", err)
	}
	// A clean stream is a success.
	if s := health(h, "b/mb"); s.State != "closed" || s.LatencyMS == nil {
		t.Errorf("b %+v", s)
	}
}

func TestTimeoutBoundsAllAttempts(t *testing.T) {
	h := newHarness(t, `
models:
  m:
    timeout: 80ms
    targets:
      - {provider: a, model: ma, retry: {attempts: 3}}
      - {provider: b, model: mb}
      - {provider: c, model: mc}
`)
	h.r.clock = realClock{} // the deadline is real time
	for _, p := range h.p {
		p.set(reply{block: true})
	}
	start := time.Now()
	_, err := h.chat(t, "m", false)
	el := time.Since(start)
	e := llm.AsError(err)
	if e.Kind != llm.KindTimeout || e.HTTPStatus() != 504 || !strings.Contains(e.Message, "no answer within its 80ms timeout (1 attempts)") {
		t.Fatalf("got %v", err)
	}
	if el > time.Second {
		t.Fatalf("took %s; the timeout is 80ms", el)
	}
	if h.p["b"].Calls()+h.p["c"].Calls() != 0 {
		t.Error("no target may be tried after the deadline")
	}
	if s := health(h, "a/ma"); s.ConsecutiveFailures != 0 {
		t.Errorf("the route's own deadline counted against the target: %+v", s)
	}
}

func TestTimeoutSpansTheStream(t *testing.T) {
	h := newHarness(t, "models:\n  m: {provider: a, model: ma, timeout: 1h}\n")
	req := &llm.Request{Model: "m", Stream: true}
	res, err := h.r.Chat(context.Background(), h.route(t, "m"), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := res.Stream.(*tracked)
	if tr.ctx.Err() != nil {
		t.Fatal("deadline ended before the stream")
	}
	res.Stream.Close()
	if tr.ctx.Err() == nil {
		t.Fatal("closing the stream must end the deadline's context")
	}
}

func TestRetryBackoffStopsAtDeadline(t *testing.T) {
	h := newHarness(t, `
models:
  m:
    timeout: 1s
    targets:
      - {provider: a, model: ma, retry: {attempts: 3, backoff: 5s, max_backoff: 10s}}
      - {provider: b, model: mb}
`)
	h.r.rand = func() float64 { return 0.99 }
	h.p["a"].set(reply{err: upstream(500)})
	res, err := h.chat(t, "m", false)
	if err != nil || res.Target.Provider.Name() != "b" || len(h.clock.Slept()) != 0 {
		t.Fatalf("a backoff past the deadline must move on to the next target: %v, slept %v", err, h.clock.Slept())
	}
}

func TestCallerCancelIsNotAFailure(t *testing.T) {
	h := newHarness(t, "breaker: {failures: 1}\nmodels:\n  m: {targets: [{provider: a, model: ma}, {provider: b, model: mb}]}\n")
	h.p["a"].set(reply{block: true})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, err := h.r.Chat(ctx, h.route(t, "m"), &llm.Request{Model: "m"}, nil)
	if err == nil || h.p["b"].Calls() != 0 {
		t.Fatalf("a cancelled request must stop: %v, b called %d", err, h.p["b"].Calls())
	}
	if s := health(h, "a/ma"); s.State != "closed" {
		t.Fatalf("a cancelled caller opened the breaker: %+v", s)
	}
}

func TestEmbedFallsBack(t *testing.T) {
	h := newHarness(t, "models:\n  e: {targets: [{provider: a, model: ea, retry: {attempts: 2}}, {provider: b, model: eb}]}\n")
	h.p["a"].set(reply{err: upstream(503)})
	res, err := h.r.Embed(context.Background(), h.route(t, "e"), &llm.EmbedRequest{Model: "e", Input: []string{"x"}}, nil)
	if err != nil || res.Target.Provider.Name() != "b" || res.Attempts != 3 || res.Response.Model != "eb" {
		t.Fatalf("embed: %+v %v", res, err)
	}
	h.p["a"].set(reply{err: upstream(400)})
	if _, err := h.r.Embed(context.Background(), h.route(t, "e"), &llm.EmbedRequest{Model: "e"}, nil); llm.AsError(err).HTTPStatus() != 400 || h.p["b"].Calls() != 1 {
		t.Fatalf("embed caller error: %v", err)
	}
}

func health(h *harness, id string) TargetHealth {
	for _, th := range h.r.Health().Targets {
		if th.Target == id {
			return th
		}
	}
	return TargetHealth{}
}

func TestCooldownStartsWhenTheFailureEnds(t *testing.T) {
	h := newHarness(t, "breaker: {failures: 1, cooldown: 30s}\nmodels:\n  m: {provider: a, model: ma}\n")
	h.p["a"].set(reply{err: upstream(504), took: 40 * time.Second}) // a slow failure
	h.chat(t, "m", false)
	if s := health(h, "a/ma"); s.State != "open" || s.Available {
		t.Fatalf("a failure that took longer than the cooldown must still open the circuit: %+v", s)
	}
}

// TestReloadKeepsBreakerState: a router built to replace another (a config
// reload) keeps the breaker of a target whose provider and breaker
// settings did not change, and starts fresh where they did.
func TestReloadKeepsBreakerState(t *testing.T) {
	const models = "models:\n  m: {provider: a, model: ma}\n  w: {provider: b, model: mb}\n"
	h := newHarness(t, "breaker: {failures: 1, cooldown: 30s}\n"+models)
	h.p["a"].set(reply{err: upstream(500)})
	h.p["b"].set(reply{err: upstream(500)})
	h.chat(t, "m", false)
	h.chat(t, "w", false)
	if health(h, "a/ma").State != "open" || health(h, "b/mb").State != "open" {
		t.Fatal("breakers did not open")
	}
	h.p["b"].set()

	reload := func(yaml string) *harness {
		t.Helper()
		cfg, err := config.Parse([]byte(yaml), func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		next := &harness{clock: h.clock, p: h.p}
		providers := map[string]llm.Provider{}
		for name, p := range h.p {
			providers[name] = p
		}
		next.r, err = New(Options{Config: cfg, Providers: providers, CompileCondition: fakeCompiler, Clock: h.clock, Previous: h.r})
		if err != nil {
			t.Fatal(err)
		}
		return next
	}
	// Same settings: both stay open; the healthy b is still skipped until its cooldown ends.
	same := reload("providers:\n  a: {type: echo}\n  b: {type: echo}\n  c: {type: echo}\nbreaker: {failures: 1, cooldown: 30s}\n" + models)
	if s := health(same, "a/ma"); s.State != "open" || s.ConsecutiveFailures != 1 || !strings.Contains(s.LastError, "HTTP 500") {
		t.Errorf("a/ma after an unchanged reload: %+v", s)
	}
	if _, err := same.chat(t, "w", false); llm.AsError(err).HTTPStatus() != 503 || h.p["b"].Calls() != 1 {
		t.Errorf("open b/mb was not skipped after the reload: %v, b called %d times", err, h.p["b"].Calls())
	}
	// b's settings changed (a header): its breaker starts closed; a's breaker
	// settings changed: it starts closed too.
	changed := reload("providers:\n  a: {type: echo}\n  b: {type: echo, headers: {x-new: '1'}}\n  c: {type: echo}\nbreaker: {failures: 1, cooldown: 30s}\n" +
		"models:\n  m: {targets: [{provider: a, model: ma, breaker: {failures: 2, cooldown: 30s}}]}\n  w: {provider: b, model: mb}\n")
	if s := health(changed, "b/mb"); s.State != "closed" {
		t.Errorf("b/mb after its provider changed: %+v", s)
	}
	if _, err := changed.chat(t, "w", false); err != nil || h.p["b"].Calls() != 2 {
		t.Errorf("b/mb after its provider changed: %v, b called %d times", err, h.p["b"].Calls())
	}
	if s := health(changed, "a/ma"); s.State != "closed" {
		t.Errorf("a/ma after its breaker changed: %+v", s)
	}
}
