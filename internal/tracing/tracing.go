// Package tracing sets up OpenTelemetry traces exported over OTLP/HTTP and
// names the GenAI semantic-convention attributes the gateway sets. Without
// tracing configured nothing here runs: callers hold a nil trace.Tracer
// and skip every span.
package tracing

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/llm"
)

// GenAI semantic conventions (https://opentelemetry.io/docs/specs/semconv/gen-ai/).
const (
	OperationName      = attribute.Key("gen_ai.operation.name")
	ProviderName       = attribute.Key("gen_ai.provider.name")
	RequestModel       = attribute.Key("gen_ai.request.model")
	ResponseModel      = attribute.Key("gen_ai.response.model")
	UsageInputTokens   = attribute.Key("gen_ai.usage.input_tokens")
	UsageOutputTokens  = attribute.Key("gen_ai.usage.output_tokens")
	ErrorType          = attribute.Key("error.type")
	HTTPStatus         = attribute.Key("http.response.status_code")
	HTTPRoute          = attribute.Key("http.route")
	HTTPMethod         = attribute.Key("http.request.method")
	GatewayProvider    = attribute.Key("tidegate.provider") // the configured provider name
	GatewayAttempts    = attribute.Key("tidegate.attempts")
	GatewayRequestID   = attribute.Key("tidegate.request_id")
	instrumentationLib = "github.com/tidegate/tidegate"
)

// Operation is the gen_ai.operation.name of a request.
func Operation(op llm.Operation) string {
	if op == llm.OpCompletion {
		return "text_completion"
	}
	return "chat"
}

// System is the gen_ai.provider.name of a provider speaking dialect d.
func System(d llm.Dialect) string {
	switch d {
	case llm.DialectOpenAI:
		return "openai"
	case llm.DialectAnthropic:
		return "anthropic"
	case "":
		return "tidegate" // the built-in echo model
	}
	return string(d)
}

// Tracing is a running trace pipeline.
type Tracing struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
}

// New builds the OTLP/HTTP exporter and tracer provider for cfg; nil (and
// no error) when tracing is off. The exporter also reads the standard
// OTEL_EXPORTER_OTLP_* variables (endpoint, headers, timeout, TLS); the
// config's endpoint and headers take precedence.
func New(ctx context.Context, cfg config.Tracing, version string, getenv func(string) string) (*Tracing, error) {
	if !cfg.Enabled {
		return nil, nil
	}
	var opts []otlptracehttp.Option
	if cfg.Endpoint != "" {
		opts = append(opts, otlptracehttp.WithEndpointURL(strings.TrimRight(cfg.Endpoint, "/")+"/v1/traces"))
	} else if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		opts = append(opts, otlptracehttp.WithInsecure()) // the default localhost:4318 collector speaks plain HTTP
	}
	if len(cfg.Headers) > 0 {
		opts = append(opts, otlptracehttp.WithHeaders(cfg.Headers))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	name := cfg.ServiceName
	if name == "" {
		name = getenv("OTEL_SERVICE_NAME")
	}
	if name == "" {
		name = "tidegate"
	}
	// Schemaless, so merging never conflicts with the SDK's schema URL.
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(name), semconv.ServiceVersion(version)))
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	ratio := 1.0
	if cfg.SampleRatio != nil {
		ratio = *cfg.SampleRatio
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Second)),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
	)
	return &Tracing{tp: tp, tracer: tp.Tracer(instrumentationLib, trace.WithInstrumentationVersion(version))}, nil
}

// Tracer is the gateway's tracer; nil when t is nil (tracing off).
func (t *Tracing) Tracer() trace.Tracer {
	if t == nil {
		return nil
	}
	return t.tracer
}

// Shutdown exports the spans still queued and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.Shutdown(ctx)
}
