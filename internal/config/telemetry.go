package config

import (
	"net/url"
	"strings"
)

// Telemetry is the `telemetry:` section: Prometheus metrics, the log
// format and access log, and OpenTelemetry traces. Metrics are on by
// default (a scrape endpoint is what operators expect of a gateway, and
// they cost about a microsecond per request); the access log and traces
// are off unless configured (traces may also be enabled by the standard
// OTEL_* environment variables).
type Telemetry struct {
	Metrics Metrics `yaml:"metrics"`
	Logging Logging `yaml:"logging"`
	Tracing Tracing `yaml:"tracing"`
}

// Metrics serves Prometheus metrics.
type Metrics struct {
	// Enabled defaults to true; false serves no /metrics and keeps no
	// collectors.
	Enabled *bool `yaml:"enabled"`
	// Path is where they are served (default /metrics).
	Path string `yaml:"path"`
	// BearerToken, when set, is required as "Authorization: Bearer …".
	BearerToken string `yaml:"bearer_token"`
	// KeyLabels labels rate_limit_exceeded_total, quota_exceeded_total and
	// cost_dollars_total with key names (one series per key).
	KeyLabels bool `yaml:"key_labels"`
}

// On reports whether metrics are served (the default).
func (m Metrics) On() bool { return m.Enabled == nil || *m.Enabled }

// Logging sets the process log's format and level and the access log.
type Logging struct {
	Format string `yaml:"format"` // text (default) | json
	Level  string `yaml:"level"`  // debug | info (default) | warn | error
	// AccessLog writes one line per request at info level.
	AccessLog bool `yaml:"access_log"`
}

// Tracing exports OpenTelemetry traces over OTLP/HTTP.
type Tracing struct {
	Enabled bool `yaml:"enabled"`
	// Endpoint is the collector's OTLP/HTTP base URL (/v1/traces is
	// appended); empty: OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, else
	// http://localhost:4318.
	Endpoint string `yaml:"endpoint"`
	// Headers are sent with every export (e.g. an API key).
	Headers map[string]string `yaml:"headers"`
	// ServiceName is the resource's service.name (default
	// OTEL_SERVICE_NAME, else tidegate).
	ServiceName string `yaml:"service_name"`
	// SampleRatio is the share of new traces sampled, 0 to 1 (default 1);
	// a caller's sampled traceparent is always followed.
	SampleRatio *float64 `yaml:"sample_ratio"`
}

// Log formats and levels.
const (
	LogText = "text"
	LogJSON = "json"
)

// DefaultMetricsPath is where metrics are served.
const DefaultMetricsPath = "/metrics"

func (t *Telemetry) applyDefaults(getenv func(string) string) {
	if t.Metrics.Path == "" {
		t.Metrics.Path = DefaultMetricsPath
	}
	if t.Logging.Format == "" {
		t.Logging.Format = LogText
	}
	if t.Logging.Level == "" {
		t.Logging.Level = "info"
	}
	if getenv != nil && !t.Tracing.Enabled && tracingFromEnv(getenv) {
		t.Tracing.Enabled = true
	}
}

// tracingFromEnv reports whether the standard OpenTelemetry variables ask
// for an OTLP trace exporter.
func tracingFromEnv(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	if e := getenv("OTEL_TRACES_EXPORTER"); e != "" && e != "otlp" {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

func (t *Telemetry) validate(add func(path, format string, args ...any)) {
	m := t.Metrics
	if m.Path != "" && !strings.HasPrefix(m.Path, "/") || strings.ContainsAny(m.Path, " {}") || m.Path == "/" {
		add("telemetry.metrics.path", "must be an absolute path such as /metrics, got %q", m.Path)
	}
	if strings.HasPrefix(m.Path, "/v1/") || strings.HasPrefix(m.Path, "/admin/") || strings.HasPrefix(m.Path, "/health") {
		add("telemetry.metrics.path", "%q is taken by the gateway's own routes", m.Path)
	}
	if strings.ContainsAny(m.BearerToken, "\r\n ") {
		add("telemetry.metrics.bearer_token", "must not contain spaces or line breaks")
	} else if m.BearerToken != "" && len(m.BearerToken) < 16 {
		add("telemetry.metrics.bearer_token", "must be at least 16 characters")
	}
	switch t.Logging.Format {
	case "", LogText, LogJSON:
	default:
		add("telemetry.logging.format", "unknown format %q (text or json)", t.Logging.Format)
	}
	switch t.Logging.Level {
	case "", "debug", "info", "warn", "error":
	default:
		add("telemetry.logging.level", "unknown level %q (debug, info, warn or error)", t.Logging.Level)
	}
	tr := t.Tracing
	if tr.Endpoint != "" {
		u, err := url.Parse(tr.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("telemetry.tracing.endpoint", "must be an http(s) URL such as http://collector:4318, got %q", tr.Endpoint)
		}
	}
	if tr.SampleRatio != nil && (*tr.SampleRatio < 0 || *tr.SampleRatio > 1) {
		add("telemetry.tracing.sample_ratio", "must be between 0 and 1")
	}
	for h, v := range tr.Headers {
		if h == "" || strings.ContainsAny(h, "\r\n: ") {
			add("telemetry.tracing.headers", "invalid header name %q", h)
		}
		if strings.ContainsAny(v, "\r\n") {
			add("telemetry.tracing.headers."+h, "header value must not contain line breaks")
		}
	}
	if (tr.Endpoint != "" || len(tr.Headers) > 0 || tr.ServiceName != "" || tr.SampleRatio != nil) && !tr.Enabled {
		add("telemetry.tracing.enabled", "tracing settings are given but tracing is not enabled (set enabled: true)")
	}
}
