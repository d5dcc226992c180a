package server

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tidegate/tidegate/internal/govern"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/metrics"
	"github.com/tidegate/tidegate/internal/router"
	"github.com/tidegate/tidegate/internal/tracing"
)

// exchange follows one request for the metrics, the access log and the
// server span: it wraps the ResponseWriter to see the status and the first
// byte, and the handlers fill in what they learn (key, model, provider,
// tokens, cost). Exchanges are pooled; none exists when observation is
// off. Handlers find it with exchangeOf(w).
type exchange struct {
	http.ResponseWriter
	requestID  string
	start      time.Time
	firstByte  time.Time
	status     int
	route      *route
	span       trace.Span
	op         string // gen_ai.operation.name; "" for non-LLM routes
	keyID      string
	keyName    string
	model      string // the public model the caller asked for
	provider   string // configured provider name
	system     string // gen_ai.provider.name
	upstream   string // upstream model that answered
	attempts   int
	waited     time.Duration // in upstream attempts and retry waits
	usage      llm.Usage
	usageKnown bool
	cost       float64
	cache      string
}

// exchangeOf is the request's exchange; nil when observation is off (every
// method is nil-safe).
func exchangeOf(w http.ResponseWriter) *exchange {
	x, _ := w.(*exchange)
	return x
}

func (x *exchange) WriteHeader(code int) {
	if x.status == 0 {
		x.status, x.firstByte = code, time.Now()
	}
	x.ResponseWriter.WriteHeader(code)
}

func (x *exchange) Write(b []byte) (int, error) {
	if x.status == 0 {
		x.status, x.firstByte = http.StatusOK, time.Now()
	}
	return x.ResponseWriter.Write(b)
}

