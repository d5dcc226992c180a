package config

import (
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseExpandsEnvAndDefaults(t *testing.T) {
	cfg, err := Parse([]byte(`
providers:
  oai: {type: openai, api_key: "${KEY}", base_url: "${BASE:-http://127.0.0.1:9/v1}"}
models:
  fast: {provider: oai, model: gpt-4o-mini}
`), env(map[string]string{"KEY": "sk-1"}))
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Providers["oai"]
	if p.APIKey != "sk-1" || p.BaseURL != "http://127.0.0.1:9/v1" {
		t.Fatalf("expansion: %+v", p)
	}
	if cfg.Listen != DefaultListen || cfg.Server.MaxBodyBytes != DefaultMaxBodyBytes {
		t.Fatalf("defaults: %q %d", cfg.Listen, cfg.Server.MaxBodyBytes)
	}
}

func TestExpandEscape(t *testing.T) {
	got, _ := Expand("a $${X} ${Y:-d} ${Z}", env(map[string]string{"Z": "z"}))
	if got != "a ${X} d z" {
		t.Fatalf("got %q", got)
	}
}

func TestValidationReportsEveryPath(t *testing.T) {
	_, err := Parse([]byte(`
listen: 0.0.0.0:8080
providers:
  a: {type: nope}
  b: {type: openai, base_url: "ftp://x", headers: {"X-Bad": "a\nb"}}
models:
  m1: {provider: oai2, model: x}
  m2: {provider: b}
  "w*x": {provider: b}
`), env(nil))
	if err == nil {
		t.Fatal("expected errors")
	}
	for _, want := range []string{
		"listen: 0.0.0.0:8080 is not a loopback address",
		`providers.a.type: unknown provider type "nope"`,
		`providers.b.base_url: must be an http(s) URL`,
		`providers.b.headers.X-Bad: header value must not contain line breaks`,
		`models.m1.provider: unknown provider "oai2"`,
		`models.m2.model: required`,
		`models.w*x: a wildcard may only end the name`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestUnknownKeysAreErrors(t *testing.T) {
	_, err := Parse([]byte("listen: 127.0.0.1:1\nprovidres: {}\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "providres") {
		t.Fatalf("want unknown-key error, got %v", err)
	}
}

func TestAuthNoneAllowsPublicListen(t *testing.T) {
	if _, err := Parse([]byte("listen: 0.0.0.0:8080\nauth: none\n"), env(nil)); err != nil {
		t.Fatal(err)
	}
}

func TestEmptyFileIsZeroConfigShape(t *testing.T) {
	cfg, err := Parse(nil, env(nil))
	if err != nil || cfg.Listen != DefaultListen {
		t.Fatalf("%v %+v", err, cfg)
	}
}

func TestBadDuration(t *testing.T) {
	_, err := Parse([]byte("providers:\n  a: {type: echo, idle_timeout: soon}\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "invalid duration") {
		t.Fatalf("got %v", err)
	}
}

func TestFromEnv(t *testing.T) {
	cfg := FromEnv(env(map[string]string{"OPENAI_API_KEY": "k", "OLLAMA_HOST": "10.1.1.1"}), true)
	if _, ok := cfg.Models["openai/*"]; !ok {
		t.Fatal("openai/* missing")
	}
	if _, ok := cfg.Models["anthropic/*"]; ok {
		t.Fatal("anthropic/* without key")
	}
	if cfg.Providers["ollama"].BaseURL != "http://10.1.1.1:11434" {
		t.Fatalf("ollama url %q", cfg.Providers["ollama"].BaseURL)
	}
	if cfg.Providers["openai"].BaseURL != "https://api.openai.com/v1" {
		t.Fatalf("openai default %q", cfg.Providers["openai"].BaseURL)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}
