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
