package config

import (
	"strings"
	"testing"
	"time"
)

func TestResponsesStore(t *testing.T) {
	noEnv := func(string) string { return "" }
	cases := []struct {
		yaml string
		keep bool
	}{
		{"", false},
		{"store: sqlite://x.db\n", true},
		{"store: sqlite://x.db\nresponses: {store: true}\n", true},
		{"store: sqlite://x.db\nresponses: {store: false}\n", false},
		{"responses: {store: false}\n", false},
		{"auth: keys\n", true}, // keys default the store to sqlite://tidegate.db
	}
	for _, c := range cases {
		cfg, err := Parse([]byte(c.yaml), noEnv)
		if err != nil {
			t.Errorf("%q: %v", c.yaml, err)
			continue
		}
		if got := cfg.KeepResponses(); got != c.keep {
			t.Errorf("%q: KeepResponses() = %v, want %v", c.yaml, got, c.keep)
		}
	}
	_, err := Parse([]byte("responses: {store: true}\n"), noEnv)
	if err == nil || !strings.Contains(err.Error(), "responses.store") {
		t.Errorf("store without a store: %v, want an error naming responses.store", err)
	}
	_, err = Parse([]byte("responses: {keep: true}\n"), noEnv)
	if err == nil || !strings.Contains(err.Error(), "keep") {
		t.Errorf("unknown key: %v, want an error naming it", err)
	}
}

func TestResponsesRetention(t *testing.T) {
	noEnv := func(string) string { return "" }
	cases := []struct {
		yaml string
		want time.Duration
	}{
		{"store: sqlite://x.db\n", 720 * time.Hour},
		{"store: sqlite://x.db\nresponses: {retention: 0s}\n", 0},
		{"store: sqlite://x.db\nresponses: {retention: 24h}\n", 24 * time.Hour},
		{"store: sqlite://x.db\nresponses: {store: false, retention: 1h}\n", time.Hour}, // purges turns kept before
		{"", 720 * time.Hour},
		{"auth: keys\nresponses: {retention: 2h}\n", 2 * time.Hour}, // keys default the store
	}
	for _, c := range cases {
		cfg, err := Parse([]byte(c.yaml), noEnv)
		if err != nil {
			t.Errorf("%q: %v", c.yaml, err)
			continue
		}
		if got := cfg.ResponseRetention(); got != c.want {
			t.Errorf("%q: ResponseRetention() = %v, want %v", c.yaml, got, c.want)
		}
	}
	for yaml, want := range map[string]string{
		"responses: {retention: 1h}\n":                          "needs a gateway store",
		"store: sqlite://x.db\nresponses: {retention: 30s}\n":   "at least 1m0s",
		"store: sqlite://x.db\nresponses: {retention: -1h}\n":   "must not be negative",
		"store: sqlite://x.db\nresponses: {retention: often}\n": "invalid duration",
	} {
		_, err := Parse([]byte(yaml), noEnv)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error containing %q", yaml, err, want)
		}
	}
}

func TestResponsesAPIProvider(t *testing.T) {
	noEnv := func(string) string { return "" }
	if _, err := Parse([]byte("providers:\n  o: {type: openai, api_key: k, responses_api: true}\n"), noEnv); err != nil {
		t.Errorf("openai with responses_api: %v", err)
	}
	_, err := Parse([]byte("providers:\n  a: {type: anthropic, api_key: k, responses_api: true}\n"), noEnv)
	if err == nil || !strings.Contains(err.Error(), "providers.a.responses_api") {
		t.Errorf("anthropic with responses_api: %v, want an error naming it", err)
	}
}
