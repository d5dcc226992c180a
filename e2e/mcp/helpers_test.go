// Package mcp_test drives the inbound side end to end: OpenAPI specs served
// as MCP tools (with the official go-sdk client) and as validated HTTP
// routes, by the whole gateway in process, in front of an httptest API.
package mcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tidegate/tidegate/internal/testgateway"
)

// ordersSpec is an OpenAPI 3.0 spec with $refs, allOf, a security
// requirement, array query parameters and an operation hidden from MCP.
const ordersSpec = `
openapi: 3.0.3
info: {title: Orders API, version: 2.1.0}
servers: [{url: https://orders.example.com/v2}]
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
  schemas:
    Status: {type: string, enum: [open, shipped]}
    Base:
      type: object
      required: [id]
      properties:
        id: {type: integer}
    Order:
      allOf:
        - $ref: '#/components/schemas/Base'
        - type: object
          required: [item]
          properties:
            item: {type: string}
            quantity: {type: integer, minimum: 1}
            status: {$ref: '#/components/schemas/Status'}
    NewOrder:
      type: object
      required: [item, quantity]
      properties:
        item: {type: string, minLength: 1}
        quantity: {type: integer, minimum: 1}
        status: {$ref: '#/components/schemas/Status'}
paths:
  /orders:
    get:
      operationId: listOrders
      summary: List orders
      parameters:
        - {name: status, in: query, schema: {type: array, items: {$ref: '#/components/schemas/Status'}}}
        - {name: limit, in: query, schema: {type: integer, maximum: 100}}
      responses:
        '200':
          description: ok
          content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/Order'}}}}
    post:
      operationId: createOrder
      summary: Create an order
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: '#/components/schemas/NewOrder'}}}
      responses:
        '201': {description: created, content: {application/json: {schema: {$ref: '#/components/schemas/Base'}}}}
  /orders/{id}:
    parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
    get:
      operationId: getOrder
      summary: Get an order
      description: One order, by id.
      security: [{bearer: []}]
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Base'}}}}
        '404': {description: not found}
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
  /slow:
    get:
      operationId: slowOp
      summary: Never answers in time
      responses: {'200': {description: ok}}
`

// userToken is the credential the API upstream accepts.
const userToken = "Bearer user-token-123"

// seenRequest is what the API upstream received.
type seenRequest struct {
	Method, Path, Query, Body string
	Header                    http.Header
}

// api is the httptest API behind the gateway, mounted at /api.
type api struct {
	*httptest.Server
	mu   sync.Mutex
	seen []seenRequest
}

func newAPI(t testing.TB) *api {
	a := &api{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != userToken {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		if r.PathValue("id") == "404" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":"no such order"}`)
			return
		}
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"id":%s,"item":"tea","quantity":2,"status":"open"}`, r.PathValue("id")))
	})
	mux.HandleFunc("GET /api/orders", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, `[{"id":1,"item":"tea"},{"id":2,"item":"milk"}]`)
	})
	mux.HandleFunc("POST /api/orders", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusCreated, `{"id":99}`)
	})
	mux.HandleFunc("GET /api/report", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("size"))
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, strings.Repeat("x", n))
	})
	mux.HandleFunc("GET /api/fail/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		http.Error(w, "boom: "+strings.Repeat("e", 100<<10), code) // a long error body
	})
	mux.HandleFunc("GET /api/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.seen = append(a.seen, seenRequest{r.Method, r.URL.Path, r.URL.RawQuery, string(body), r.Header.Clone()})
		a.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(a.Close)
	return a
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// requests returns what the upstream received so far.
func (a *api) requests() []seenRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]seenRequest(nil), a.seen...)
}

func (a *api) last(t testing.TB) seenRequest {
	t.Helper()
	r := a.requests()
	if len(r) == 0 {
		t.Fatal("nothing reached the API")
	}
	return r[len(r)-1]
}

// gatewayConfig serves the orders API; extra is appended under apis:.
const gatewayConfig = `
providers:
  echo: {type: echo}
models:
  echo: {provider: echo, model: echo}
apis:
  orders:
    spec: orders.yaml
    upstream: "{{api}}/api"
    timeout: 300ms
    headers: {X-Service: tidegate}
    mcp: {server_name: Orders API, server_version: 1.0.0}
`

// startGateway runs a gateway serving the orders API in front of a.
func startGateway(t testing.TB, a *api, extra string) *testgateway.Gateway {
	t.Helper()
	yaml := strings.ReplaceAll(gatewayConfig+extra, "{{api}}", a.URL)
	return testgateway.StartFiles(t, yaml, map[string]string{"orders.yaml": ordersSpec})
}

// headerTransport adds headers to every request and counts them.
type headerTransport struct {
	base   http.RoundTripper
	header http.Header
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.header {
		r.Header[k] = v
	}
	return h.base.RoundTrip(r)
}

// connect opens an MCP session with the given protocol version ("" for
// the SDK's latest) and extra HTTP headers.
func connect(t testing.TB, endpoint, version string, header http.Header) *mcp.ClientSession {
	t.Helper()
	return connectWith(t, endpoint, version, headerTransport{base: http.DefaultTransport, header: header})
}

func connectWith(t testing.TB, endpoint, version string, rt http.RoundTripper) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "tidegate-e2e", Version: "1.0.0"}, nil)
	transport := &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: &http.Client{Transport: rt}, DisableStandaloneSSE: true}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs, err := client.Connect(ctx, transport, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect %s (%q): %v", endpoint, version, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func call(t testing.TB, cs *mcp.ClientSession, name string, args any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("call %s: protocol error %v", name, err)
	}
	return res
}

// text is a result's text content.
func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// wantError checks the call failed as a tool error mentioning want.
func wantError(t testing.TB, res *mcp.CallToolResult, want ...string) {
	t.Helper()
	if !res.IsError {
		t.Fatalf("want a tool error, got %s", text(res))
	}
	for _, w := range want {
		if !strings.Contains(text(res), w) {
			t.Fatalf("tool error %q lacks %q", abbrev(text(res)), w)
		}
	}
}

func wantOK(t testing.TB, res *mcp.CallToolResult) {
	t.Helper()
	if res.IsError {
		t.Fatalf("tool error: %s", abbrev(text(res)))
	}
}

func abbrev(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// schema decodes a tool's JSON Schema.
func schema(t testing.TB, s any) map[string]any {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// roundRobin sends each request to the next of several gateways.
type roundRobin struct {
	targets []*url.URL
	next    atomic.Int64
	hits    []atomic.Int64
}

func newRoundRobin(t testing.TB, urls ...string) *roundRobin {
	rr := &roundRobin{hits: make([]atomic.Int64, len(urls))}
	for _, u := range urls {
		p, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		rr.targets = append(rr.targets, p)
	}
	return rr
}

func (rr *roundRobin) RoundTrip(r *http.Request) (*http.Response, error) {
	i := int(rr.next.Add(1)-1) % len(rr.targets)
	rr.hits[i].Add(1)
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = rr.targets[i].Scheme, rr.targets[i].Host, ""
	return http.DefaultTransport.RoundTrip(r)
}

// post sends a raw HTTP request to the gateway.
func post(t testing.TB, method, u, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}
