package config

import (
	"strings"
	"testing"
	"time"
)

const routingProviders = `
providers:
  oai: {type: openai, api_key: k}
  ant: {type: anthropic, api_key: k}
`

func TestRoutingLongForm(t *testing.T) {
	cfg, err := Parse([]byte(routingProviders+`
aliases: {fast: quick, best: "openai/o3"}
retry: {attempts: 2, on_status: [500, 503]}
breaker: {failures: 3, cooldown: 10s}
targets:
  premium: {provider: ant, model: claude-opus-4-1, retry: {attempts: 4}, breaker: {failures: 1}}
models:
  quick: {provider: oai, model: gpt-4o-mini}
  "openai/*": {provider: oai}
  smart:
    strategy: fallback
    timeout: 60s
    fallback_on_refusal: true
    targets:
      - {provider: ant, model: claude-sonnet-4-5, weight: 3, retry: {attempts: 3, backoff: 100ms, max_backoff: 1s, max_retry_after: 5s, on_status: [429, 529]}}
      - {target: premium, weight: 2, retry: {backoff: 1s}}
      - {provider: oai, model: gpt-4o}
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	smart := cfg.Models["smart"]
	if smart.StrategyName() != StrategyFallback || time.Duration(smart.Timeout) != time.Minute || !smart.FallbackOnRefusal {
		t.Fatalf("smart %+v", smart)
	}
	first := cfg.Effective(smart.Targets[0])
	if *first.Weight != 3 || first.Retry.Attempts != 3 || first.Retry.MaxRetryAfter.D(0) != 5*time.Second ||
		len(first.Retry.OnStatus) != 2 || first.Breaker.Failures != 3 || first.Breaker.Cooldown.D(0) != 10*time.Second ||
		first.Breaker.Window.D(0) != DefaultBreakerWindow {
		t.Errorf("inline target: %+v retry %+v breaker %+v", first, first.Retry, first.Breaker)
	}
	named := cfg.Effective(smart.Targets[1])
	if named.Target != "premium" || named.Provider != "ant" || named.Model != "claude-opus-4-1" || *named.Weight != 2 ||
		named.Retry.Attempts != 4 || named.Retry.Backoff.D(0) != time.Second || named.Retry.MaxBackoff.D(0) != DefaultRetryMaxBackoff ||
		named.Breaker.Failures != 1 {
		t.Errorf("named target: %+v retry %+v breaker %+v", named, named.Retry, named.Breaker)
	}
	plain := cfg.Effective(smart.Targets[2])
	if *plain.Weight != 1 || plain.Retry.Attempts != 2 || len(plain.Retry.OnStatus) != 2 || plain.Retry.MaxRetryAfter.D(0) != DefaultMaxRetryAfter {
		t.Errorf("defaults: %+v retry %+v", plain, plain.Retry)
	}
	short := cfg.Models["quick"]
	if short.StrategyName() != StrategySingle || len(short.TargetList()) != 1 || short.TargetList()[0].Model != "gpt-4o-mini" {
		t.Errorf("short form %+v", short.TargetList())
	}
	if d := cfg.Effective(Target{Provider: "oai", Model: "x"}); d.Retry.Attempts != 2 {
		t.Errorf("top-level retry default: %+v", d.Retry)
	}
}

func TestRoutingBuiltInDefaults(t *testing.T) {
	cfg, err := Parse([]byte(routingProviders+"models:\n  m: {provider: oai, model: x}\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	e := cfg.Effective(cfg.Models["m"].TargetList()[0])
	r, b := e.Retry, e.Breaker
	if r.Attempts != 1 || r.Backoff.D(0) != 200*time.Millisecond || r.MaxBackoff.D(0) != 5*time.Second ||
		r.MaxRetryAfter.D(0) != 10*time.Second || len(r.OnStatus) != 7 {
		t.Errorf("retry defaults %+v", r)
	}
	if b.Failures != 5 || b.FailureRatio != 0.5 || b.Window.D(0) != time.Minute || b.MinRequests != 20 || b.Cooldown.D(0) != 30*time.Second || b.Disabled {
		t.Errorf("breaker defaults %+v", b)
	}
}

func TestRoutingValidation(t *testing.T) {
	_, err := Parse([]byte(routingProviders+`
aliases:
  a1: nowhere
  a2: a3
  a3: m1
  m1: m1
  "w*": m1
targets:
  t1: {provider: oai}
  t2: {target: t1, provider: ant, model: x, when: "true"}
  t3: {provider: nope, model: x}
retry: {attempts: -1, on_status: [200]}
breaker: {failure_ratio: 1.5, failures: -2}
models:
  m1: {provider: oai, model: x}
  m2: {strategy: roundrobin, targets: [{provider: oai, model: x}]}
  m3: {targets: [{provider: oai, model: x, target: t1}, {target: missing}, {provider: oai2, model: y}, {provider: oai}]}
  m4: {strategy: loadbalance, targets: [{provider: oai, model: x, weight: 0}, {provider: ant, model: y, weight: 0}]}
  m5: {targets: [{provider: oai, model: x, weight: -1, when: "tokens > 10"}, {provider: oai, model: y}]}
  m6: {strategy: single, targets: [{provider: oai, model: x}, {provider: oai, model: y}]}
  m7: {provider: oai, model: x, targets: [{provider: oai, model: y}]}
  m8: {strategy: fallback}
  m9: {targets: [{provider: oai, model: x, retry: {backoff: 2s, max_backoff: 1s}, breaker: {failures: 2}}]}
  m10: {targets: [{provider: oai, model: x, breaker: {failures: 3}}]}
  m11: {strategy: conditional, targets: [{provider: oai, model: x, when: "tokens > 10"}, {provider: oai, model: y}]}
`), env(nil))
	if err == nil {
		t.Fatal("expected errors")
	}
	for _, want := range []string{
		`aliases.a1: unknown model "nowhere"`,
		`aliases.a2: points to another alias "a3"`,
		`aliases.w*: an alias cannot be a wildcard`,
		`models.m1: the name is also an alias`,
		`targets.t1.model: required`,
		`targets.t2.target: a named target cannot reference another target`,
		`targets.t2.when: when belongs to a model's conditional targets`,
		`targets.t2: set either target (a named target) or provider/model, not both`,
		`targets.t3.provider: unknown provider "nope"`,
		`retry.attempts: must be at least 1`,
		`retry.on_status[0]: 200 is not an HTTP error status`,
		`breaker.failures: must not be negative`,
		`breaker.failure_ratio: must be between 0 and 1`,
		`models.m2.strategy: unknown strategy "roundrobin"`,
		`models.m3.targets[0]: set either target (a named target) or provider/model, not both`,
		`models.m3.targets[1].target: unknown target "missing"`,
		`models.m3.targets[2].provider: unknown provider "oai2"`,
		`models.m3.targets[3].model: required`,
		`models.m4.targets: loadbalance needs at least one target with a weight above 0`,
		`models.m5.targets[0].weight: must not be negative`,
		`models.m5.targets[0].when: when only applies to strategy conditional (this model's strategy is fallback)`,
		`models.m6.strategy: single takes one target, got 2`,
		`models.m7: use either provider/model (one target) or targets, not both`,
		`models.m8.targets: required`,
		`models.m9.targets[0].retry.backoff: is above max_backoff`,
		`models.m9.targets[0].breaker: conflicts with the breaker of models.m10.targets[0]: both route to oai/x`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "models.m11") {
		t.Errorf("a conditional model is valid:\n%v", err)
	}
}

func TestRoutingDurationsAndHealthChecks(t *testing.T) {
	_, err := Parse([]byte(routingProviders+"models:\n  m: {provider: oai, model: x, timeout: soon}\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), `invalid duration "soon"`) {
		t.Fatalf("got %v", err)
	}
	cfg, err := Parse([]byte(`
providers:
  oai: {type: openai, api_key: k, health_check: {}}
  ant: {type: anthropic, api_key: k, health_check: {path: /v1/models, interval: 10s}}
  olla: {type: ollama, health_check: {timeout: 1s}}
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]HealthCheck{
		"oai":  {Path: "/models", Interval: Duration(30 * time.Second), Timeout: Duration(5 * time.Second)},
		"ant":  {Path: "/v1/models", Interval: Duration(10 * time.Second), Timeout: Duration(5 * time.Second)},
		"olla": {Path: "/api/tags", Interval: Duration(30 * time.Second), Timeout: Duration(time.Second)},
	} {
		if got := *cfg.Providers[name].HealthCheck; got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	_, err = Parse([]byte("providers:\n  e: {type: echo, health_check: {path: models}}\n"), env(nil))
	for _, want := range []string{"providers.e.health_check: the echo provider has no upstream", "providers.e.health_check.path: must start with /"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

func TestModelInfoPrices(t *testing.T) {
	cfg, err := Parse([]byte("model_info:\n  x: {input_price: 1.5, output_price: 6}\n  y: {cache_read_price: -1}\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "model_info.y.cache_read_price: must not be negative") {
		t.Fatalf("got %v", err)
	}
	cfg, err = Parse([]byte("model_info:\n  x: {input_price: 1.5, output_price: 6}\n"), env(nil))
	if err != nil || *cfg.ModelInfo["x"].InputPrice != 1.5 || cfg.ModelInfo["x"].CacheWritePrice != nil {
		t.Fatalf("%v %+v", err, cfg)
	}
}
