package config

import "strings"

// FromEnv builds the zero-config configuration: an `echo` model that always
// works, plus `openai/*`, `anthropic/*` and `ollama/*` when their keys (or,
// for Ollama, a reachable server) are present. ollamaUp is the result of
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
	if ollamaUp {
		cfg.Providers["ollama"] = Provider{Type: TypeOllama, BaseURL: OllamaURL(getenv)}
		cfg.Models["ollama/*"] = Model{Provider: "ollama"}
	}
	cfg.applyDefaults()
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
