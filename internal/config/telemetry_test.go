package config

import (
	"strings"
	"testing"
)

func TestTelemetryDefaultsOff(t *testing.T) {
	cfg, err := Parse(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	tel := cfg.Telemetry
	if !tel.Metrics.On() || tel.Tracing.Enabled || tel.Logging.AccessLog {
		t.Errorf("want metrics on and the rest off without config: %+v", tel)
	}
	if tel.Metrics.Path != "/metrics" || tel.Logging.Format != "text" || tel.Logging.Level != "info" {
		t.Errorf("defaults: %+v", tel)
	}
}

func TestTelemetryParses(t *testing.T) {
	cfg, err := Parse([]byte(`
telemetry:
  metrics: {enabled: true, path: /internal/metrics, bearer_token: "${TOKEN}", key_labels: true}
  logging: {format: json, level: debug, access_log: true}
  tracing:
    enabled: true
    endpoint: http://collector:4318
    headers: {x-api-key: abc}
    service_name: gw
    sample_ratio: 0.25
`), env(map[string]string{"TOKEN": "a-long-scrape-token-123"}))
	if err != nil {
		t.Fatal(err)
	}
	tel := cfg.Telemetry
	if !tel.Metrics.On() || tel.Metrics.Path != "/internal/metrics" || tel.Metrics.BearerToken != "a-long-scrape-token-123" || !tel.Metrics.KeyLabels {
		t.Errorf("metrics: %+v", tel.Metrics)
	}
	if tel.Logging != (Logging{Format: "json", Level: "debug", AccessLog: true}) {
		t.Errorf("logging: %+v", tel.Logging)
	}
	tr := tel.Tracing
	if !tr.Enabled || tr.Endpoint != "http://collector:4318" || tr.Headers["x-api-key"] != "abc" || tr.ServiceName != "gw" || *tr.SampleRatio != 0.25 {
		t.Errorf("tracing: %+v", tr)
	}
	out := string(cfg.Marshal())
	if strings.Contains(out, "a-long-scrape-token-123") || strings.Contains(out, "abc") {
		t.Errorf("Marshal shows telemetry secrets:\n%s", out)
	}
}

func TestTelemetryValidation(t *testing.T) {
	_, err := Parse([]byte(`
telemetry:
  metrics: {enabled: true, path: metrics, bearer_token: short}
  logging: {format: xml, level: loud}
  tracing: {enabled: true, endpoint: "grpc://x:4317", sample_ratio: 2, headers: {"bad name": v}}
`), env(nil))
	if err == nil {
		t.Fatal("expected errors")
	}
	for _, want := range []string{
		`telemetry.metrics.path: must be an absolute path such as /metrics, got "metrics"`,
		`telemetry.metrics.bearer_token: must be at least 16 characters`,
		`telemetry.logging.format: unknown format "xml" (text or json)`,
		`telemetry.logging.level: unknown level "loud"`,
		`telemetry.tracing.endpoint: must be an http(s) URL`,
		`telemetry.tracing.sample_ratio: must be between 0 and 1`,
		`telemetry.tracing.headers: invalid header name "bad name"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	for yaml, want := range map[string]string{
		"telemetry:\n  metrics: {enabled: true, path: /v1/metrics}\n": `telemetry.metrics.path: "/v1/metrics" is taken`,
		"telemetry:\n  tracing: {endpoint: \"http://c:4318\"}\n":      "telemetry.tracing.enabled: tracing settings are given but tracing is not enabled",
		"telemetry:\n  metrics: {enabled: true, token: x}\n":          "field token not found",
		"telemetry:\n  traces: {}\n":                                  "field traces not found",
		"apis:\n  m: {spec: s.yaml, upstream: \"http://x\", base_path: /ops}\ntelemetry:\n  metrics: {enabled: true, path: /ops/metrics}\n": `telemetry.metrics.path: "/ops/metrics" is served by apis.m`,
		"telemetry:\n  metrics: {enabled: true, bearer_token: \"has space inside\"}\n":                                                      "telemetry.metrics.bearer_token: must not contain spaces",
	} {
		_, err := Parse([]byte(yaml), env(nil))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", yaml, err, want)
		}
	}
}

func TestTracingFromEnv(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, false},
		{map[string]string{"OTEL_SERVICE_NAME": "x"}, false},
	} {
		cfg, err := Parse(nil, env(c.env))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Telemetry.Tracing.Enabled != c.want {
			t.Errorf("env %v: tracing %v, want %v", c.env, cfg.Telemetry.Tracing.Enabled, c.want)
		}
		if z := FromEnv(env(c.env), false); z.Telemetry.Tracing.Enabled != c.want {
			t.Errorf("zero-config, env %v: tracing %v, want %v", c.env, z.Telemetry.Tracing.Enabled, c.want)
		}
	}
}