// Flush passes through, so streams still flush event by event.
func (x *exchange) Flush() {
	if f, ok := x.ResponseWriter.(http.Flusher); ok {
		if x.status == 0 {
			x.status, x.firstByte = http.StatusOK, time.Now()
		}
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (x *exchange) Unwrap() http.ResponseWriter { return x.ResponseWriter }

// identified records the caller's key (its id and name, never the secret).
func (x *exchange) identified(id *govern.Identity) {
	if x != nil {
		x.keyID, x.keyName = id.KeyID(), id.KeyName()
	}
}

// asked records the operation and the public model.
func (x *exchange) asked(op, model string) {
	if x != nil {
		x.op, x.model = op, model
	}
}

// ran records what the router did; target is nil when every attempt
// failed.
func (x *exchange) ran(in *router.Input, target *router.Target) {
	if x == nil {
		return
	}
	x.attempts, x.waited = in.Attempts, in.Waited
	if target != nil {
		x.provider, x.upstream = target.Provider.Name(), target.Model
		x.system = tracing.System(target.Provider.Dialect())
	}
}

// cached records the response cache's result (hit, miss, bypass; "" when
// the model is not cached).
func (x *exchange) cached(result string) {
	if x != nil && result != "" {
		x.cache = result
	}
}

// route is a mounted pattern and its metric handles.
type route struct {
	pattern string
	m       *metrics.Route
}

// routed marks the exchange with its route before the handler runs.
type routed struct {
	rt *route
	h  http.Handler
}

func (rh routed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if x := exchangeOf(w); x != nil {
		x.route = rh.rt
		rh.rt.m.Start()
	}
	rh.h.ServeHTTP(w, r)
}

// handle mounts h at pattern, with its route's metric handles resolved
// now rather than per request.
func (s *Server) handle(pattern string, h http.Handler) {
	if s.observing {
		h = routed{rt: s.newRoute(pattern), h: h}
	}
	s.mux.Handle(pattern, h)
}

func (s *Server) newRoute(pattern string) *route {
	method, path := "", pattern
	if i := strings.IndexByte(pattern, ' '); i > 0 {
		method, path = pattern[:i], strings.TrimSpace(pattern[i+1:])
	}
	return &route{pattern: pattern, m: s.opt.Metrics.Route(method, path)}
}

// observer is the server's observation state: on when metrics, the access
// log or tracing is configured.
type observer struct {
	observing bool
	exchanges sync.Pool
	unmatched *route // requests the mux answered itself (redirects)
}

// untraced: probes and scrapes, which would bury the traces that matter.
func (s *Server) untraced(path string) bool {
	return path == "/health" || path == "/health/ready" || path == s.opt.MetricsPath
}

// serveObserved runs the request through the mux inside an exchange.
func (s *Server) serveObserved(w http.ResponseWriter, r *http.Request, requestID string) {
	x := s.exchanges.Get().(*exchange)
	*x = exchange{ResponseWriter: w, requestID: requestID, start: time.Now()}
	if s.opt.Tracer != nil && !s.untraced(r.URL.Path) {
		ctx := propagation.TraceContext{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, x.span = s.opt.Tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(tracing.HTTPMethod.String(r.Method), attribute.String("url.path", r.URL.Path)))
		r = r.WithContext(ctx)
	}
	// Deferred: a handler may panic with http.ErrAbortHandler (the API
	// proxy does when the caller goes away mid-body), and the request
	// still ends.
	defer func() {
		s.observed(x, r)
		*x = exchange{}
		s.exchanges.Put(x)
	}()
	s.mux.ServeHTTP(x, r)
}

// observed records a finished request: HTTP metrics, the gateway's
// overhead, the access log line and the server span.
func (s *Server) observed(x *exchange, r *http.Request) {
	now := time.Now()
	status := x.status
	if status == 0 { // the handler wrote nothing
		status = http.StatusOK
		if r.Context().Err() != nil {
			status = 499 // the caller left before the answer (nginx's code)
		}
		x.firstByte = now
	}
	if x.route == nil {
		x.route = s.unmatched
		x.route.m.Start()
	}
	total := now.Sub(x.start)
	ttfb := x.firstByte.Sub(x.start)
	x.route.m.Done(status, total)
	if x.attempts > 0 && x.upstream != "" {
		s.opt.Metrics.Overhead(ttfb - x.waited)
	}
	if s.opt.AccessLog != nil {
		s.accessLog(x, r, status, total, ttfb)
	}
	if x.span != nil {
		s.endSpan(x, status)
	}
}

// accessLog writes the request's one line. Prompts, completions and keys
// are never in it: only the key's id.
func (s *Server) accessLog(x *exchange, r *http.Request, status int, total, ttfb time.Duration) {
	cache := x.cache
	if cache == "" {
		cache = "none"
	}
	attrs := [...]slog.Attr{
		{}, // trace_id, with tracing on
		slog.String("request_id", x.requestID),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", x.route.pattern),
		slog.Int("status", status),
		slog.Float64("latency_ms", msec(total)),
		slog.Float64("ttfb_ms", msec(ttfb)),
		slog.String("key_id", x.keyID),
		slog.String("model", x.model),
		slog.String("provider", x.provider),
		slog.String("upstream_model", x.upstream),
		slog.Int("attempts", x.attempts),
		slog.Int("input_tokens", x.usage.InputTokens),
		slog.Int("output_tokens", x.usage.OutputTokens),
		slog.Int("cache_read_tokens", x.usage.CacheReadTokens),
		slog.Int("cache_write_tokens", x.usage.CacheWriteTokens),
		slog.Float64("cost_usd", x.cost),
		slog.String("cache", cache),
	}
	line := attrs[1:]
	if x.span != nil {
		attrs[0] = slog.String("trace_id", x.span.SpanContext().TraceID().String())
		line = attrs[:]
	}
	s.opt.AccessLog.LogAttrs(r.Context(), slog.LevelInfo, "request", line...)
}

func msec(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// endSpan names the server span after its route and adds the GenAI
// attributes of an LLM request.
func (s *Server) endSpan(x *exchange, status int) {
	span := x.span
	span.SetName(x.route.pattern)
	attrs := make([]attribute.KeyValue, 0, 12)
	attrs = append(attrs, tracing.HTTPRoute.String(x.route.pattern), tracing.HTTPStatus.Int(status),
		tracing.GatewayRequestID.String(x.requestID))
	if x.op != "" {
		attrs = append(attrs, tracing.OperationName.String(x.op), tracing.RequestModel.String(x.model),
			tracing.GatewayAttempts.Int(x.attempts))
	}
	if x.upstream != "" {
		attrs = append(attrs, tracing.ProviderName.String(x.system), tracing.ResponseModel.String(x.upstream),
			tracing.GatewayProvider.String(x.provider))
	}
	if x.usageKnown {
		attrs = append(attrs, tracing.UsageInputTokens.Int(x.usage.InputTokens), tracing.UsageOutputTokens.Int(x.usage.OutputTokens))
	}
	span.SetAttributes(attrs...)
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}
