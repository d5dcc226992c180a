package catalog

import (
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

func TestLookup(t *testing.T) {
	c := New(Embedded(), []Entry{{Name: "my-*", Info: llm.ModelInfo{MaxOutput: 7}}, {Name: "gpt-4o", Info: llm.ModelInfo{MaxOutput: 99}}})
	cases := map[string]int{
		"claude-sonnet-4-5":          64000,
		"claude-sonnet-4-5-20250929": 64000,
		"claude-opus-4-1-20250805":   32000,
		"gpt-4o":                     99, // override wins
		"gpt-4o-2024-08-06":          99,
		"gpt-4o-mini":                16384,
		"openai/gpt-4o-mini":         16384,
		"my-model":                   7,
		"gpt-4oops":                  0, // prefix must end at a dash
		"unknown":                    0,
	}
	for model, want := range cases {
		if got := c.Lookup(model).MaxOutput; got != want {
			t.Errorf("%s: max output %d, want %d", model, got, want)
		}
	}
	if !c.Lookup("o3-mini").Reasoning || c.Lookup("gpt-4o").Reasoning {
		t.Error("reasoning flags wrong")
	}
}

func TestPrices(t *testing.T) {
	c := New(Embedded())
	cases := map[string]llm.Price{
		"gpt-4o-mini":                {Input: 0.15, Output: 0.60, CacheRead: 0.075},
		"claude-sonnet-4-5-20250929": {Input: 3, Output: 15, CacheRead: 0.30, CacheWrite: 3.75},
		"claude-opus-4-5":            {Input: 5, Output: 25, CacheRead: 0.50, CacheWrite: 6.25},
	}
	for model, want := range cases {
		got := c.Lookup(model).Price
		if got == nil || *got != want {
			t.Errorf("%s: price %+v, want %+v", model, got, want)
		}
	}
	if c.Lookup("llama3.2").Price != nil {
		t.Error("an unknown model must have no price")
	}
	for _, e := range Embedded() {
		if e.Info.Price == nil || e.Info.Price.Input <= 0 || e.Info.Price.Output < e.Info.Price.Input {
			t.Errorf("%s: implausible price %+v", e.Name, e.Info.Price)
		}
	}
}

// TestProviderNames: the names each provider type sends find their entry.
func TestProviderNames(t *testing.T) {
	c := New(Embedded())
	cases := map[string]string{
		"us.anthropic.claude-sonnet-4-5-20250929-v1:0":      "claude-sonnet-4-5",
		"anthropic.claude-haiku-4-5-20251001-v1:0":          "claude-haiku-4-5",
		"amazon.nova-pro-v1:0":                              "nova-pro",
		"claude-opus-4-1@20250805":                          "claude-opus-4-1",
		"accounts/fireworks/models/llama-v3p3-70b-instruct": "llama-v3p3-70b-instruct",
		"openai/gpt-oss-120b":                               "gpt-oss-120b",
		"meta-llama/Llama-3.3-70B-Instruct-Turbo":           "meta-llama/Llama-3.3-70B-Instruct-Turbo",
		"gemini-2.5-flash-preview-09-2025":                  "gemini-2.5-flash",
		"grok-4-fast-reasoning":                             "grok-4-fast",
		"grok-4-0709":                                       "grok-4",
		"mistral-large-2411":                                "mistral-large",
	}
	for model, entry := range cases {
		want, ok := c.Exact(entry)
		if !ok {
			t.Fatalf("no entry %s", entry)
		}
		got := c.Lookup(model)
		if got.Price == nil || *got.Price != *want.Price || got.ContextWindow != want.ContextWindow {
			t.Errorf("%s: %+v, want the %s entry %+v", model, got, entry, want)
		}
	}
	if m := c.Lookup("gemini-2.5-pro").Modalities; len(m) != 5 || m[1] != "image" {
		t.Errorf("gemini modalities %v", m)
	}
	if m := c.Lookup("claude-sonnet-4-5").Modalities; len(m) != 3 || m[2] != "pdf" {
		t.Errorf("claude modalities %v", m)
	}
	if c.Lookup("acme-9.1-unknown").Price != nil || c.Lookup("x.y.z").Price != nil {
		t.Error("a dotted unknown name matched something")
	}
}
