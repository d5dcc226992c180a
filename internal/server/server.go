// Package server serves the OpenAI and Anthropic HTTP APIs: it reads and
// checks each request once, resolves the model, runs it through the router
// and writes the answer (or the stream, event by event) in the caller's
// dialect.
package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
	"go.opentelemetry.io/otel/trace"

	"github.com/tidegate/tidegate/internal/cache"
	"github.com/tidegate/tidegate/internal/dialect/anthropic"
	"github.com/tidegate/tidegate/internal/dialect/openai"
	"github.com/tidegate/tidegate/internal/govern"
	"github.com/tidegate/tidegate/internal/guard"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/metrics"
	"github.com/tidegate/tidegate/internal/router"
	"github.com/tidegate/tidegate/internal/store"
	"github.com/tidegate/tidegate/internal/tokens"
	"github.com/tidegate/tidegate/internal/toolloop"
	"github.com/tidegate/tidegate/internal/tracing"
)

// Options configure a Server.
type Options struct {
	Router       *router.Router
	Tokens       *tokens.Counter
	Logger       *slog.Logger
	Version      string
	MaxBodyBytes int64
	// ModelIDs is what GET /v1/models lists.
	ModelIDs []string
	// ModelInfo enriches the model list with catalogue data; nil: none.
	ModelInfo func(id string) (llm.ModelInfo, bool)
	Now       func() time.Time
	// Gate is governance (keys, limits, budgets, usage log); nil: off.
	Gate *govern.Gate
	// Providers by name, for passthrough requests that name theirs.
	Providers map[string]llm.Provider
	// Store keeps Responses API turns for previous_response_id and GET
	// /v1/responses/{id}; nil: none are kept (no store, or
	// responses.store: false).
	Store store.Store
	// ResponseRetention is how long stored turns are readable; 0: forever.
	ResponseRetention time.Duration
	// Admin serves /admin/ when set.
	Admin http.Handler
	// Mounts are extra handlers by ServeMux pattern (the inbound APIs'
	// MCP endpoints and HTTP proxies).
	Mounts map[string]http.Handler
	// Guards are the guardrail profiles; nil: none (no cost per request).
	Guards *guard.Set
	// Cache is the response cache; nil: none.
	Cache *cache.Cache
	// ToolLoops are the public models with attached tools (tool_loops:),
	// answered by running the model's calls to them.
	ToolLoops map[string]*toolloop.Loop

	// Metrics records HTTP, streaming, token and cost metrics; nil: off.
	Metrics *metrics.Metrics
	// AccessLog, when set, gets one line per request.
	AccessLog *slog.Logger
	// Tracer, when set, starts a server span per request (continuing the
	// caller's traceparent), except for the health checks and MetricsPath.
	Tracer      trace.Tracer
	MetricsPath string
}

// Server holds the HTTP handlers.
type Server struct {
	opt     Options
	started time.Time
	mux     *http.ServeMux
	observer
}

// New builds the handler tree.
func New(opt Options) *Server {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Tokens == nil {
		opt.Tokens = tokens.New()
	}
	s := &Server{opt: opt, started: opt.Now(), mux: http.NewServeMux()}
	s.observing = opt.Metrics != nil || opt.AccessLog != nil || opt.Tracer != nil
	s.exchanges.New = func() any { return new(exchange) }
	s.unmatched = s.newRoute("unmatched")
	s.handle("POST /v1/chat/completions", s.generate(openAIChat, llm.OpChat))
	s.handle("POST /v1/completions", s.generate(openAICompletion, llm.OpCompletion))
	s.handle("POST /v1/messages", s.generate(anthropicMessages, llm.OpChat))
	s.handle("POST /v1/responses", s.generate(openAIResponses, llm.OpChat))
	s.handle("GET /v1/responses/{id}", http.HandlerFunc(s.getResponse))
	s.handle("DELETE /v1/responses/{id}", http.HandlerFunc(s.deleteResponse))
	s.handle("GET /v1/responses/{id}/input_items", http.HandlerFunc(s.listInputItems))
	s.handle("POST /v1/messages/count_tokens", http.HandlerFunc(s.countTokens))
	s.handle("POST /v1/embeddings", http.HandlerFunc(s.embeddings))
	s.handle("GET /v1/models", http.HandlerFunc(s.models))
	s.handle("GET /v1/models/{id...}", http.HandlerFunc(s.model))
	for _, p := range passthroughPaths {
		s.handle(p, http.HandlerFunc(s.passthrough))
	}
	s.handle("GET /health", http.HandlerFunc(s.health))
	s.handle("GET /health/ready", http.HandlerFunc(s.ready))
	if opt.Admin != nil {
		s.handle("/admin/", opt.Admin)
	}
	for pattern, h := range opt.Mounts {
		s.handle(pattern, h)
	}
	s.handle("/", http.HandlerFunc(s.notFound))
	return s
}

