package routing_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/testgateway"
)

// withHeaders sends an OpenAI chat for model with extra request headers.
func withHeaders(t *testing.T, g *testgateway.Gateway, model, content string, h map[string]string) response {
	t.Helper()
	body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":%q}]}`, model, content)
	req, err := http.NewRequest(http.MethodPost, g.URL+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, data}
}

// TestConditionalRouting: the first target whose CEL `when` matches serves,
// the target without `when` is the default.
func TestConditionalRouting(t *testing.T) {
	g := testgateway.Start(t, providers+`
models:
  smart:
    strategy: conditional
    targets:
      - {provider: ant, model: claude-sonnet-4-5, when: 'headers["x-tier"] == "gold"'}
      - {provider: olla, model: llama3.2, when: 'tokens > 2000'}
      - {provider: oai, model: gpt-4o-mini}
`)
	served(t, withHeaders(t, g, "smart", "hi", map[string]string{"X-Tier": "gold"}), "ant", 1)
	served(t, withHeaders(t, g, "smart", strings.Repeat("long prompt ", 1000), nil), "olla", 1)
	served(t, withHeaders(t, g, "smart", "hi", nil), "oai", 1)
}

func TestInvalidConditionRefusesToStart(t *testing.T) {
	for _, when := range []string{`tokens >`, `tokens + 1`, `nope == 1`} {
		yaml := providers + fmt.Sprintf(`
models:
  smart: {strategy: conditional, targets: [{provider: oai, model: a, when: '%s'}, {provider: oai, model: b}]}
`, when)
		if err := testgateway.Check(yaml); err == nil || !strings.Contains(err.Error(), "models.smart.targets[0].when") {
			t.Errorf("%q: want a load error naming the path, got %v", when, err)
		}
	}
}

// TestPolicies: ordered CEL rules route to named targets, deny, and gate
// the x-tidegate-target header.
func TestPolicies(t *testing.T) {
	g := testgateway.Start(t, providers+`
targets:
  premium: {provider: ant, model: claude-opus-4-1}
  local:   {provider: olla, model: llama3.2}
models:
  gpt: {provider: oai, model: gpt-4o-mini}
policies:
  - {when: 'headers["x-team"] == "research"', target: premium}
  - {when: 'tokens > 5000', deny: "prompts over 20 KB are not allowed here"}
  - {when: 'headers["x-team"] == "ops"', allow_targets: [local]}
`)
	// No rule matches: the model's own route.
	served(t, withHeaders(t, g, "gpt", "hi", nil), "oai", 1)

	// A rule routes to a named target, whatever the model.
	r := withHeaders(t, g, "gpt", "hi", map[string]string{"X-Team": "research"})
	served(t, r, "ant", 1)
	if got := g.Anthropic.Last().JSON()["model"]; got != "claude-opus-4-1" {
		t.Errorf("upstream model %v", got)
	}
	// Even for a model that does not exist: the policy supplies the route.
	served(t, withHeaders(t, g, "anything", "hi", map[string]string{"X-Team": "research"}), "ant", 1)

	// Deny: 403 in the caller's dialect with the rule's message; nothing sent.
	before := len(g.OpenAI.Requests())
	r = withHeaders(t, g, "gpt", strings.Repeat("x", 30000), nil)
	if r.Status != http.StatusForbidden || errorMessage(t, r) != "prompts over 20 KB are not allowed here" {
		t.Fatalf("deny: %s", r)
	}
	if len(g.OpenAI.Requests()) != before {
		t.Error("a denied request reached the upstream")
	}

	// The header is honoured only where a rule allows that target.
	served(t, withHeaders(t, g, "gpt", "hi", map[string]string{"X-Team": "ops", "X-Tidegate-Target": "local"}), "olla", 1)
	for _, h := range []map[string]string{
		{"X-Tidegate-Target": "local"},                           // no rule allows it
		{"X-Team": "ops", "X-Tidegate-Target": "premium"},        // allowed set does not hold it
		{"X-Team": "ops", "X-Tidegate-Target": "does-not-exist"}, // unknown
	} {
		r := withHeaders(t, g, "gpt", "hi", h)
		if r.Status != http.StatusForbidden || !strings.Contains(errorMessage(t, r), "x-tidegate-target") {
			t.Errorf("%v: want 403 naming the header, got %s", h, r)
		}
	}
}

func TestPolicyErrorsRefuseToStart(t *testing.T) {
	err := testgateway.Check(providers + `
targets:
  premium: {provider: ant, model: claude-opus-4-1}
models:
  gpt: {provider: oai, model: gpt-4o-mini}
policies:
  - {when: 'model ==', target: premium}
  - {when: 'true', target: ghost}
  - {when: 'true', deny: "x", target: premium}
`)
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"policies[0].when: invalid CEL", `policies[1].target: unknown target "ghost"`, "policies[2]: set exactly one of"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}
