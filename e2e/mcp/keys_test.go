package mcp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const adminKey = "tg-admin-e2e-mcp-0123456789"

// keysConfig adds an API whose callers need tidegate virtual keys; the
// upstream's own credential comes from the config.
const keysConfig = `
store: "sqlite://{{db}}"
admin_keys: [{name: e2e, key: ` + adminKey + `, scope: admin}]
`

const billingAPI = `
  billing:
    spec: orders.yaml
    upstream: "{{api}}/api"
    auth: keys
    headers: {Authorization: "` + userToken + `"}
  billing-open:
    spec: orders.yaml
    upstream: "{{api}}/api"
    auth: keys
    mcp: {anonymous_discovery: true}
`

func createKey(t *testing.T, gw string, fields map[string]any) string {
	t.Helper()
	b, _ := json.Marshal(fields)
	resp, body := post(t, "POST", gw+"/admin/keys", string(b), map[string]string{"Authorization": "Bearer " + adminKey, "Content-Type": "application/json"})
	var k struct{ Key string }
	if resp.StatusCode != 201 || json.Unmarshal([]byte(body), &k) != nil || k.Key == "" {
		t.Fatalf("create key: %d %s", resp.StatusCode, body)
	}
	return k.Key
}

func TestKeysAuth(t *testing.T) {
	a := newAPI(t)
	db := filepath.Join(t.TempDir(), "tidegate.db")
	g := startGateway(t, a, billingAPI+strings.ReplaceAll(keysConfig, "{{db}}", db))
	key := createKey(t, g.URL, map[string]any{"name": "agent", "models": []string{"api:billing/*"}, "rpm": 4})
	narrow := createKey(t, g.URL, map[string]any{"name": "llm-only", "models": []string{"gpt-*"}})
	mcpURL := g.URL + "/mcp/billing"

	// Without a valid key nothing is served, not even initialize or
	// tools/list: a 401 with a Bearer challenge at the HTTP level.
	before := len(a.requests())
	for _, auth := range []string{"", "Bearer sk-tg-wrong"} {
		for _, body := range []string{
			`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`,
			`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		} {
			h := map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream", "Mcp-Protocol-Version": "2025-06-18"}
			if auth != "" {
				h["Authorization"] = auth
			}
			resp, got := post(t, "POST", mcpURL, body, h)
			if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Bearer realm="tidegate"` || !strings.Contains(got, "API key") {
				t.Fatalf("%q %s: %d %v %s", auth, body, resp.StatusCode, resp.Header, got)
			}
		}
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "anon", Version: "1"}, nil)
	if _, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: mcpURL, DisableStandaloneSSE: true}, nil); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Fatalf("an anonymous go-sdk client connected: %v", err)
	}
	wantError(t, call(t, connect(t, mcpURL, "", http.Header{"Authorization": {"Bearer " + narrow}}), "getOrder", map[string]any{"id": 1}), "may not use model", "api:billing/getOrder")
	if len(a.requests()) != before {
		t.Fatal("a refused call reached the API")
	}

	agent := connect(t, mcpURL, "", http.Header{"Authorization": {"Bearer " + key}})
	wantOK(t, call(t, agent, "getOrder", map[string]any{"id": 1}))
	got := a.last(t)
	if got.Header.Get("Authorization") != userToken || strings.Contains(strings.Join(flatten(got.Header), " "), key) {
		t.Fatalf("the virtual key went upstream or the configured credential did not: %v", got.Header)
	}

	// HTTP: the same key, the same limits (rpm 4: two MCP calls and two HTTP).
	if resp, body := post(t, "GET", g.URL+"/apis/billing/orders/2", "", nil); resp.StatusCode != 401 || !strings.Contains(body, "missing API key") {
		t.Fatalf("no key: %d %s", resp.StatusCode, body)
	}
	if resp, body := post(t, "GET", g.URL+"/apis/billing/orders/2", "", map[string]string{"Authorization": "Bearer " + narrow}); resp.StatusCode != 403 {
		t.Fatalf("narrow key: %d %s", resp.StatusCode, body)
	}
	if resp, body := post(t, "GET", g.URL+"/apis/billing/orders/2", "", map[string]string{"x-api-key": key}); resp.StatusCode != 200 || a.last(t).Header.Get("X-Api-Key") != "" {
		t.Fatalf("with key: %d %s", resp.StatusCode, body)
	}
	wantOK(t, call(t, agent, "listOrders", nil))
	if resp, _ := post(t, "GET", g.URL+"/apis/billing/orders", "", map[string]string{"Authorization": "Bearer " + key}); resp.StatusCode != 200 {
		t.Fatalf("4th call: %d", resp.StatusCode)
	}
	wantError(t, call(t, agent, "getOrder", map[string]any{"id": 3}), "rate limit")
	if resp, _ := post(t, "GET", g.URL+"/apis/billing/orders/3", "", map[string]string{"Authorization": "Bearer " + key}); resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d %v", resp.StatusCode, resp.Header)
	}

	// With anonymous_discovery, listing needs no key but calls do.
	anon := connect(t, g.URL+"/mcp/billing-open", "", nil)
	if res, err := anon.ListTools(t.Context(), nil); err != nil || len(res.Tools) == 0 {
		t.Fatalf("anonymous discovery: %v", err)
	}
	wantError(t, call(t, anon, "getOrder", map[string]any{"id": 1}), "missing API key")

	// The passthrough API beside it ignores keys.
	wantError(t, call(t, connect(t, g.URL+"/mcp/orders", "", nil), "getOrder", map[string]any{"id": 1}), "requires credentials")

	// Every call is in the usage log, refusals flagged.
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, body := post(t, "GET", g.URL+"/admin/logs?limit=100", "", map[string]string{"Authorization": "Bearer " + adminKey})
		var logs struct {
			Data []struct {
				Model, Provider string
				RequestID       string `json:"request_id"`
				Status          int
				Refused         bool
			}
		}
		if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &logs) != nil {
			t.Fatalf("logs: %d %s", resp.StatusCode, body)
		}
		count := map[string]int{}
		for _, r := range logs.Data {
			count[r.Model+" "+http.StatusText(r.Status)]++
			// (Refusals inside Gate.Admit — 403, 429 — are recorded before
			// the ticket can be given a request id, as for LLM calls.)
			if strings.HasPrefix(r.Model, "api:") && (!r.Refused && r.Provider != "api:billing" || (!r.Refused || r.Status == 401) && !strings.HasPrefix(r.RequestID, "req_")) {
				t.Fatalf("usage record %+v", r)
			}
		}
		if count["api:billing/getOrder OK"] == 2 && count["api:billing/listOrders OK"] == 2 && count["api:billing/getOrder Unauthorized"] == 1 && count["api:billing Unauthorized"] >= 5 &&
			count["api:billing/getOrder Too Many Requests"] == 2 && count["api:billing/getOrder Forbidden"] >= 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("usage log: %v", count)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func flatten(h http.Header) []string {
	var out []string
	for k, v := range h {
		out = append(out, k+": "+strings.Join(v, ","))
	}
	return out
}

// A caller that leaves during a tool call is in the usage log as 499 (as
// on the HTTP proxy), not as a failure of the upstream.
func TestCallerLeavesDuringACall(t *testing.T) {
	a := newAPI(t)
	db := filepath.Join(t.TempDir(), "tidegate.db")
	g := startGateway(t, a, billingAPI+strings.ReplaceAll(keysConfig, "{{db}}", db))
	key := createKey(t, g.URL, map[string]any{"name": "agent", "models": []string{"api:billing/*"}})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", g.URL+"/mcp/billing",
		strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slowOp","arguments":{}}}`))
	for k, v := range map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
		"Mcp-Protocol-Version": "2025-06-18", "Authorization": "Bearer " + key} {
		req.Header.Set(k, v)
	}
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the slow call answered: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, body := post(t, "GET", g.URL+"/admin/logs?limit=10", "", map[string]string{"Authorization": "Bearer " + adminKey})
		var logs struct {
			Data []struct {
				Model  string
				Status int
			}
		}
		_ = json.Unmarshal([]byte(body), &logs)
		for _, r := range logs.Data {
			if r.Model == "api:billing/slowOp" {
				if r.Status != 499 {
					t.Fatalf("recorded as %d, want 499", r.Status)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no usage record of the call: %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
