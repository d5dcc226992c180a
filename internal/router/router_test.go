package router

import (
	"context"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/provider"
)

func TestResolve(t *testing.T) {
	h := newHarness(t, `
aliases: {quick: fast, best: "openai/o3"}
targets:
  premium: {provider: c, model: big-one}
models:
  fast:       {provider: a, model: up-fast}
  "openai/*":  {provider: a}
  "openai/gp*": {provider: b}
  "pinned*":   {provider: b, model: fixed}
  "multi/*":
    strategy: fallback
    targets: [{provider: a}, {provider: b, model: always-this}]
`)
	cases := []struct{ name, provider, model string }{
		{"fast", "a", "up-fast"},
		{"quick", "a", "up-fast"},
		{"best", "a", "o3"},
		{"openai/o3", "a", "o3"},
		{"openai/gpt-4o", "b", "t-4o"}, // longest wildcard wins
		{"pinned-anything", "b", "fixed"},
		{"multi/x", "a", "x"},
	}
	for _, c := range cases {
		route := h.route(t, c.name)
		got := route.Targets[0]
		if got.Provider.Name() != c.provider || got.Model != c.model {
			t.Errorf("%s: got %s/%s want %s/%s", c.name, got.Provider.Name(), got.Model, c.provider, c.model)
		}
	}
	if rt := h.route(t, "multi/x"); len(rt.Targets) != 2 || rt.Targets[1].Model != "always-this" {
		t.Errorf("wildcard long form: %+v", rt.Targets)
	}
	for _, name := range []string{"openai/", "slow", "openai/*", "premium"} {
		if _, ok := h.r.Resolve(name); ok {
			t.Errorf("%q must not resolve", name)
		}
	}
	if names := strings.Join(h.r.Names(), ","); names != "best,fast,quick" {
		t.Errorf("names %v", names)
	}
	if rt, ok := h.r.NamedTarget("premium"); !ok || rt.Targets[0].ID() != "c/big-one" || rt.Targets[0].Name != "premium" {
		t.Errorf("named target: %+v", rt)
	}
	// Wildcard expansions share one state per identity.
	a, b := h.route(t, "openai/o3"), h.route(t, "openai/o3")
	if a.Targets[0].state != b.Targets[0].state || a.Targets[0].state == nil {
		t.Error("wildcard targets must share their breaker")
	}
}

func TestRouteUnknownModelAndPolicy(t *testing.T) {
	h := newHarness(t, "targets:\n  premium: {provider: c, model: big}\nmodels:\n  m: {provider: a, model: x}\n")
	_, err := h.r.Route(&Input{Model: "nope"})
	if e := llm.AsError(err); e.Kind != llm.KindNotFound || e.Code != "model_not_found" {
		t.Fatalf("unknown model: %v", err)
	}
	// A policy can replace the route, supply one for an unknown name, or refuse.
	h.r.policy = policyFunc(func(in *Input, rt *Route) (*Route, error) {
		switch in.Header.Get("x-test") {
		case "premium":
			p, _ := h.r.NamedTarget("premium")
			return p, nil
		case "deny":
			return nil, llm.Errorf(llm.KindPermission, "denied by policy")
		}
		return rt, nil
	})
	hdr := func(v string) map[string][]string { return map[string][]string{"X-Test": {v}} }
	if rt, err := h.r.Route(&Input{Model: "m", Header: hdr("premium")}); err != nil || rt.Targets[0].Provider.Name() != "c" {
		t.Errorf("policy replace: %v %v", rt, err)
	}
	if rt, err := h.r.Route(&Input{Model: "unknown", Header: hdr("premium")}); err != nil || rt.Name != "premium" {
		t.Errorf("policy supplies a route: %v %v", rt, err)
	}
	if _, err := h.r.Route(&Input{Model: "m", Header: hdr("deny")}); llm.AsError(err).Kind != llm.KindPermission {
		t.Errorf("policy deny: %v", err)
	}
	if _, err := h.r.Route(&Input{Model: "unknown"}); llm.AsError(err).Kind != llm.KindNotFound {
		t.Errorf("policy keeps unknown: %v", err)
	}
}

type policyFunc func(*Input, *Route) (*Route, error)

func (f policyFunc) Route(in *Input, rt *Route) (*Route, error) { return f(in, rt) }

func TestChatReadsFirstEvent(t *testing.T) {
	p := provider.NewEcho("e")
	cfg := &config.Config{
		Providers: map[string]config.Provider{"e": {Type: config.TypeEcho}},
		Models:    map[string]config.Model{"m": {Provider: "e", Model: "echo-up"}},
	}
	r, err := New(Options{Config: cfg, Providers: map[string]llm.Provider{"e": p}})
	if err != nil {
		t.Fatal(err)
	}
	route, _ := r.Resolve("m")
	req := &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{llm.TextPart("hi")}}}}
	res, err := r.Chat(context.Background(), route, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Stream.Close()
	if res.First.Type != llm.EventResponse || res.First.Response.Model != "echo-up" || res.Attempts != 1 {
		t.Fatalf("first %+v attempts %d", res.First, res.Attempts)
	}
	if req.Model != "m" {
		t.Fatal("the caller's request must not be modified")
	}
}

func TestNewReportsConditionErrors(t *testing.T) {
	cfg, err := config.Parse([]byte(`
providers: {a: {type: echo}}
models:
  m:
    strategy: conditional
    targets: [{provider: a, model: x, when: "no such thing"}, {provider: a, model: y}]
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(Options{Config: cfg, Providers: map[string]llm.Provider{"a": &fakeProvider{name: "a"}}, CompileCondition: fakeCompiler})
	if err == nil || !strings.Contains(err.Error(), "models.m.targets[0].when: ") {
		t.Fatalf("want a path to the bad condition, got %v", err)
	}
	_, err = New(Options{Config: cfg, Providers: map[string]llm.Provider{"a": &fakeProvider{name: "a"}}})
	if err == nil || !strings.Contains(err.Error(), "condition compiler") {
		t.Fatalf("want an error without a compiler, got %v", err)
	}
}
