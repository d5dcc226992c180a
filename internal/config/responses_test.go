package config

import (
	"strings"
	"testing"
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
