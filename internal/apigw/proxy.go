// Package apigw serves an API's operations as governed HTTP routes: a
// request under the API's base path is matched to a spec operation,
// validated against the spec (parameters and body, with kin-openapi), and
// forwarded to the upstream, whose response streams back unmodified.
package apigw

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/openapi"
)

// Options configure a Proxy.
type Options struct {
	Name string
	// API is the compiled spec (operation ids for the usage log).
	API *openapi.API
	// Doc is the loaded spec the requests are routed and validated with.
	Doc      *openapi3.T
	Upstream string // base URL; operation paths are appended
	BasePath string // where the proxy is mounted, e.g. /apis/orders
	Timeout  time.Duration
	// Headers are set on every upstream request.
	Headers map[string]string
	// Guard checks callers (auth: keys); nil: passthrough.
	Guard        *Guard
	MaxBodyBytes int64
	Transport    http.RoundTripper
	Logger       *slog.Logger
	// Limits are the operations' x-tidegate-middlewares rate limits; nil:
	// none.
	Limits *Limits
	// Guards are the operations' x-tidegate-middlewares body guards; nil:
	// none.
	Guards *BodyGuards
	// Access runs the API's policies: after the Guard; nil: none.
	Access *Access
	// LLM serves the x-tidegate-dispatch operations: the handler of POST
	// /v1/chat/completions (dialect "openai") or /v1/messages
	// ("anthropic") with the model forced. Nil: they answer 501.
	LLM func(dialect, model string) http.Handler
}

// Proxy is the HTTP side of one API.
type Proxy struct {
	opt    Options
	router routers.Router
	ops    map[string]string // "METHOD /path" → operation id
	// dispatch are the x-tidegate-dispatch operations by "METHOD /path".
	dispatch map[string]*openapi.Operation
	rp       *httputil.ReverseProxy
}

// New builds the proxy; it fails when the spec cannot be routed.
func New(opt Options) (*Proxy, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Transport == nil {
		opt.Transport = NewTransport()
	}
	if opt.MaxBodyBytes <= 0 {
		opt.MaxBodyBytes = 32 << 20
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 30 * time.Second
	}
	target, err := url.Parse(opt.Upstream)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	// Requests are matched on the path below the base path, whatever the
	// spec's servers say.
	doc := *opt.Doc
	doc.Servers = nil
	r, err := legacy.NewRouter(&doc, openapi3.DisableExamplesValidation())
	if err != nil {
		return nil, fmt.Errorf("route %s: %w", opt.Name, err)
	}
	p := &Proxy{opt: opt, router: r, ops: map[string]string{}}
	if opt.API != nil {
		for _, op := range opt.API.Operations {
			p.ops[op.Method+" "+op.Path] = op.ID
			if op.DispatchModel != "" {
				if p.dispatch == nil {
					p.dispatch = map[string]*openapi.Operation{}
				}
				p.dispatch[op.Method+" "+op.Path] = op
			}
		}
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			if opt.Guard.StripsCredentials() {
				for _, h := range Credentials {
					pr.Out.Header.Del(h)
				}
			}
			for k, v := range opt.Headers {
				pr.Out.Header.Set(k, v)
			}
			if ctx := pr.Out.Context(); trace.SpanContextFromContext(ctx).IsValid() {
				// Tracing on: the upstream's parent is the gateway's span,
				// not the caller's (whose traceparent is replaced).
				propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(pr.Out.Header))
			}
		},
		Transport:     opt.Transport,
		BufferPool:    &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}},
		FlushInterval: -1, // relay every chunk as it arrives
		ErrorHandler:  p.upstreamError,
		ErrorLog:      slog.NewLogLogger(opt.Logger.Handler(), slog.LevelDebug),
	}
	return p, nil
}

