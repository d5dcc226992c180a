// Package mcpbinary_test drives the inbound MCP side of the real tidegate
// binary with the official go-sdk client: three replicas behind a
// round-robin client serving one session's consecutive calls, both
// protocol revisions, credentials, invalid arguments, upstream failures,
// large answers, a $ref/allOf spec and auth: keys on every MCP request.
package mcpbinary_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tidegate/tidegate/internal/testbinary"
)

var bin testbinary.Binary

func TestMain(m *testing.M) {
	os.Exit(testbinary.Main(m, "tidegate-e2e-mcpbin-", &bin))
}

// spec is OpenAPI 3.1 with $refs, allOf, a security requirement and an
// operation hidden from MCP.
const spec = `
openapi: 3.1.0
info: {title: Orders, version: 3.0.0}
components:
  securitySchemes: {bearer: {type: http, scheme: bearer}}
  schemas:
    Base: {type: object, required: [id], properties: {id: {type: integer}}}
    Order:
      allOf:
        - $ref: '#/components/schemas/Base'
        - {type: object, required: [item], properties: {item: {type: string}, quantity: {type: integer, minimum: 1}}}
paths:
  /orders:
    post:
      operationId: createOrder
      summary: Create an order
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, required: [item, quantity], properties: {item: {type: string, minLength: 1}, quantity: {type: integer, minimum: 1}}}}}
      responses: {'201': {description: created, content: {application/json: {schema: {$ref: '#/components/schemas/Base'}}}}}
  /orders/{id}:
    parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
    get:
      operationId: getOrder
      summary: Get an order
      security: [{bearer: []}]
      responses: {'200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Order'}}}}}
    delete:
      operationId: deleteOrder
      summary: Delete an order
      x-tidegate-mcp: {enabled: false}
      responses: {'204': {description: deleted}}
  /report:
    get:
      operationId: getReport
      summary: A report of any size
      parameters: [{name: size, in: query, required: true, schema: {type: integer}}]
      responses: {'200': {description: ok, content: {text/plain: {schema: {type: string}}}}}
  /fail/{code}:
    get:
      operationId: failWith
      summary: Answer with a status
      parameters: [{name: code, in: path, required: true, schema: {type: integer}}]
      responses: {'200': {description: ok}}
`

const userToken = "Bearer user-token-7"

// upstream is the API behind the gateway; it counts the requests it got.
func upstream(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/orders", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		io.WriteString(w, `{"id": 99}`)
	})
	mux.HandleFunc("GET /api/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.Header.Get("Authorization") != userToken {
			http.Error(w, `{"error":"unauthorized"}`, 401)
			return
		}
		id, _ := strconv.Atoi(r.PathValue("id"))
		if id == 404 {
			http.Error(w, `{"error":"no such order"}`, 404)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id": %d, "item": "tea", "quantity": 2}`, id)
	})
	mux.HandleFunc("GET /api/report", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		size, _ := strconv.Atoi(r.URL.Query().Get("size"))
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, strings.Repeat("x", size))
	})
	mux.HandleFunc("GET /api/fail/{code}", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		code, _ := strconv.Atoi(r.PathValue("code"))
		http.Error(w, "upstream says "+r.PathValue("code"), code)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &n
}

// startBinary runs one tidegate with config (spec.yaml beside it).
func startBinary(t *testing.T, name, config string) string {
	t.Helper()
	dir := t.TempDir()
	for file, body := range map[string]string{"spec.yaml": spec, "tidegate.yaml": config} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	addr := testbinary.FreeAddr(t)
	p := bin.Start(t, name, dir, testbinary.Env(t, "TIDEGATE_LISTEN="+addr), "serve", "--config", filepath.Join(dir, "tidegate.yaml"))
	if !p.WaitHealthy(t, addr, 20*time.Second) {
		t.Fatalf("%s exited: %v\n%s", name, p.Err(), p.Output())
	}
	return p.URL
}

// roundRobin sends each HTTP request to the next replica, adding header.
type roundRobin struct {
	targets []*url.URL
	header  http.Header
	next    atomic.Int64
	hits    []atomic.Int64
}

