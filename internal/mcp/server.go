// Package mcp serves an API's compiled tools as an MCP server over
// Streamable HTTP (the official go-sdk), stateless so that any replica can
// answer any call: tools/list comes from the compiled spec, and tools/call
// validates the arguments, builds the operation's HTTP request and sends
// it to the API's upstream. Whatever goes wrong with a call — invalid
// arguments, missing credentials, a refused key, an upstream error or
// timeout — is a tool result with isError set, never a protocol error.
package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tidegate/tidegate/internal/apigw"
	"github.com/tidegate/tidegate/internal/metrics"
	"github.com/tidegate/tidegate/internal/openapi"
)

// Options configure a Server.
type Options struct {
	Name     string // the API's name (the default server name)
	API      *openapi.API
	Upstream string // base URL the operation paths are appended to
	// Timeout bounds one upstream call, response body included.
	Timeout time.Duration
	// Headers are set on every upstream request.
	Headers map[string]string
	// Guard checks callers with virtual keys (auth: keys) or bearer JWTs
	// (auth: jwt); nil: passthrough, the MCP request's Authorization goes
	// upstream.
	Guard                     *apigw.Guard
	ServerName, ServerVersion string
	// AllowedOrigins are the browser origins allowed; empty: only
	// localhost and loopback origins (requests without Origin always pass).
	AllowedOrigins []string
	Transport      http.RoundTripper
	// PageSize is tools/list's page size (the SDK's default when 0).
	PageSize int
	// MaxResultBytes caps a 2xx body returned to the agent (default 4 MiB);
	// error bodies are capped at 64 KiB.
	MaxResultBytes int
	// MaxBodyBytes caps an MCP request (the SDK's default when 0).
	MaxBodyBytes int64
	Logger       *slog.Logger
	// Limits are the operations' x-tidegate-middlewares rate limits (the
	// same as the HTTP proxy's); nil: none.
	Limits *apigw.Limits
	// Guards are the operations' body guards, run over the arguments.
	Guards *apigw.BodyGuards
	// Access runs the API's policies after the Guard; nil: none.
	Access *apigw.Access
	// AnonymousDiscovery lets callers without a key initialize and list
	// the tools of an auth: keys API (tools/call still needs one). By
	// default every request needs a valid key (or token, auth: jwt):
	// 401 otherwise.
	AnonymousDiscovery bool
	// Metrics counts tools/call by tool and status; nil: off.
	Metrics *metrics.Metrics
	// Resource (auth: jwt) makes the 401s point MCP clients to the
	// endpoint's protected resource metadata; nil: a plain challenge.
	Resource *Resource
}

// Defaults.
const (
	DefaultMaxResultBytes = 4 << 20
	maxErrorBodyBytes     = 64 << 10
)

// Server is one API's MCP endpoint.
type Server struct {
	opt      Options
	upstream *url.URL // opt.Upstream, parsed once
	client   *http.Client
	handler  http.Handler
	list     listCache
	tools    map[string]*openapi.Tool // by name, for the tools/call fast path
}

// New builds the server and registers every tool of the API; an upstream
// that is not an absolute http(s) URL, or a tool whose input schema is not
// a JSON object, is an error.
func New(opt Options) (*Server, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Transport == nil {
		opt.Transport = apigw.NewTransport()
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 30 * time.Second
	}
	if opt.MaxResultBytes <= 0 {
		opt.MaxResultBytes = DefaultMaxResultBytes
	}
	impl := &sdk.Implementation{Name: opt.ServerName, Version: opt.ServerVersion}
	if impl.Name == "" {
		impl.Name = opt.Name
	}
	if impl.Version == "" {
		impl.Version = opt.API.Version
	}
	srv := sdk.NewServer(impl, &sdk.ServerOptions{
		PageSize: opt.PageSize,
		Logger:   opt.Logger,
		// The tool list never changes while the gateway runs, and a
		// stateless server could not announce it anyway.
		Capabilities: &sdk.ServerCapabilities{Tools: &sdk.ToolCapabilities{}},
	})
	upstream, err := openapi.ParseBase(opt.Upstream)
	if err != nil {
		return nil, fmt.Errorf("mcp server %s: %w", opt.Name, err)
	}
	s := &Server{opt: opt, upstream: upstream, client: &http.Client{Transport: opt.Transport}, tools: toolIndex(opt.API.Tools)}
	for _, t := range opt.API.Tools {
		tool, err := sdkTool(t)
		if err != nil {
			return nil, fmt.Errorf("tool %s: %w", t.Name, err)
		}
		srv.AddTool(tool, s.handle(t))
	}
	s.handler = sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, &sdk.StreamableHTTPOptions{
		Stateless:           true, // no session to find: every replica serves every call
		JSONResponse:        true, // one answer per request, nothing to stream
		Logger:              opt.Logger,
		MaxRequestBodyBytes: opt.MaxBodyBytes,
	})
	return s, nil
}