// ServeHTTP stamps a request id and dispatches, observing the request when
// metrics, the access log or tracing is on.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := newID()
	w.Header().Set("x-request-id", id)
	if s.observing {
		s.serveObserved(w, r, id)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// generate serves chat completions, legacy completions and messages.
func (s *Server) generate(c *caller, op llm.Operation) http.HandlerFunc {
	return s.generateAs(c, op, "")
}

// generateAs is generate with the body's model replaced by model when it
// is not "" (spec-first LLM routes, see LLMHandler).
func (s *Server) generateAs(c *caller, op llm.Operation, model string) http.HandlerFunc {
	opName := tracing.Operation(op)
	return func(w http.ResponseWriter, r *http.Request) {
		x := exchangeOf(w)
		body, ok := s.readBody(w, r, c)
		if !ok {
			return
		}
		if model != "" && gjson.ParseBytes(body).IsObject() {
			forced, err := sjson.SetBytes(body, "model", model)
			if err != nil {
				s.writeError(w, c, &llm.Error{Kind: llm.KindInvalidRequest, Message: "could not set the model", Err: err})
				return
			}
			body = forced
		}
		env, bad := c.envelope(body, op)
		if bad != nil {
			s.writeError(w, c, bad)
			return
		}
		in := &router.Input{Model: env.model, Path: r.URL.Path, Dialect: c.dialect, Header: r.Header,
			Stream: env.stream, EstimatedTokens: router.EstimateTokens(body), MaxTokens: env.maxTokens}
		x.asked(opName, env.model)
		id, ok := s.identify(w, r, c, in)
		if !ok {
			return
		}
		var done func([]byte) // called with the final answer before the caller sees it ends
		if c.dialect == llm.DialectResponses {
			done = s.keepResponse(r, id, env.model, body)
			if body, ok = s.continueResponse(w, r, c, id, body); !ok {
				return
			}
			in.EstimatedTokens = router.EstimateTokens(body)
		}
		route, err := s.opt.Router.Route(in)
		if err != nil {
			s.refused(w, id, env.model, err)
			s.writeError(w, c, err)
			return
		}
		g, body, ok := s.guardRequest(w, r, c, id, route, env, in, body)
		if !ok {
			return
		}
		src := llm.Source{Dialect: c.dialect, Body: body, Header: r.Header}
		req := llm.NewLazyRequest(op, env.model, env.stream, env.includeUsage, src, c.decodeInto(body))
		cached := s.opt.Cache.Begin(route.LimitKey, c.dialect, r.URL.Path, env.stream, body, r.Header, keyID(id))
		ticket, ok := s.admit(w, r, c, id, in, route, req)
		if !ok {
			return
		}
		// A tool loop's answer depends on what its tools return now: it is
		// never cached.
		if loop := s.opt.ToolLoops[env.model]; loop != nil && op == llm.OpChat {
			s.toolLoop(w, r, c, loop, g, route, req, in, id, ticket, env.includeUsage, done)
			return
		}
		e, hit := cached.Lookup(r.Context())
		x.cached(cached.Header())
		if hit {
			s.serveHit(w, r, c, req, env.stream, g, e, ticket)
			return
		}
		if v := cached.Header(); v != "" {
			w.Header().Set("x-tidegate-cache", v)
		}
		res, err := s.opt.Router.Chat(r.Context(), route, req, in)
		if err != nil {
			x.ran(in, nil)
			s.settle(x, ticket, nil, nil, llm.AsError(err).HTTPStatus(), err)
			s.writeError(w, c, err)
			return
		}
		x.ran(in, res.Target)
		m := &meter{Stream: res.Stream}
		m.observe(res.First)
		res.Stream = m
		status, failure := http.StatusOK, error(nil)
		defer func() { s.settle(x, ticket, res, m, status, failure) }()
		defer res.Stream.Close()
		if err := s.checkSchema(r, g, c, route, req, in, res, m); err != nil {
			status, failure = llm.AsError(err).HTTPStatus(), err
			s.writeError(w, c, err)
			return
		}
		upstream := res.First // what the cache stores: before the response guard
		var rec *recording
		if env.stream && cached.Missed() {
			rec = newRecording(res)
			res.Stream = rec
		}
		if err := g.response(c, env.stream, res); err != nil {
			status, failure = llm.AsError(err).HTTPStatus(), err
			s.writeError(w, c, err)
			return
		}
		h := w.Header()
		h.Set("x-tidegate-provider", res.Target.Provider.Name())
		h.Set("x-tidegate-model", res.Target.Model)
		h.Set("x-tidegate-attempts", strconv.Itoa(res.Attempts))
		if env.stream {
			if s.stream(w, r, c, req, res.First, res.Stream, res.Target.Provider.Name(), res.Target.Metrics(), done) && rec != nil && rec.done {
				s.store(r, cached, &rec.entry) // only a stream that reached the caller whole
			}
			return
		}
		s.respond(w, c, req, res.First, done)
		if cached.Missed() {
			s.storeWhole(r, c, req, cached, upstream, res)
		}
	}
}

// respond writes a non-stream answer: the upstream's own bytes when it
// speaks the caller's dialect, else the re-encoded canonical response.
func (s *Server) respond(w http.ResponseWriter, c *caller, req *llm.Request, ev llm.Event, done func([]byte)) {
	var out []byte
	switch {
	case ev.Raw != nil && ev.RawDialect == c.dialect:
		out = ev.Raw
	case ev.Response != nil:
		out = c.encodeResponse(req, ev.Response)
	default:
		s.writeError(w, c, &llm.Error{Kind: llm.KindUpstream, Message: "upstream sent a stream to a non-stream request"})
		return
	}
	if done != nil {
		done(out)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if len(out) > autoContentLength {
		h.Set("Content-Length", strconv.Itoa(len(out)))
	}
	_, _ = w.Write(out)
}

// autoContentLength is the largest body net/http gives a Content-Length by
// itself (a handler's single write that fits its 2 KB buffer). Leaving the
// header to it keeps a keyed response's headers (with three rate-limit
// headers) at eight, which fit the header map as created: a ninth makes
// the map grow, about 0.7 KB of garbage per request.
const autoContentLength = 2048

// stream relays events as they arrive, flushing each one. A failure after
// the first byte becomes an error event in the caller's dialect. It
// reports whether the stream ended cleanly and reached the caller. done,
// when set, gets the final answer (Responses API) before the caller sees
// the stream end.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, c *caller, req *llm.Request, first llm.Event, events llm.Stream, provider string, obs *metrics.Target, done func([]byte)) bool {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := c.newStream(req)
	buf := make([]byte, 0, 4096)
	var nEvents, nBytes int // for the streaming metrics
	if obs != nil {
		start := time.Now()
		defer func() { obs.Stream(nEvents, nBytes, time.Since(start)) }()
	}
	write := func(b []byte) bool {
		if len(b) == 0 {
			return true
		}
		nEvents++
		nBytes += len(b)
		if _, err := w.Write(b); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	if !write(enc.Encode(buf[:0], first)) {
		return false
	}
	for {
		ev, err := events.Next()
		if errors.Is(err, io.EOF) {
			buf = enc.Finish(buf[:0])
			if fin, ok := enc.(interface{ Completed() []byte }); ok && done != nil {
				done(fin.Completed())
			}
			return write(buf)
		}
		if err != nil {
			e := llm.AsError(err)
			if r.Context().Err() == nil {
				s.opt.Logger.Warn("stream failed after first byte", "model", req.Model, "provider", provider, "error", e.Error())
			}
			write(enc.Error(buf[:0], e))
			return false
		}
		buf = enc.Encode(buf[:0], ev)
		if !write(buf) {
			return false // the client went away; the deferred Close cancels upstream
		}
	}
}

func (s *Server) countTokens(w http.ResponseWriter, r *http.Request) {
	c := anthropicCountTokens
	body, ok := s.readBody(w, r, c)
	if !ok {
		return
	}
	env, bad := envelope(body, llm.OpChat)
	if bad != nil {
		s.writeError(w, c, bad)
		return
	}
	in := &router.Input{Model: env.model, Path: r.URL.Path, Dialect: c.dialect, Header: r.Header,
		EstimatedTokens: router.EstimateTokens(body), MaxTokens: env.maxTokens}
	if _, ok := s.identify(w, r, c, in); !ok {
		return
	}
	route, err := s.opt.Router.Route(in)
	if err != nil {
		s.writeError(w, c, err)
		return
	}
	src := llm.Source{Dialect: c.dialect, Body: body, Header: r.Header}
	req := llm.NewLazyRequest(llm.OpChat, env.model, false, false, src, c.decodeInto(body))
	target := route.Targets[0]
	var n int
	if tc, ok := target.Provider.(llm.TokenCounter); ok {
		req.Model = target.Model
		n, err = tc.CountTokens(r.Context(), req)
		w.Header().Set("x-tidegate-token-count", "upstream")
	} else if err = req.Decode(); err == nil {
		n, err = s.opt.Tokens.Request(req)
		w.Header().Set("x-tidegate-token-count", "local")
	}
	if err != nil {
		s.writeError(w, c, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(anthropic.EncodeCountTokensResponse(n))
}

func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) {
	c := openAIChat
	body, ok := s.readBody(w, r, c)
	if !ok {
		return
	}
	model := gjson.GetBytes(body, "model")
	if model.Type != gjson.String || model.Str == "" {
		s.writeError(w, c, &llm.Error{Kind: llm.KindInvalidRequest, Param: "model", Message: "you must provide a model parameter (a string)"})
		return
	}
	in := &router.Input{Model: model.Str, Path: r.URL.Path, Dialect: c.dialect, Header: r.Header,
		EstimatedTokens: router.EstimateTokens(body)}
	x := exchangeOf(w)
	x.asked("embeddings", model.Str)
	id, ok := s.identify(w, r, c, in)
	if !ok {
		return
	}
	route, err := s.opt.Router.Route(in)
	if err != nil {
		s.refused(w, id, model.Str, err)
		s.writeError(w, c, err)
		return
	}
	if _, body, ok = s.guardRequest(w, r, c, id, route, env{model: model.Str}, in, body); !ok {
		return
	}
	req, err := openai.DecodeEmbedRequest(body)
	if err != nil {
		s.writeError(w, c, err)
		return
	}
	req.Source = llm.Source{Dialect: llm.DialectOpenAI, Body: body, Header: r.Header}
	chat := llm.NewLazyRequest(llm.OpChat, model.Str, false, false, req.Source, func(*llm.Request) error { return nil })
	ticket, ok := s.admit(w, r, c, id, in, route, chat)
	if !ok {
		return
	}
	res, err := s.opt.Router.Embed(r.Context(), route, req, in)
	if err != nil {
		x.ran(in, nil)
		s.settle(x, ticket, nil, nil, llm.AsError(err).HTTPStatus(), err)
		s.writeError(w, c, err)
		return
	}
	resp, target := res.Response, res.Target
	x.ran(in, target)
	s.settle(x, ticket, &router.Result{Target: target}, &meter{usage: llm.Usage{InputTokens: resp.InputTokens}, known: true}, http.StatusOK, nil)
	w.Header().Set("x-tidegate-provider", target.Provider.Name())
	w.Header().Set("x-tidegate-model", target.Model)
	w.Header().Set("x-tidegate-attempts", strconv.Itoa(res.Attempts))
	w.Header().Set("Content-Type", "application/json")
	if resp.Raw != nil && resp.RawDialect == llm.DialectOpenAI {
		_, _ = w.Write(resp.Raw)
		return
	}
	if resp.Model == "" {
		resp.Model = target.Model
	}
	_, _ = w.Write(openai.EncodeEmbedResponse(resp, req.EncodingFormat))
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openai.EncodeModelListInfo(s.opt.ModelIDs, s.started.Unix(), "tidegate", s.opt.ModelInfo))
}

func (s *Server) model(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := s.opt.Router.Resolve(id); !ok {
		s.writeError(w, openAIChat, router.UnknownModel(id))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openai.EncodeModelInfo(id, s.started.Unix(), "tidegate", s.opt.ModelInfo))
}

// health is the cheap liveness answer; with ?deep=1 it adds every
// target's breaker state, last error and latency (always 200).
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if deep := r.URL.Query().Get("deep"); deep != "" && deep != "0" && deep != "false" {
		s.deepHealth(w, false)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"status":"healthy","version":%q,"uptime_seconds":%d}`, s.opt.Version, s.uptime())
}

// ready is the readiness answer: the deep report, with 503 while some
// model has no target that can take a request.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) { s.deepHealth(w, true) }

func (s *Server) deepHealth(w http.ResponseWriter, readiness bool) {
	report := struct {
		router.Health
		Version string `json:"version"`
		Uptime  int64  `json:"uptime_seconds"`
	}{s.opt.Router.Health(), s.opt.Version, s.uptime()}
	body, err := json.Marshal(report)
	if err != nil {
		s.writeError(w, openAIChat, &llm.Error{Kind: llm.KindInternal, Message: "cannot encode the health report", Err: err})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if readiness && len(report.Unavailable) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_, _ = w.Write(body)
}

func (s *Server) uptime() int64 { return int64(s.opt.Now().Sub(s.started).Seconds()) }

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	c := openAIChat
	if strings.HasPrefix(r.URL.Path, "/v1/messages") {
		c = anthropicMessages
	}
	s.writeError(w, c, &llm.Error{Kind: llm.KindNotFound, Message: fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)})
}

// readBody reads the body once, bounded, and checks it is well-formed JSON
// in valid UTF-8 without hostile nesting. It answers the error itself.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, c *caller) ([]byte, bool) {
	limit := s.opt.MaxBodyBytes
	if r.ContentLength > limit {
		s.writeError(w, c, tooLarge(limit))
		return nil, false
	}
	size := 4096
	if r.ContentLength > 0 {
		size = int(r.ContentLength) + 1
	}
	body, err := readAll(http.MaxBytesReader(w, r.Body, limit), size)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.writeError(w, c, tooLarge(limit))
		} else {
			s.writeError(w, c, &llm.Error{Kind: llm.KindInvalidRequest, Message: "could not read the request body", Err: err})
		}
		return nil, false
	}
	if err := checkJSON(body); err != nil {
		s.writeError(w, c, err)
		return nil, false
	}
	return body, true
}

func readAll(r io.Reader, size int) ([]byte, error) {
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func tooLarge(limit int64) *llm.Error {
	return &llm.Error{Kind: llm.KindTooLarge, Message: fmt.Sprintf("request body exceeds the %d byte limit", limit)}
}

// writeError renders err in the caller's dialect with its status.
func (s *Server) writeError(w http.ResponseWriter, c *caller, err error) {
	e := llm.AsError(err)
	status := e.HTTPStatus()
	if status == 499 { // the caller left; nobody reads this
		return
	}
	if e.Kind == llm.KindInternal || status >= 500 {
		s.opt.Logger.Warn("request failed", "kind", e.Kind.String(), "status", status, "error", e.Error())
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		// Whole seconds, rounded: a sliding window's wait is at most its
		// length, give or take the milliseconds between replicas' clocks.
		h.Set("Retry-After", strconv.Itoa(max(1, int(e.RetryAfter.Round(time.Second)/time.Second))))
	}
	if e.Kind == llm.KindBudget {
		h.Set("x-should-retry", "false")
	}
	w.WriteHeader(status)
	_, _ = w.Write(c.encodeError(e))
}

// Handler returns s as an http.Handler (for symmetry with wiring code).
func (s *Server) Handler() http.Handler { return s }

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}