func (rr *roundRobin) RoundTrip(r *http.Request) (*http.Response, error) {
	i := int(rr.next.Add(1)-1) % len(rr.targets)
	rr.hits[i].Add(1)
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = rr.targets[i].Scheme, rr.targets[i].Host, ""
	for k, v := range rr.header {
		r.Header[k] = v
	}
	return http.DefaultTransport.RoundTrip(r)
}

func connect(t *testing.T, endpoint, version string, rt http.RoundTripper) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "tidegate-e2e-bin", Version: "1.0.0"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: &http.Client{Transport: rt}, DisableStandaloneSSE: true},
		&mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect %s (%s): %v", endpoint, version, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func call(t *testing.T, cs *mcp.ClientSession, name string, args any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: a protocol error instead of a tool result: %v", name, err)
	}
	return res
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func wantError(t *testing.T, res *mcp.CallToolResult, want string) {
	t.Helper()
	if !res.IsError || !strings.Contains(text(res), want) {
		t.Fatalf("want a tool error with %q, got isError=%v %.300s", want, res.IsError, text(res))
	}
}

const config = `
providers:
  echo: {type: echo}
models:
  echo: {provider: echo, model: echo}
apis:
  orders:
    spec: spec.yaml
    upstream: "%s/api"
    timeout: 5s
`

// TestReplicas: three binaries, one client, every call on the next
// replica — no session to lose — with both protocol revisions.
func TestReplicas(t *testing.T) {
	bin.Need(t)
	api, seen := upstream(t)
	cfg := fmt.Sprintf(config, api.URL)
	rr := &roundRobin{header: http.Header{"Authorization": {userToken}}, hits: make([]atomic.Int64, 3)}
	for i := range 3 {
		u, _ := url.Parse(startBinary(t, fmt.Sprintf("replica-%d", i), cfg))
		rr.targets = append(rr.targets, u)
	}
	for _, version := range []string{"2025-06-18", "2025-11-25"} {
		t.Run(version, func(t *testing.T) {
			cs := connect(t, rr.targets[0].String()+"/mcp/orders", version, rr)
			if got := cs.InitializeResult().ProtocolVersion; got != version {
				t.Fatalf("negotiated %q", got)
			}
			// tools/list: the hidden operation is absent; $ref/allOf resolved.
			tools := map[string]*mcp.Tool{}
			for tool, err := range cs.Tools(context.Background(), nil) {
				if err != nil {
					t.Fatal(err)
				}
				tools[tool.Name] = tool
			}
			if len(tools) != 4 || tools["deleteOrder"] != nil || tools["getOrder"] == nil {
				t.Fatalf("tools: %v", tools)
			}
			var out struct {
				Type       string
				Required   []string
				Properties map[string]map[string]any
			}
			b, _ := json.Marshal(tools["getOrder"].OutputSchema)
			if err := json.Unmarshal(b, &out); err != nil || out.Properties["item"]["type"] != "string" || out.Properties["id"]["type"] != "integer" ||
				strings.Join(out.Required, ",") != "id,item" {
				t.Fatalf("getOrder output schema (allOf of a $ref): %s", b)
			}
			b, _ = json.Marshal(tools["createOrder"].InputSchema)
			if !strings.Contains(string(b), `"required":["item","quantity"]`) {
				t.Fatalf("createOrder input schema: %s", b)
			}
			if a := tools["getOrder"].Annotations; a == nil || !a.ReadOnlyHint {
				t.Fatalf("getOrder annotations: %+v", a)
			}
			for i := range 6 {
				res := call(t, cs, "getOrder", map[string]any{"id": i + 1})
				if sc, _ := res.StructuredContent.(map[string]any); res.IsError || sc["id"] != float64(i+1) {
					t.Fatalf("call %d: %v %s", i, res.StructuredContent, text(res))
				}
			}
			if res := call(t, cs, "createOrder", map[string]any{"item": "tea", "quantity": 1}); res.IsError || !strings.Contains(text(res), "99") {
				t.Fatalf("createOrder: %s", text(res))
			}
		})
	}
	for i := range rr.hits {
		if n := rr.hits[i].Load(); n < 6 {
			t.Fatalf("replica %d served %d requests", i, n)
		}
	}
	if seen.Load() != 14 {
		t.Fatalf("the API got %d requests, want 14", seen.Load())
	}
}

