package toolloop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// RemoteOptions configure a Remote.
type RemoteOptions struct {
	Name string
	URL  string // the server's Streamable HTTP endpoint
	// Headers are sent with every request (the server's credential).
	Headers map[string]string
	// AllowedTools are the tools offered to the model; empty: all.
	AllowedTools []string
	// Timeout bounds one call (default 30s); the tool list is cached for
	// ToolsTTL (default 5m).
	Timeout   time.Duration
	ToolsTTL  time.Duration
	Transport http.RoundTripper
	Version   string // the gateway's version, for the client's implementation info
}

// Remote is an external MCP server reached with the go-sdk client over
// Streamable HTTP. It keeps one session, opened on first use and opened
// again after a failure.
type Remote struct {
	opt    RemoteOptions
	client *sdk.Client

	mu      sync.Mutex
	session *sdk.ClientSession
	tools   []SourceTool
	listed  time.Time
}

// NewRemote prepares a Remote; nothing is dialled until the first use.
func NewRemote(opt RemoteOptions) *Remote {
	if opt.Timeout <= 0 {
		opt.Timeout = 30 * time.Second
	}
	if opt.ToolsTTL <= 0 {
		opt.ToolsTTL = 5 * time.Minute
	}
	if opt.Transport == nil {
		opt.Transport = http.DefaultTransport
	}
	if opt.Version == "" {
		opt.Version = "dev"
	}
	return &Remote{opt: opt, client: sdk.NewClient(&sdk.Implementation{Name: "tidegate", Version: opt.Version}, nil)}
}

// Name is the server's configured name.
func (r *Remote) Name() string { return r.opt.Name }

// connect returns the open session, opening one if needed.
func (r *Remote) connect(ctx context.Context) (*sdk.ClientSession, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.session != nil {
		return r.session, nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.opt.Timeout)
	defer cancel()
	t := &sdk.StreamableClientTransport{
		Endpoint:             r.opt.URL,
		HTTPClient:           &http.Client{Transport: headerTransport{base: r.opt.Transport, headers: r.opt.Headers}},
		DisableStandaloneSSE: true, // requests and answers only
	}
	cs, err := r.client.Connect(ctx, t, nil)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", r.opt.URL, err)
	}
	r.session = cs
	return cs, nil
}

// drop forgets a session that failed, so the next use reconnects.
func (r *Remote) drop(cs *sdk.ClientSession) {
	r.mu.Lock()
	if r.session == cs {
		r.session = nil
		r.listed = time.Time{}
	}
	r.mu.Unlock()
	_ = cs.Close()
}

// Tools lists the allowed tools, from a cache refreshed every ToolsTTL.
func (r *Remote) Tools(ctx context.Context) ([]SourceTool, error) {
	r.mu.Lock()
	if !r.listed.IsZero() && time.Since(r.listed) < r.opt.ToolsTTL {
		defer r.mu.Unlock()
		return r.tools, nil
	}
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, r.opt.Timeout)
	defer cancel()
	list, err := r.list(ctx)
	if errors.Is(err, sdk.ErrSessionMissing) && ctx.Err() == nil {
		list, err = r.list(ctx) // the server forgot the session: once more on a new one
	}
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.tools, r.listed = list, time.Now()
	r.mu.Unlock()
	return list, nil
}

// list runs tools/list (every page) on the current session.
func (r *Remote) list(ctx context.Context) ([]SourceTool, error) {
	cs, err := r.connect(ctx)
	if err != nil {
		return nil, err
	}
	var list []SourceTool
	for t, err := range cs.Tools(ctx, nil) {
		if err != nil {
			r.drop(cs)
			return nil, fmt.Errorf("tools/list: %w", err)
		}
		if len(r.opt.AllowedTools) > 0 && !slices.Contains(r.opt.AllowedTools, t.Name) {
			continue
		}
		schema, err := json.Marshal(t.InputSchema)
		if err != nil || string(schema) == "null" {
			schema = json.RawMessage(`{"type":"object"}`)
		}
		desc := t.Description
		if desc == "" {
			desc = t.Title
		}
		list = append(list, SourceTool{Name: t.Name, Description: desc, InputSchema: schema})
	}
	return list, nil
}

// Call runs tools/call on the server. Tools outside the allowed list are
// refused without asking the server.
func (r *Remote) Call(ctx context.Context, name string, args json.RawMessage, _ http.Header) (Result, error) {
	if len(r.opt.AllowedTools) > 0 && !slices.Contains(r.opt.AllowedTools, name) {
		return Result{IsError: true, Text: fmt.Sprintf("tool %q is not allowed", name)}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.opt.Timeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		cs, err := r.connect(ctx)
		if err != nil {
			return Result{}, err
		}
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: args})
		if err == nil {
			return ResultOf(res), nil
		}
		if ctx.Err() == nil {
			r.drop(cs) // a transport or protocol failure: start afresh next time
		}
		// The server forgot the session (it restarted, or expired it): the
		// call was not run, so it is safe to send again on a new session.
		if errors.Is(err, sdk.ErrSessionMissing) && attempt == 0 && ctx.Err() == nil {
			continue
		}
		return Result{}, fmt.Errorf("tools/call %s: %w", name, err)
	}
}

// ResultOf is an MCP tool result as text for the model: its text
// contents, else its structured content as JSON.
func ResultOf(res *sdk.CallToolResult) Result {
	var parts []string
	for _, c := range res.Content {
		switch c := c.(type) {
		case *sdk.TextContent:
			parts = append(parts, c.Text)
		case *sdk.ImageContent:
			parts = append(parts, fmt.Sprintf("[image %s, %d bytes]", c.MIMEType, len(c.Data)))
		case *sdk.EmbeddedResource:
			if c.Resource != nil && c.Resource.Text != "" {
				parts = append(parts, c.Resource.Text)
			}
		}
	}
	if len(parts) == 0 && res.StructuredContent != nil {
		if b, err := json.Marshal(res.StructuredContent); err == nil {
			parts = append(parts, string(b))
		}
	}
	return Result{Text: strings.Join(parts, "\n"), IsError: res.IsError}
}

// headerTransport sets fixed headers on every request.
type headerTransport struct {
	base    http.RoundTripper
	headers map[string]string
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if len(h.headers) > 0 {
		r = r.Clone(r.Context())
		for k, v := range h.headers {
			r.Header.Set(k, v)
		}
	}
	return h.base.RoundTrip(r)
}
