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
// When the full name is unknown, a provider prefix such as "openai/"
// (OpenRouter, Together, Fireworks) is ignored, and so are Bedrock's
// region and vendor prefixes ("us.anthropic.claude-…" finds "claude-…")
// and OpenRouter's dotted versions ("claude-sonnet-4.5").
// A Vertex AI version suffix ("claude-sonnet-4-5@20250929") matches like
// a dated snapshot.
func (c *Catalog) Lookup(model string) llm.ModelInfo {
	if info, ok := c.lookup(model); ok {
		return info
	}
	if i := strings.LastIndexByte(model, '/'); i >= 0 {
		model = model[i+1:]
		if info, ok := c.lookup(model); ok {
			return info
		}
	}
	for i := 0; i < len(model); i++ {
		if model[i] == '.' {
			if info, ok := c.lookup(model[i+1:]); ok {
				return info
			}
		}
	}
	// OpenRouter writes versions with dots ("claude-sonnet-4.5").
	if strings.Contains(model, ".") {
		info, _ := c.lookup(strings.ReplaceAll(model, ".", "-"))
		return info
	}
	return llm.ModelInfo{}
}

func (c *Catalog) lookup(model string) (llm.ModelInfo, bool) {
	for _, e := range c.entries {
		name := strings.TrimSuffix(e.Name, "*")
		if model == name || strings.HasPrefix(model, name) && (strings.HasSuffix(e.Name, "*") || model[len(name)] == '-' || model[len(name)] == '@') {
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
	// with sets an entry's input modalities.
	with := func(info llm.ModelInfo, modalities ...string) llm.ModelInfo {
		info.Modalities = modalities
		return info
	}
	const (
		text  = "text"
		image = "image"
		audio = "audio"
		video = "video"
		pdf   = "pdf"
	)
	return append(openAIAndAnthropic(p, r, price), []Entry{
		// Mistral (mistral.ai/pricing).
		{"mistral-large-latest", with(p(131072, 32768, price(2, 6, 0, 0)), text)},
		{"mistral-large", with(p(131072, 32768, price(2, 6, 0, 0)), text)},
		{"mistral-medium-latest", with(p(131072, 32768, price(0.40, 2, 0, 0)), text, image)},
		{"mistral-medium", with(p(131072, 32768, price(0.40, 2, 0, 0)), text, image)},
		{"mistral-small-latest", with(p(131072, 32768, price(0.10, 0.30, 0, 0)), text, image)},
		{"mistral-small", with(p(131072, 32768, price(0.10, 0.30, 0, 0)), text, image)},
		{"codestral-latest", with(p(256000, 32768, price(0.30, 0.90, 0, 0)), text)},
		{"magistral-medium-latest", with(p(131072, 40000, price(2, 5, 0, 0)), text)},
		{"magistral-small-latest", with(p(131072, 40000, price(0.50, 1.50, 0, 0)), text)},
		{"pixtral-large-latest", with(p(131072, 32768, price(2, 6, 0, 0)), text, image)},
		{"ministral-8b-latest", with(p(131072, 32768, price(0.10, 0.10, 0, 0)), text)},
		{"open-mistral-nemo", with(p(131072, 32768, price(0.15, 0.15, 0, 0)), text)},
		// Groq (groq.com/pricing).
		{"llama-3.3-70b-versatile", with(p(131072, 32768, price(0.59, 0.79, 0, 0)), text)},
		{"llama-3.1-8b-instant", with(p(131072, 131072, price(0.05, 0.08, 0, 0)), text)},
		{"gpt-oss-120b", with(p(131072, 65536, price(0.15, 0.60, 0, 0)), text)},
		{"gpt-oss-20b", with(p(131072, 65536, price(0.075, 0.30, 0, 0)), text)},
		// DeepSeek (api-docs.deepseek.com/quick_start/pricing). The
		// reasoner takes no reasoning_effort, so it is not flagged.
		{"deepseek-chat", with(p(128000, 8192, price(0.28, 0.42, 0.028, 0)), text)},
		{"deepseek-reasoner", with(p(128000, 65536, price(0.28, 0.42, 0.028, 0)), text)},
		// xAI (docs.x.ai/docs/models).
		{"grok-4", with(r(256000, 256000, price(3, 15, 0.75, 0)), text, image)},
		{"grok-4-fast", with(r(2000000, 30000, price(0.20, 0.50, 0.05, 0)), text, image)},
		{"grok-4-1-fast", with(r(2000000, 30000, price(0.20, 0.50, 0.05, 0)), text, image)},
		{"grok-code-fast-1", with(r(256000, 10000, price(0.20, 1.50, 0.02, 0)), text)},
		{"grok-3", with(p(131072, 131072, price(3, 15, 0.75, 0)), text)},
		{"grok-3-mini", with(r(131072, 131072, price(0.30, 0.50, 0.075, 0)), text)},
		// Together and Fireworks (their pricing pages), by full name.
		{"meta-llama/Llama-3.3-70B-Instruct-Turbo", with(p(131072, 131072, price(0.88, 0.88, 0, 0)), text)},
		{"meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", with(p(1048576, 1048576, price(0.27, 0.85, 0, 0)), text, image)},
		{"deepseek-ai/DeepSeek-V3", with(p(131072, 131072, price(1.25, 1.25, 0, 0)), text)},
		{"Qwen/Qwen2.5-72B-Instruct-Turbo", with(p(32768, 32768, price(1.20, 1.20, 0, 0)), text)},
		{"llama-v3p3-70b-instruct", with(p(131072, 131072, price(0.90, 0.90, 0, 0)), text)},
		{"llama-v3p1-8b-instruct", with(p(131072, 131072, price(0.20, 0.20, 0, 0)), text)},
		// Perplexity (docs.perplexity.ai/getting-started/pricing); the
		// per-request search fees are not modelled.
		{"sonar", with(p(127072, 8000, price(1, 1, 0, 0)), text, image)},
		{"sonar-pro", with(p(200000, 8000, price(3, 15, 0, 0)), text, image)},
		{"sonar-reasoning", with(p(127072, 8000, price(1, 5, 0, 0)), text, image)},
		{"sonar-reasoning-pro", with(p(127072, 8000, price(2, 8, 0, 0)), text, image)},
		{"sonar-deep-research", with(p(127072, 8000, price(2, 8, 0, 0)), text)},
		// Google Gemini (ai.google.dev/gemini-api/docs/pricing), prompts up
		// to 200k tokens.
		{"gemini-3-pro-preview", with(r(1048576, 65536, price(2, 12, 0.20, 0)), text, image, audio, video, pdf)},
		{"gemini-2.5-pro", with(r(1048576, 65536, price(1.25, 10, 0.125, 0)), text, image, audio, video, pdf)},
		{"gemini-2.5-flash", with(r(1048576, 65536, price(0.30, 2.50, 0.03, 0)), text, image, audio, video, pdf)},
		{"gemini-2.5-flash-lite", with(r(1048576, 65536, price(0.10, 0.40, 0.01, 0)), text, image, audio, video, pdf)},
		{"gemini-2.0-flash", with(p(1048576, 8192, price(0.10, 0.40, 0.025, 0)), text, image, audio, video, pdf)},
		{"gemini-2.0-flash-lite", with(p(1048576, 8192, price(0.075, 0.30, 0, 0)), text, image, audio, video, pdf)},
		// Cohere (cohere.com/pricing).
		{"command-a-03-2025", with(p(256000, 8000, price(2.50, 10, 0, 0)), text)},
		{"command-a-reasoning-08-2025", with(r(256000, 32000, price(2.50, 10, 0, 0)), text)},
		{"command-a-vision-07-2025", with(p(128000, 8000, price(2.50, 10, 0, 0)), text, image)},
		{"command-r-plus-08-2024", with(p(128000, 4000, price(2.50, 10, 0, 0)), text)},
		{"command-r-08-2024", with(p(128000, 4000, price(0.15, 0.60, 0, 0)), text)},
		{"command-r7b-12-2024", with(p(128000, 4000, price(0.0375, 0.15, 0, 0)), text)},
		// Amazon Nova on Bedrock (aws.amazon.com/bedrock/pricing).
		{"nova-premier", with(p(1000000, 32000, price(2.50, 12.50, 0, 0)), text, image, video)},
		{"nova-pro", with(p(300000, 10000, price(0.80, 3.20, 0.20, 0)), text, image, video)},
		{"nova-lite", with(p(300000, 10000, price(0.06, 0.24, 0.015, 0)), text, image, video)},
		{"nova-micro", with(p(128000, 10000, price(0.035, 0.14, 0.00875, 0)), text)},
	}...)
}

// openAIAndAnthropic are the first providers' entries.
func openAIAndAnthropic(p, r func(int, int, *llm.Price) llm.ModelInfo, price func(in, out, read, write float64) *llm.Price) []Entry {
	vision := []string{"text", "image"}
	claude := []string{"text", "image", "pdf"}
	entries := []Entry{
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
	for i := range entries {
		switch {
		case strings.HasPrefix(entries[i].Name, "claude-"):
			entries[i].Info.Modalities = claude
		case entries[i].Name == "gpt-3.5-turbo" || entries[i].Name == "gpt-4" || entries[i].Name == "o1-mini" || entries[i].Name == "o3-mini":
			entries[i].Info.Modalities = []string{"text"}
		default:
			entries[i].Info.Modalities = vision
		}
	}
	return entries
}