// ServeHTTP routes, checks, validates and forwards one request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	in, err := p.strip(r)
	if err != nil {
		writeError(w, err)
		return
	}
	route, params, err := p.router.FindRoute(in)
	if err != nil {
		writeError(w, p.routeError(w, r, in))
		return
	}
	if op := p.dispatch[route.Method+" "+route.Path]; op != nil {
		p.serveLLM(w, r, op)
		return
	}
	reqID := w.Header().Get("x-request-id")
	opID := p.operationID(route)
	call, err := p.opt.Guard.Admit(r.Context(), r.Header, opID, reqID)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := p.opt.Access.Check(call, opID, route.Method, route.Path, r.Header); err != nil {
		call.Finish(http.StatusForbidden, false, err)
		writeError(w, err)
		return
	}
	if err := p.opt.Limits.Check(r.Context(), opID, call); err != nil {
		call.Finish(llm.AsError(err).HTTPStatus(), false, err)
		writeError(w, err)
		return
	}
	body, err := p.readBody(w, r)
	if err != nil {
		call.Finish(llm.AsError(err).HTTPStatus(), false, err)
		writeError(w, err)
		return
	}
	if body, err = p.opt.Guards.Check(opID, body); err != nil {
		call.Finish(llm.AsError(err).HTTPStatus(), false, err)
		writeError(w, err)
		return
	}
	if err := p.validate(in, body, route, params); err != nil {
		call.Finish(http.StatusBadRequest, false, err)
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), p.opt.Timeout)
	defer cancel()
	in = in.WithContext(ctx)
	in.Body = io.NopCloser(bytes.NewReader(body))
	in.ContentLength = int64(len(body))
	if call.Claims() != nil {
		in.Header = in.Header.Clone()
		call.SetClaimsHeader(in.Header)
	}
	sw := &statusWriter{ResponseWriter: w}
	p.rp.ServeHTTP(sw, in)
	var upstreamErr error
	if sw.status >= 500 {
		upstreamErr = &llm.Error{Kind: llm.KindForStatus(sw.status), Status: sw.status, Message: fmt.Sprintf("upstream answered %d", sw.status)}
	}
	call.Finish(sw.status, true, upstreamErr)
}

// serveLLM serves an x-tidegate-dispatch operation: the operation's rate
// limits, then the gateway's own LLM handler with the model forced (its
// governance, routing, streaming, errors and usage log; the API's auth
// and upstream play no part).
func (p *Proxy) serveLLM(w http.ResponseWriter, r *http.Request, op *openapi.Operation) {
	if err := p.opt.Limits.Check(r.Context(), op.ID, nil); err != nil {
		writeError(w, err)
		return
	}
	if p.opt.LLM == nil {
		writeError(w, &llm.Error{Kind: llm.KindInternal, Status: http.StatusNotImplemented, Message: "LLM routes are not served here"})
		return
	}
	if p.opt.Guards.Has(op.ID) {
		body, err := p.readBody(w, r)
		if err == nil {
			body, err = p.opt.Guards.Check(op.ID, body)
		}
		if err != nil {
			writeError(w, err)
			return
		}
		r = r.Clone(r.Context())
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	}
	p.opt.LLM(op.DispatchDialect, op.DispatchModel).ServeHTTP(w, r)
}

// strip is r with the path below the base path (a shallow copy).
func (p *Proxy) strip(r *http.Request) (*http.Request, error) {
	rest, ok := strings.CutPrefix(r.URL.Path, p.opt.BasePath)
	if !ok || (rest != "" && rest[0] != '/') {
		return nil, &llm.Error{Kind: llm.KindNotFound, Message: fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)}
	}
	if rest == "" {
		rest = "/"
	}
	u := *r.URL
	u.Path = rest
	if u.RawPath != "" {
		u.RawPath = strings.TrimPrefix(u.RawPath, p.opt.BasePath)
	}
	in := r.WithContext(r.Context()) // a shallow copy; its header is never written
	in.URL = &u
	in.RequestURI = ""
	return in, nil
}

