package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FromEnv builds the zero-config configuration: an `echo` model that always
// works, plus `openai/*`, `anthropic/*`, the presets' and Gemini's
// `<type>/*` and `ollama/*` when their keys (or, for Ollama, a reachable
// server) are present. ollamaUp is the result of
// probing OllamaURL(getenv).
func FromEnv(getenv func(string) string, ollamaUp bool) *Config {
	cfg := &Config{
		Listen:     getenv("TIDEGATE_LISTEN"),
		Providers:  map[string]Provider{"echo": {Type: TypeEcho}},
		Models:     map[string]Model{"echo": {Provider: "echo", Model: "echo"}},
		ZeroConfig: true,
	}
	if key := getenv("OPENAI_API_KEY"); key != "" {
		cfg.Providers["openai"] = Provider{Type: TypeOpenAI, APIKey: key, BaseURL: getenv("OPENAI_BASE_URL")}
		cfg.Models["openai/*"] = Model{Provider: "openai"}
	}
	if key := getenv("ANTHROPIC_API_KEY"); key != "" {
		cfg.Providers["anthropic"] = Provider{Type: TypeAnthropic, APIKey: key, BaseURL: getenv("ANTHROPIC_BASE_URL")}
		cfg.Models["anthropic/*"] = Model{Provider: "anthropic"}
	}
	// The presets and Gemini, each under its own prefix when its key is set.
	for _, e := range []struct{ typ, env string }{
		{TypeMistral, "MISTRAL_API_KEY"}, {TypeGroq, "GROQ_API_KEY"}, {TypeDeepSeek, "DEEPSEEK_API_KEY"},
		{TypeXAI, "XAI_API_KEY"}, {TypeTogether, "TOGETHER_API_KEY"}, {TypeFireworks, "FIREWORKS_API_KEY"},
		{TypeOpenRouter, "OPENROUTER_API_KEY"}, {TypePerplexity, "PERPLEXITY_API_KEY"}, {TypeGemini, "GEMINI_API_KEY"},
		{TypeCohere, "COHERE_API_KEY"},
	} {
		if key := getenv(e.env); key != "" {
			cfg.Providers[e.typ] = Provider{Type: e.typ, APIKey: key}
			cfg.Models[e.typ+"/*"] = Model{Provider: e.typ}
		}
	}
	if ollamaUp {
		cfg.Providers["ollama"] = Provider{Type: TypeOllama, BaseURL: OllamaURL(getenv)}
		cfg.Models["ollama/*"] = Model{Provider: "ollama"}
	}
	cfg.applyDefaults()
	cfg.Telemetry.applyDefaults(getenv)
	return cfg
}

// OllamaURL is the Ollama server named by OLLAMA_HOST (host:port or URL),
// defaulting to localhost:11434 as the Ollama CLI does.
func OllamaURL(getenv func(string) string) string {
	h := getenv("OLLAMA_HOST")
	if h == "" {
		return "http://127.0.0.1:11434"
	}
	if !strings.HasPrefix(h, "http://") && !strings.HasPrefix(h, "https://") {
		h = "http://" + h
	}
	if strings.Count(h, ":") < 2 { // no port
		h += ":11434"
	}
	return strings.TrimRight(h, "/")
}

// ApplyTo returns cfg with the overrides applied, defaulted and validated
// (for the zero-config, which has no file to apply them to).
func (o Overrides) ApplyTo(cfg *Config) (*Config, error) {
	if len(o) == 0 {
		return cfg, cfg.Validate()
	}
	var doc yaml.Node
	if err := doc.Encode(cfg); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	text, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	getenv := cfg.getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	out, err := parse(text, getenv, o, "")
	if err != nil {
		return nil, err
	}
	out.ZeroConfig = cfg.ZeroConfig
	return out, nil
}
