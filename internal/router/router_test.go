package router

import (
	"context"
	"testing"

	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/provider"
)

func TestResolve(t *testing.T) {
	providers := map[string]llm.Provider{"a": provider.NewEcho("a"), "b": provider.NewEcho("b")}
	r := New(map[string]config.Model{
		"fast":       {Provider: "a", Model: "up-fast"},
		"openai/*":   {Provider: "a"},
		"openai/gp*": {Provider: "b"},
		"pinned*":    {Provider: "b", Model: "fixed"},
	}, providers)
	cases := []struct{ name, provider, model string }{
		{"fast", "a", "up-fast"},
		{"openai/o3", "a", "o3"},
		{"openai/gpt-4o", "b", "t-4o"}, // longest wildcard wins
		{"pinned-anything", "b", "fixed"},
	}
	for _, c := range cases {
		route, ok := r.Resolve(c.name)
		if !ok {
			t.Fatalf("%s: not resolved", c.name)
		}
		got := route.Targets[0]
		if got.Provider.Name() != c.provider || got.Model != c.model {
			t.Errorf("%s: got %s/%s want %s/%s", c.name, got.Provider.Name(), got.Model, c.provider, c.model)
		}
	}
	for _, name := range []string{"openai/", "slow", "openai/*"} {
		if _, ok := r.Resolve(name); ok {
			t.Errorf("%q must not resolve", name)
		}
	}
	if names := r.Names(); len(names) != 1 || names[0] != "fast" {
		t.Errorf("names %v", names)
	}
}

func TestChatReadsFirstEvent(t *testing.T) {
	p := provider.NewEcho("e")
	r := New(map[string]config.Model{"m": {Provider: "e", Model: "echo-up"}}, map[string]llm.Provider{"e": p})
	route, _ := r.Resolve("m")
	req := &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{llm.TextPart("hi")}}}}
	res, err := r.Chat(context.Background(), route, req)
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