// routeError is a 405 with Allow when other methods serve the path, else
// a 404.
func (p *Proxy) routeError(w http.ResponseWriter, r, in *http.Request) error {
	var allow []string
	for _, m := range []string{"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"} {
		probe := *in
		probe.Method = m
		if _, _, err := p.router.FindRoute(&probe); err == nil {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return &llm.Error{Kind: llm.KindInvalidRequest, Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Message: fmt.Sprintf("%s is not an operation of %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", "))}
	}
	return &llm.Error{Kind: llm.KindNotFound, Message: fmt.Sprintf("no operation matches %s %s", r.Method, r.URL.Path)}
}

func (p *Proxy) operationID(route *routers.Route) string {
	if id := p.ops[route.Method+" "+route.Path]; id != "" {
		return id
	}
	if route.Operation != nil && route.Operation.OperationID != "" {
		return route.Operation.OperationID
	}
	return strings.ToLower(route.Method) + route.Path
}

func (p *Proxy) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, p.opt.MaxBodyBytes))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, &llm.Error{Kind: llm.KindTooLarge, Message: fmt.Sprintf("request body exceeds the %d byte limit", mbe.Limit)}
	case err != nil:
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Message: "could not read the request body", Err: err}
	}
	return body, nil
}

// validate checks parameters and body against the operation. Security is
// the upstream's to check (passthrough) or the Guard's (keys).
func (p *Proxy) validate(in *http.Request, body []byte, route *routers.Route, params map[string]string) error {
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, SkipSettingDefaults: true}
	opts.WithCustomSchemaErrorFunc(schemaMessage)
	v := *in
	v.Body = io.NopCloser(bytes.NewReader(body))
	err := openapi3filter.ValidateRequest(in.Context(), &openapi3filter.RequestValidationInput{
		Request: &v, PathParams: params, Route: route, Options: opts,
	})
	if err != nil {
		return &llm.Error{Kind: llm.KindInvalidRequest, Code: "invalid_request", Message: err.Error(), Err: err}
	}
	return nil
}

// schemaMessage is a schema violation without the schema and value dumps.
func schemaMessage(e *openapi3.SchemaError) string {
	if e.Reason == "" {
		return ""
	}
	if ptr := e.JSONPointer(); len(ptr) > 0 {
		return fmt.Sprintf("at /%s: %s", strings.Join(ptr, "/"), e.Reason)
	}
	return e.Reason
}

// upstreamError answers a failed forward: 504 on the API's timeout, 502
// when the upstream cannot be reached, nothing when the caller left.
func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, &llm.Error{Kind: llm.KindTimeout, Message: fmt.Sprintf("the upstream did not answer within %s", p.opt.Timeout), Err: err})
	case r.Context().Err() != nil:
		w.WriteHeader(499) // the caller left; recorded, never read
	default:
		p.opt.Logger.Warn("api upstream failed", "api", p.opt.Name, "error", err)
		writeError(w, &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Message: "the upstream cannot be reached", Err: err})
	}
}

// writeError answers {"error": {"type", "code", "message"}} with the
// error's status.
func writeError(w http.ResponseWriter, err error) {
	e := llm.AsError(err)
	status := e.HTTPStatus()
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(max(1, int(e.RetryAfter.Round(time.Second)/time.Second))))
	}
	if status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", Challenge(err))
	}
	type wire struct {
		Type    string `json:"type"`
		Code    string `json:"code,omitempty"`
		Message string `json:"message"`
	}
	body, _ := json.Marshal(map[string]wire{"error": {Type: e.Kind.String(), Code: e.Code, Message: e.Message}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// bufferPool reuses a proxy's copy buffers across requests.
type bufferPool struct{ pool sync.Pool }

func (p *bufferPool) Get() []byte  { return *p.pool.Get().(*[]byte) }
func (p *bufferPool) Put(b []byte) { p.pool.Put(&b) }

// statusWriter remembers the status written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController flush the real writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
