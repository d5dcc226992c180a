package toolloop

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// mcpServer is a go-sdk server behind a handler that can be replaced
// (a restart: every session forgotten).
type mcpServer struct {
	*httptest.Server
	mu      sync.Mutex
	handler http.Handler
	headers []string
	srv     *sdk.Server
}

func newMCPServer(t *testing.T) *mcpServer {
	m := &mcpServer{srv: sdk.NewServer(&sdk.Implementation{Name: "t", Version: "1"}, nil)}
	type in struct {
		N int `json:"n"`
	}
	sdk.AddTool(m.srv, &sdk.Tool{Name: "double", Description: "doubles n"}, func(_ context.Context, _ *sdk.CallToolRequest, a in) (*sdk.CallToolResult, any, error) {
		b, _ := json.Marshal(a.N * 2)
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: string(b)}}}, nil, nil
	})
	sdk.AddTool(m.srv, &sdk.Tool{Name: "secret"}, func(context.Context, *sdk.CallToolRequest, in) (*sdk.CallToolResult, any, error) {
		t.Error("a tool that is not allowed was called")
		return &sdk.CallToolResult{}, nil, nil
	})
	m.restart()
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.headers = append(m.headers, r.Header.Get("X-Token"))
		h := m.handler
		m.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *mcpServer) restart() {
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return m.srv }, nil)
	m.mu.Lock()
	m.handler = h
	m.mu.Unlock()
}

func TestRemote(t *testing.T) {
	m := newMCPServer(t)
	r := NewRemote(RemoteOptions{Name: "calc", URL: m.URL, Headers: map[string]string{"X-Token": "t0k"}, AllowedTools: []string{"double"}, ToolsTTL: time.Nanosecond})
	ctx := context.Background()
	tools, err := r.Tools(ctx)
	if err != nil || len(tools) != 1 || tools[0].Name != "double" || tools[0].Description != "doubles n" || !strings.Contains(string(tools[0].InputSchema), `"n"`) {
		t.Fatalf("tools: %+v %v", tools, err)
	}
	if res, err := r.Call(ctx, "double", json.RawMessage(`{"n":21}`), nil); err != nil || res.Text != "42" || res.IsError {
		t.Fatalf("call: %+v %v", res, err)
	}
	if res, _ := r.Call(ctx, "secret", json.RawMessage(`{}`), nil); !res.IsError || !strings.Contains(res.Text, "not allowed") {
		t.Fatalf("a tool outside allowed_tools: %+v", res)
	}
	// The server restarts: listing and calling recover on a new session.
	m.restart()
	if tools, err := r.Tools(ctx); err != nil || len(tools) != 1 {
		t.Fatalf("tools after a restart: %v", err)
	}
	m.restart()
	if res, err := r.Call(ctx, "double", json.RawMessage(`{"n":2}`), nil); err != nil || res.Text != "4" {
		t.Fatalf("call after a restart: %+v %v", res, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, h := range m.headers {
		if h != "t0k" {
			t.Fatalf("a request without the configured header: %q", m.headers)
		}
	}
	// An unreachable server is an error, not a hang.
	down := NewRemote(RemoteOptions{Name: "down", URL: "http://127.0.0.1:1/mcp", Timeout: time.Second})
	if _, err := down.Tools(ctx); err == nil {
		t.Fatal("listing an unreachable server succeeded")
	}
}