// TestCalls: credentials, invalid arguments, upstream failures and large
// answers, through one binary.
func TestCalls(t *testing.T) {
	bin.Need(t)
	api, seen := upstream(t)
	base := startBinary(t, "gateway", fmt.Sprintf(config, api.URL))
	anon := connect(t, base+"/mcp/orders", "2025-11-25", http.DefaultTransport)
	rr := &roundRobin{targets: []*url.URL{{Scheme: "http", Host: strings.TrimPrefix(base, "http://")}}, header: http.Header{"Authorization": {userToken}}, hits: make([]atomic.Int64, 1)}
	user := connect(t, base+"/mcp/orders", "2025-06-18", rr)

	before := seen.Load()
	wantError(t, call(t, anon, "getOrder", map[string]any{"id": 1}), "requires credentials")
	wantError(t, call(t, user, "getOrder", map[string]any{"id": "one"}), "getOrder")
	wantError(t, call(t, user, "createOrder", map[string]any{"item": "", "quantity": 0}), "createOrder")
	wantError(t, call(t, user, "createOrder", map[string]any{"item": "tea"}), "quantity")
	if seen.Load() != before {
		t.Fatal("a refused call reached the API")
	}
	if res := call(t, user, "getOrder", map[string]any{"id": 3}); res.IsError {
		t.Fatalf("with credentials: %s", text(res))
	}
	wantError(t, call(t, user, "getOrder", map[string]any{"id": 404}), "no such order")
	res := call(t, user, "failWith", map[string]any{"code": 500})
	wantError(t, res, "500")
	wantError(t, res, "upstream says 500")
	wantError(t, call(t, user, "failWith", map[string]any{"code": 404}), "404")

	// 1 MiB comes back whole; 5 MiB is cut at the 4 MiB cap and marked.
	if res := call(t, user, "getReport", map[string]any{"size": 1 << 20}); res.IsError || len(text(res)) != 1<<20 {
		t.Fatalf("1 MiB: isError=%v len=%d", res.IsError, len(text(res)))
	}
	big := text(call(t, user, "getReport", map[string]any{"size": 5 << 20}))
	if len(big) < 4<<20 || len(big) > 4<<20+200 || !strings.Contains(big, "[truncated") {
		t.Fatalf("5 MiB: len=%d tail=%q", len(big), big[max(0, len(big)-80):])
	}
}

// TestKeysOnEveryRequest: with auth: keys even initialize needs a key.
func TestKeysOnEveryRequest(t *testing.T) {
	bin.Need(t)
	api, _ := upstream(t)
	const admin = "tg-admin-e2e-mcpbin-0123456789"
	cfg := fmt.Sprintf(config, api.URL) + `
  billing:
    spec: spec.yaml
    upstream: "` + api.URL + `/api"
    auth: keys
    headers: {Authorization: "` + userToken + `"}
store: "sqlite://tidegate.db"
admin_keys: [{name: e2e, key: ` + admin + `, scope: admin}]
`
	base := startBinary(t, "gateway", cfg)
	client := mcp.NewClient(&mcp.Implementation{Name: "anon", Version: "1"}, nil)
	if _, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: base + "/mcp/billing", DisableStandaloneSSE: true}, nil); err == nil {
		t.Fatal("an anonymous client initialized an auth: keys MCP server")
	}
	req, _ := http.NewRequest("POST", base+"/mcp/billing", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("anonymous tools/list: %d %v", resp.StatusCode, resp.Header)
	}

	body := strings.NewReader(`{"name":"agent","models":["api:billing/*"]}`)
	req, _ = http.NewRequest("POST", base+"/admin/keys", body)
	req.Header.Set("Authorization", "Bearer "+admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ Key string }
	err = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if err != nil || created.Key == "" {
		t.Fatalf("create key: %d %v", resp.StatusCode, err)
	}
	rr := &roundRobin{targets: []*url.URL{{Scheme: "http", Host: strings.TrimPrefix(base, "http://")}}, header: http.Header{"Authorization": {"Bearer " + created.Key}}, hits: make([]atomic.Int64, 1)}
	cs := connect(t, base+"/mcp/billing", "", rr)
	if res := call(t, cs, "getOrder", map[string]any{"id": 5}); res.IsError {
		t.Fatalf("with a key: %s", text(res))
	}
}
