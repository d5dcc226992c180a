package routing_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/app"
	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// TestBreakerOpensAndRecovers: after 3 failures the OpenAI target is
// skipped without a request (the fallback answers, the model that has only
// it gets a 503 with Retry-After), and after the cooldown one probe closes
// it again. The router runs on a fake clock.
func TestBreakerOpensAndRecovers(t *testing.T) {
	clock := newFakeClock()
	g := testgateway.StartWith(t, providers+`
breaker: {failures: 3, cooldown: 30s}
models:
  smart: {targets: [{provider: oai, model: gpt-4o-mini}, {provider: ant, model: claude-sonnet-4-5}]}
  solo:  {provider: oai, model: gpt-4o-mini}
`, app.WithClock(clock))
	g.OpenAI.Set(testupstream.Reply{Status: 500})
	for i := 0; i < 3; i++ {
		served(t, chat(t, g, "smart"), "ant", 2)
	}
	if _, h := health(t, g, "/health?deep=1"); h.Status != "degraded" {
		t.Errorf("health %+v", h)
	} else if state, failures, lastErr := h.target("oai/gpt-4o-mini"); state != "open" || failures != 3 || !strings.Contains(lastErr, "fake upstream error 500") {
		t.Errorf("oai target: %s, %d failures, last error %q", state, failures, lastErr)
	}

	// Open: skipped without a request.
	served(t, chat(t, g, "smart"), "ant", 1)
	if g.OpenAI.Posts() != 3 {
		t.Fatalf("openai got %d requests, want 3: an open target must be skipped", g.OpenAI.Posts())
	}
	// The model that only has the open target: 503 with Retry-After.
	clock.Advance(10 * time.Second)
	r := chat(t, g, "solo")
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "20" ||
		!strings.Contains(errorMessage(t, r), `all targets of model "solo" are unavailable (circuit open); retry after 20 s`) {
		t.Errorf("all open: %s (Retry-After %q)", r, r.Header.Get("Retry-After"))
	}
	if status, h := health(t, g, "/health/ready"); status != http.StatusServiceUnavailable || strings.Join(h.Unavailable, ",") != "solo" {
		t.Errorf("ready: %d %+v", status, h.Unavailable)
	}
	if r := do(t, http.MethodGet, g.URL+"/health", ""); r.Status != 200 || strings.Contains(string(r.Body), "targets") {
		t.Errorf("plain /health must stay cheap: %s", r)
	}
	if g.OpenAI.Posts() != 3 {
		t.Fatal("an open target received a request")
	}

	// After the cooldown the upstream is back: one probe closes the circuit.
	g.OpenAI.Set(testupstream.Reply{Text: "back"})
	clock.Advance(21 * time.Second)
	served(t, chat(t, g, "solo"), "oai", 1)
	served(t, chat(t, g, "smart"), "oai", 1)
	if status, h := health(t, g, "/health/ready"); status != http.StatusOK || h.Status != "healthy" {
		t.Errorf("after recovery: %d %+v", status, h)
	} else if state, failures, _ := h.target("oai/gpt-4o-mini"); state != "closed" || failures != 0 {
		t.Errorf("after recovery: %s with %d failures", state, failures)
	}
}

// TestAllTargetsDown: when every target fails the caller gets the last
// error; once every breaker is open, a 503 with Retry-After and no upstream
// request at all.
func TestAllTargetsDown(t *testing.T) {
	g := testgateway.Start(t, providers+`
breaker: {failures: 1, cooldown: 1m}
models:
  smart: {targets: [{provider: oai, model: gpt-4o-mini}, {provider: ant, model: claude-sonnet-4-5}]}
`)
	g.OpenAI.Set(testupstream.Reply{Status: 500})
	g.Anthropic.Set(testupstream.Reply{Status: 529})
	r := chat(t, g, "smart")
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(errorMessage(t, r), "fake upstream error 529") {
		t.Fatalf("first request: want the last target's error (529 → 503), got %s", r)
	}
	before := g.OpenAI.Posts() + g.Anthropic.Posts()
	r = chat(t, g, "smart")
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" ||
		!strings.Contains(errorMessage(t, r), "all targets of model \"smart\" are unavailable") {
		t.Fatalf("every breaker open: got %s (Retry-After %q)", r, r.Header.Get("Retry-After"))
	}
	if after := g.OpenAI.Posts() + g.Anthropic.Posts(); after != before {
		t.Errorf("%d upstream requests while every breaker was open", after-before)
	}
}

// TestHealthCheckMarksProviderDown: a provider whose health check fails
// twice is skipped like an open circuit until a probe succeeds again.
func TestHealthCheckMarksProviderDown(t *testing.T) {
	g := testgateway.Start(t, `
providers:
  oai: {type: openai, base_url: "{{openai}}/v1", api_key: k, health_check: {interval: 30ms, timeout: 1s}}
  ant: {type: anthropic, base_url: "{{anthropic}}", api_key: k}
models:
  smart: {targets: [{provider: oai, model: gpt-4o-mini}, {provider: ant, model: claude-sonnet-4-5}]}
`)
	providerHealthy := func() bool {
		_, h := health(t, g, "/health?deep=1")
		return len(h.Providers) == 1 && h.Providers[0].Healthy
	}
	if !waitFor(5*time.Second, func() bool { return providerHealthy() && len(g.OpenAI.Requests()) > 0 }) {
		t.Fatal("no health probe ran")
	}
	if probe := g.OpenAI.Requests()[0]; probe.Method != http.MethodGet || probe.Path != "/v1/models" || probe.Header.Get("Authorization") != "Bearer k" {
		t.Errorf("probe %s %s auth %q", probe.Method, probe.Path, probe.Header.Get("Authorization"))
	}
	g.OpenAI.Set(testupstream.Reply{Status: 503})
	if !waitFor(5*time.Second, func() bool { return !providerHealthy() }) {
		t.Fatal("the failing provider was not marked down")
	}
	served(t, chat(t, g, "smart"), "ant", 1)
	if g.OpenAI.Posts() != 0 {
		t.Errorf("a provider marked down received %d requests", g.OpenAI.Posts())
	}
	g.OpenAI.Set(testupstream.Reply{Text: "up again"})
	if !waitFor(5*time.Second, providerHealthy) {
		t.Fatal("the provider did not come back")
	}
	served(t, chat(t, g, "smart"), "oai", 1)
}

// TestWeightedBalance: loadbalance splits traffic by weight, end to end.
func TestWeightedBalance(t *testing.T) {
	g := testgateway.Start(t, providers+`
models:
  lb:
    strategy: loadbalance
    targets:
      - {provider: oai, model: gpt-4o-mini, weight: 3}
      - {provider: ant, model: claude-sonnet-4-5, weight: 1}
`)
	const n = 200
	for i := 0; i < n; i++ {
		if r := chat(t, g, "lb"); r.Status != 200 {
			t.Fatalf("request %d: %s", i, r)
		}
	}
	oai, ant := g.OpenAI.Posts(), g.Anthropic.Posts()
	if oai != 150 || ant != 50 {
		t.Errorf("openai %d, anthropic %d; want 150 and 50 (weights 3:1)", oai, ant)
	}
}
