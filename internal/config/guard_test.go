package config

import (
	"strings"
	"testing"
)

func TestGuardrails(t *testing.T) {
	cfg, err := Parse([]byte(`
guardrails:
  pii:
    pii: block
    secrets: redact
    detectors: {ip: off}
    patterns: [{name: ticket, regex: 'TCK-[0-9]+', action: block, max_length: 12}]
    restore: true
    apply_to: [request]
    deny: ['(?i)secret project']
    allow: ['.']
    words: [foo]
    injection: block
    limits: {messages: 10, message_chars: 1000, tokens: 4000, max_tokens: 512}
global_guardrails: [pii]
providers: {e: {type: echo}}
models:
  m: {provider: e, model: echo, guardrails: [pii]}
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Guardrails["pii"]
	if g.PII != "block" || g.Detectors["ip"] != "off" || g.Patterns[0].MaxLength != 12 || !g.Restore || g.Limits.MaxTokens != 512 || cfg.Models["m"].Guardrails[0] != "pii" {
		t.Fatalf("parsed %+v", g)
	}
	bad := []struct{ yaml, want string }{
		{"guardrails:\n  g: {pii: mask}\n", `guardrails.g.pii: unknown action "mask"`},
		{"guardrails:\n  g: {detectors: {email: maybe}}\n", `guardrails.g.detectors.email: unknown action "maybe"`},
		{"guardrails:\n  g: {patterns: [{regex: x}]}\n", "guardrails.g.patterns[0].name: required"},
		{"guardrails:\n  g: {patterns: [{name: a-b, regex: x}]}\n", "guardrails.g.patterns[0].name: letters, digits and _ only"},
		{"guardrails:\n  g: {patterns: [{name: a, regex: x}, {name: a, regex: y}]}\n", `guardrails.g.patterns[1].name: duplicate pattern name "a"`},
		{"guardrails:\n  g: {patterns: [{name: a, regex: x, action: off}]}\n", `guardrails.g.patterns[0].action: unknown action "off"`},
		{"guardrails:\n  g: {apply_to: [both]}\n", "guardrails.g.apply_to[0]: must be request or response"},
		{"guardrails:\n  g: {limits: {messages: -1}}\n", "guardrails.g.limits: limits must not be negative"},
		{"guardrails:\n  g: {injection: redact}\n", `guardrails.g.injection: unknown action "redact"`},
		{"guardrails:\n  g: {colour: red}\n", "field colour not found"},
		{"global_guardrails: [nope]\n", `global_guardrails[0]: unknown guardrail profile "nope"`},
		{"providers: {e: {type: echo}}\nmodels:\n  m: {provider: e, model: echo, guardrails: [nope]}\n", `models.m.guardrails[0]: unknown guardrail profile "nope"`},
	}
	for _, tt := range bad {
		_, err := Parse([]byte(tt.yaml), env(nil))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.yaml, err, tt.want)
		}
	}
}
