// Package catalog knows the limits of well-known upstream models (context
// window, maximum output, reasoning support), so translation can fill a
// required max_tokens, clamp it, and send reasoning settings only to models
// that accept them. The embedded table is a starting point; config
// overrides and extends it.
package catalog

import (
	"sort"
	"strings"

	"github.com/tidegate/tidegate/internal/llm"
)

// Entry is one catalogue row. Name matches a model exactly, or every model
// that starts with it followed by "-" (dated snapshots and variants).
type Entry struct {
	Name string
	Info llm.ModelInfo
}

// Catalog looks models up by longest matching name. It is immutable once
// built, so it is safe for concurrent use.
type Catalog struct {
	entries []Entry // sorted by descending name length
}

// New builds a catalog from entries; later entries override earlier ones
// with the same name.
func New(entries ...[]Entry) *Catalog {
	byName := map[string]llm.ModelInfo{}
	for _, list := range entries {
		for _, e := range list {
			byName[e.Name] = e.Info
		}
	}
	c := &Catalog{}
	for name, info := range byName {
		c.entries = append(c.entries, Entry{Name: name, Info: info})
	}
	sort.Slice(c.entries, func(i, j int) bool {
		a, b := c.entries[i].Name, c.entries[j].Name
		if len(a) != len(b) {
			return len(a) > len(b)
		}
		return a < b
	})
	return c
}

// Lookup returns what is known of model; the zero ModelInfo if nothing.
// A provider prefix such as "openai/" (OpenRouter style) is ignored when
// the full name is unknown.
func (c *Catalog) Lookup(model string) llm.ModelInfo {
	if info, ok := c.lookup(model); ok {
		return info
	}
	if i := strings.LastIndexByte(model, '/'); i >= 0 {
		info, _ := c.lookup(model[i+1:])
		return info
	}
	return llm.ModelInfo{}
}

func (c *Catalog) lookup(model string) (llm.ModelInfo, bool) {
	for _, e := range c.entries {
		name := strings.TrimSuffix(e.Name, "*")
		if model == name || strings.HasPrefix(model, name) && (strings.HasSuffix(e.Name, "*") || model[len(name)] == '-') {
			return e.Info, true
		}
	}
	return llm.ModelInfo{}, false
}

// Names lists the catalogue's model names that start with prefix, sorted.
func (c *Catalog) Names(prefix string) []string {
	var out []string
	for _, e := range c.entries {
		if strings.HasPrefix(e.Name, prefix) && !strings.HasSuffix(e.Name, "*") {
			out = append(out, e.Name)
		}
	}
	sort.Strings(out)
	return out
}

// Exact returns the entry named exactly name, without prefix matching.
func (c *Catalog) Exact(name string) (llm.ModelInfo, bool) {
	for _, e := range c.entries {
		if e.Name == name {
			return e.Info, true
		}
	}
	return llm.ModelInfo{}, false
}

// Embedded is tidegate's built-in table, from the providers' published
// model and pricing pages. Values are conservative where sources differ.
// Prices are USD per million tokens: input, output, cache read, cache
// write (OpenAI has no cache-write charge; Anthropic's is the 5-minute
// rate). The returned Price values are shared: treat them as read-only.
func Embedded() []Entry {
	price := func(in, out, read, write float64) *llm.Price {
		return &llm.Price{Input: in, Output: out, CacheRead: read, CacheWrite: write}
	}
	r := func(ctx, out int, p *llm.Price) llm.ModelInfo {
		return llm.ModelInfo{ContextWindow: ctx, MaxOutput: out, Reasoning: true, Price: p}
	}
	p := func(ctx, out int, pr *llm.Price) llm.ModelInfo {
		return llm.ModelInfo{ContextWindow: ctx, MaxOutput: out, Price: pr}
	}
	return []Entry{
		{"gpt-3.5-turbo", p(16385, 4096, price(0.50, 1.50, 0, 0))},
		{"gpt-4", p(8192, 8192, price(30, 60, 0, 0))},
		{"gpt-4-turbo", p(128000, 4096, price(10, 30, 0, 0))},
		{"gpt-4o", p(128000, 16384, price(2.50, 10, 1.25, 0))},
		{"gpt-4o-mini", p(128000, 16384, price(0.15, 0.60, 0.075, 0))},
		{"gpt-4.1", p(1047576, 32768, price(2, 8, 0.50, 0))},
		{"gpt-4.1-mini", p(1047576, 32768, price(0.40, 1.60, 0.10, 0))},
		{"gpt-4.1-nano", p(1047576, 32768, price(0.10, 0.40, 0.025, 0))},
		{"gpt-5", r(400000, 128000, price(1.25, 10, 0.125, 0))},
		{"gpt-5-mini", r(400000, 128000, price(0.25, 2, 0.025, 0))},
		{"gpt-5-nano", r(400000, 128000, price(0.05, 0.40, 0.005, 0))},
		{"gpt-5.1", r(400000, 128000, price(1.25, 10, 0.125, 0))},
		{"gpt-5-chat-latest", p(128000, 16384, price(1.25, 10, 0.125, 0))},
		{"o1", r(200000, 100000, price(15, 60, 7.50, 0))},
		{"o1-mini", r(128000, 65536, price(1.10, 4.40, 0.55, 0))},
		{"o3", r(200000, 100000, price(2, 8, 0.50, 0))},
		{"o3-mini", r(200000, 100000, price(1.10, 4.40, 0.55, 0))},
		{"o4-mini", r(200000, 100000, price(1.10, 4.40, 0.275, 0))},
		{"claude-3-haiku", p(200000, 4096, price(0.25, 1.25, 0.03, 0.30))},
		{"claude-3-opus", p(200000, 4096, price(15, 75, 1.50, 18.75))},
		{"claude-3-5-haiku", p(200000, 8192, price(0.80, 4, 0.08, 1))},
		{"claude-3-5-sonnet", p(200000, 8192, price(3, 15, 0.30, 3.75))},
		{"claude-3-7-sonnet", r(200000, 64000, price(3, 15, 0.30, 3.75))},
		{"claude-sonnet-4", r(200000, 64000, price(3, 15, 0.30, 3.75))},
		{"claude-sonnet-4-5", r(200000, 64000, price(3, 15, 0.30, 3.75))},
		{"claude-opus-4", r(200000, 32000, price(15, 75, 1.50, 18.75))},
		{"claude-opus-4-1", r(200000, 32000, price(15, 75, 1.50, 18.75))},
		{"claude-opus-4-5", r(200000, 64000, price(5, 25, 0.50, 6.25))},
		{"claude-haiku-4-5", r(200000, 64000, price(1, 5, 0.10, 1.25))},
	}
}