// sdkTool is a compiled tool as the SDK lists it.
func sdkTool(t *openapi.Tool) (*sdk.Tool, error) {
	var in struct {
		Type any `json:"type"`
	}
	if err := json.Unmarshal(t.InputSchema, &in); err != nil || in.Type != "object" {
		return nil, fmt.Errorf("the input schema must be a JSON object schema")
	}
	destructive := t.Annotations.Destructive
	tool := &sdk.Tool{
		Name:        t.Name,
		Description: t.Description,
		InputSchema: t.InputSchema,
		Annotations: &sdk.ToolAnnotations{
			ReadOnlyHint:    t.Annotations.ReadOnly,
			DestructiveHint: &destructive,
			IdempotentHint:  t.Annotations.Idempotent,
		},
	}
	if t.Operation != nil {
		tool.Title = t.Operation.Summary
	}
	if len(t.OutputSchema) > 0 {
		tool.OutputSchema = t.OutputSchema
	}
	return tool, nil
}

type requestIDKey struct{}

// ServeHTTP checks the Origin and (auth: keys or jwt) the caller's key or
// token, and serves the MCP request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" && !originAllowed(o, s.opt.AllowedOrigins) {
		http.Error(w, fmt.Sprintf("Forbidden: origin %q is not allowed", o), http.StatusForbidden)
		return
	}
	reqID := w.Header().Get("x-request-id")
	if !s.opt.AnonymousDiscovery {
		ctx, err := s.opt.Guard.Authenticate(r.Context(), r.Header, reqID)
		if err != nil {
			s.refuse(w, r, err)
			return
		}
		if ctx != r.Context() {
			r = r.WithContext(ctx)
		}
	}
	limit := int64(maxFastCall)
	if s.opt.MaxBodyBytes > 0 {
		limit = min(limit, s.opt.MaxBodyBytes)
	}
	if body, ok := peekBody(r, limit); ok { // read once for both answers the gateway gives itself
		if s.fastCall(w, r, body, reqID) {
			return
		}
		var done bool
		if done, w = s.list.serve(w, r, body); done {
			return
		}
	}
	ctx := context.WithValue(r.Context(), requestIDKey{}, reqID)
	s.handler.ServeHTTP(w, r.WithContext(ctx))
	if rec, ok := w.(*listRecorder); ok {
		rec.keep()
	}
}

func (s *Server) handle(t *openapi.Tool) sdk.ToolHandler {
	return func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		var h http.Header
		if req.Extra != nil {
			h = req.Extra.Header
		}
		reqID, _ := ctx.Value(requestIDKey{}).(string)
		return s.callTool(ctx, t, req.Params.Arguments, h, reqID).sdkResult(), nil
	}
}

// callTool runs one tools/call and counts it.
func (s *Server) callTool(ctx context.Context, t *openapi.Tool, args json.RawMessage, h http.Header, reqID string) outcome {
	res := s.call(ctx, t, args, h, reqID)
	status := "ok"
	if res.isError {
		status = "error"
	}
	s.opt.Metrics.MCPCall(s.opt.Name, t.Name, status)
	return res
}
