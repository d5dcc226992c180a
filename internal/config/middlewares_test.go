package config

import (
	"strings"
	"testing"
)

func TestMiddlewares(t *testing.T) {
	cfg, err := Parse([]byte("middlewares:\n  strict: {rate_limit: {rpm: 10, rph: 100}}\n  hourly:\n    rate_limit: {rph: 5}\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if rl := cfg.Middlewares["strict"].RateLimit; rl == nil || rl.RPM != 10 || rl.RPH != 100 {
		t.Fatalf("strict = %+v", rl)
	}
	if rl := cfg.Middlewares["hourly"].RateLimit; rl == nil || rl.RPM != 0 || rl.RPH != 5 {
		t.Fatalf("hourly = %+v", rl)
	}
	cfg, err = Parse([]byte("middlewares:\n  per_user: {rate_limit: {rpm: 10, partition: jwt.sub}}\n  per_key: {rate_limit: {rpm: 10, partition: key}}\n"), env(nil))
	if err != nil || cfg.Middlewares["per_user"].RateLimit.Partition != "jwt.sub" || cfg.Middlewares["per_key"].RateLimit.Partition != "key" {
		t.Fatalf("partitions: %v", err)
	}
	bad := []struct{ yaml, want string }{
		{"middlewares:\n  g: {guards: [pii]}\n", `middleware key "guards" is not supported (supported: rate_limit, guard)`},
		{"middlewares:\n  g: {rate_limit: {rpm: 1, burst: 2}}\n", `rate_limit key "burst" is not supported (supported: rpm, rph, partition)`},
		{"middlewares:\n  g: {}\n", "middlewares.g: empty profile"},
		{"middlewares:\n  g: {rate_limit: {}}\n", "middlewares.g.rate_limit: set rpm or rph"},
		{"middlewares:\n  g: {rate_limit: {rpm: -1, rph: 3}}\n", "middlewares.g.rate_limit: rpm and rph must not be negative"},
		{"middlewares:\n  'a b': {rate_limit: {rpm: 1}}\n", "middlewares.a b: a middleware name is"},
		{"middlewares:\n  g: {guard: {}}\n", "middlewares.g.guard: set profile"},
		{"middlewares:\n  g: {guard: {profile: ghost}}\n", `middlewares.g.guard.profile: unknown guardrail profile "ghost"`},
		{"middlewares:\n  g: {guard: {regex: x}}\n", `guard key "regex" is not supported (supported: profile, schema)`},
		{"middlewares:\n  g: {rate_limit: {rpm: 1, partition: sub}}\n", `middlewares.g.rate_limit.partition: must be "key" or "jwt.<claim>"`},
		{"middlewares:\n  g: {rate_limit: {rpm: 1, partition: jwt.}}\n", `middlewares.g.rate_limit.partition: must be`},
	}
	for _, tt := range bad {
		_, err := Parse([]byte(tt.yaml), env(nil))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.yaml, err, tt.want)
		}
	}
}
