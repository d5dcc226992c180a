package routing_test

import (
	"net/http"
	"testing"

	"github.com/tidegate/tidegate/internal/testgateway"
)

// TestModelLimits: a model's own rpm caps every caller together, even
// without client authentication, and a wildcard entry shares one limit.
func TestModelLimits(t *testing.T) {
	g := testgateway.Start(t, providers+`
models:
  gpt: {provider: oai, model: gpt-4o-mini, limits: {rpm: 3}}
  free: {provider: oai, model: gpt-4o-mini}
  "openai/*": {provider: oai, limits: {rpm: 2}}
`)
	ok, limited := 0, 0
	for i := 0; i < 5; i++ {
		r := chat(t, g, "gpt")
		switch r.Status {
		case http.StatusOK:
			ok++
			if i == 0 && (r.Header.Get("x-ratelimit-limit-requests") != "3" || r.Header.Get("x-ratelimit-remaining-requests") != "2") {
				t.Errorf("rate-limit headers: %v", r.Header)
			}
		case http.StatusTooManyRequests:
			limited++
			if r.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		default:
			t.Fatalf("unexpected %s", r)
		}
	}
	if ok != 3 || limited != 2 {
		t.Fatalf("gpt: %d ok, %d limited; want 3 and 2", ok, limited)
	}
	for i := 0; i < 5; i++ { // another model is not affected
		served(t, chat(t, g, "free"), "oai", 1)
	}
	served(t, chat(t, g, "openai/gpt-4o"), "oai", 1)
	served(t, chat(t, g, "openai/o3"), "oai", 1)
	if r := chat(t, g, "openai/gpt-4.1"); r.Status != http.StatusTooManyRequests {
		t.Fatalf("the wildcard's shared limit: %s", r)
	}
}
