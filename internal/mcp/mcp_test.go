package mcp

import (
	"strings"
	"testing"
)

func TestOriginAllowed(t *testing.T) {
	for _, c := range []struct {
		origin  string
		allowed []string
		ok      bool
	}{
		{"http://localhost", nil, true},
		{"http://localhost:5173", nil, true},
		{"https://127.0.0.1:8443", nil, true},
		{"http://[::1]:3000", nil, true},
		{"http://localhost.evil.example", nil, false},
		{"https://evil.example", nil, false},
		{"null", nil, false},
		{"file://localhost", nil, false},
		{"https://app.example.com", []string{"https://app.example.com"}, true},
		{"https://APP.example.com", []string{"https://app.example.com/"}, true},
		{"http://localhost:5173", []string{"https://app.example.com"}, false},
		{"https://anything.example", []string{"*"}, true},
	} {
		if got := originAllowed(c.origin, c.allowed); got != c.ok {
			t.Errorf("originAllowed(%q, %v) = %v", c.origin, c.allowed, got)
		}
	}
}

func TestReadUpTo(t *testing.T) {
	body, truncated, err := readUpTo(strings.NewReader("hello"), 5)
	if err != nil || truncated || string(body) != "hello" {
		t.Fatalf("%q %v %v", body, truncated, err)
	}
	body, truncated, _ = readUpTo(strings.NewReader("hello!"), 5)
	if !truncated || string(body) != "hello" {
		t.Fatalf("%q %v", body, truncated)
	}
	// A character cut in two is dropped whole.
	for _, limit := range []int{6, 7} {
		body, truncated, _ = readUpTo(strings.NewReader("abcé…"), limit)
		if !truncated || string(body) != "abcé" {
			t.Fatalf("limit %d: %q %v", limit, body, truncated)
		}
	}
}

func TestArguments(t *testing.T) {
	for _, raw := range []string{"", "null", " {} "} {
		if args, err := arguments([]byte(raw)); err != nil || len(args) != 0 {
			t.Errorf("%q: %v %v", raw, args, err)
		}
	}
	if _, err := arguments([]byte(`[1]`)); err == nil || !strings.Contains(err.Error(), "JSON object") {
		t.Errorf("array arguments: %v", err)
	}
	if args, err := arguments([]byte(`{"id":7}`)); err != nil || args["id"] != float64(7) {
		t.Errorf("%v %v", args, err)
	}
}
