package mcp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tidegate/tidegate/internal/testgateway"
)

var protocolVersions = []string{"2025-06-18", "2025-11-25", ""} // "": the SDK's latest

func TestListTools(t *testing.T) {
	a := newAPI(t)
	g := startGateway(t, a, "")
	for _, version := range protocolVersions {
		t.Run("version="+version, func(t *testing.T) {
			cs := connect(t, g.URL+"/mcp/orders", version, nil)
			init := cs.InitializeResult()
			if version != "" && init.ProtocolVersion != version {
				t.Fatalf("negotiated %s, want %s", init.ProtocolVersion, version)
			}
			if init.ServerInfo == nil || init.ServerInfo.Name != "Orders API" || init.ServerInfo.Version != "1.0.0" {
				t.Fatalf("server info: %+v", init.ServerInfo)
			}
			if init.Capabilities == nil || init.Capabilities.Tools == nil {
				t.Fatalf("no tools capability: %+v", init.Capabilities)
			}
			ctx := context.Background()
			if version != "" { // the SDK's client sends 2026-07-28 pings without the _meta its server requires
				if err := cs.Ping(ctx, nil); err != nil {
					t.Fatalf("ping: %v", err)
				}
			}
			tools := map[string]*mcp.Tool{}
			var names []string
			for tool, err := range cs.Tools(ctx, nil) {
				if err != nil {
					t.Fatal(err)
				}
				tools[tool.Name] = tool
				names = append(names, tool.Name)
			}
			want := []string{"createOrder", "failWith", "getOrder", "getReport", "listOrders", "slowOp"} // the SDK sorts by name
			if !slices.Equal(names, want) {
				t.Fatalf("tools %v, want %v (deleteOrder is hidden)", names, want)
			}

			get := tools["getOrder"]
			if !strings.Contains(get.Description, "Get an order") || !strings.Contains(get.Description, "One order, by id.") {
				t.Errorf("description %q", get.Description)
			}
			in := schema(t, get.InputSchema)
			if in["type"] != "object" || in["properties"].(map[string]any)["id"] == nil || !slices.Contains(anyStrings(in["required"]), "id") {
				t.Errorf("getOrder input schema %v", in)
			}
			if get.OutputSchema == nil || schema(t, get.OutputSchema)["properties"] == nil {
				t.Errorf("getOrder output schema %v", get.OutputSchema)
			}
			if a := get.Annotations; a == nil || !a.ReadOnlyHint || !a.IdempotentHint || a.DestructiveHint == nil || *a.DestructiveHint {
				t.Errorf("getOrder annotations %+v", a)
			}

			create := schema(t, tools["createOrder"].InputSchema)
			props := create["properties"].(map[string]any)
			if props["item"] == nil || props["quantity"] == nil || !strings.Contains(string(mustJSON(props["status"])), "shipped") {
				t.Errorf("createOrder input: body properties at the top level, $ref resolved: %v", create)
			}
			if req := anyStrings(create["required"]); !slices.Contains(req, "item") || !slices.Contains(req, "quantity") {
				t.Errorf("createOrder required %v", req)
			}
			if a := tools["createOrder"].Annotations; a == nil || a.ReadOnlyHint || a.IdempotentHint {
				t.Errorf("createOrder annotations %+v", a)
			}
			if tools["listOrders"].OutputSchema != nil {
				t.Errorf("an array answer has no output schema: %v", tools["listOrders"].OutputSchema)
			}
			if strings.Contains(string(mustJSON(tools)), "$ref") {
				t.Errorf("unresolved $ref in the tool list")
			}
		})
	}
	if n := len(a.requests()); n != 0 {
		t.Fatalf("listing reached the API %d times", n)
	}
}

func TestCallCredentials(t *testing.T) {
	a := newAPI(t)
	g := startGateway(t, a, "")
	for _, version := range protocolVersions {
		t.Run("version="+version, func(t *testing.T) {
			anon := connect(t, g.URL+"/mcp/orders", version, nil)
			before := len(a.requests())
			wantError(t, call(t, anon, "getOrder", map[string]any{"id": 7}), "getOrder requires credentials")
			if len(a.requests()) != before {
				t.Fatal("a call without the credentials its operation requires reached the API")
			}

			user := connect(t, g.URL+"/mcp/orders", version, http.Header{"Authorization": {userToken}})
			res := call(t, user, "getOrder", map[string]any{"id": 7})
			wantOK(t, res)
			got := a.last(t)
			if got.Path != "/api/orders/7" || got.Header.Get("Authorization") != userToken || got.Header.Get("X-Service") != "tidegate" {
				t.Fatalf("upstream saw %s %v", got.Path, got.Header)
			}
			var sc map[string]any
			if err := json.Unmarshal(mustJSON(res.StructuredContent), &sc); err != nil || sc["id"] != float64(7) || sc["item"] != "tea" {
				t.Fatalf("structured content %v (%v)", res.StructuredContent, err)
			}
			if !strings.Contains(text(res), `"item":"tea"`) {
				t.Fatalf("text content %q", text(res))
			}

			// No security requirement: no credentials needed.
			wantOK(t, call(t, anon, "listOrders", nil))
		})
	}
}

func TestInvalidArgumentsNeverReachTheAPI(t *testing.T) {
	a := newAPI(t)
	g := startGateway(t, a, "")
	cs := connect(t, g.URL+"/mcp/orders", "", http.Header{"Authorization": {userToken}})
	for _, c := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"getOrder", map[string]any{"id": "seven"}, "id"},
		{"getOrder", map[string]any{}, "id"},
		{"createOrder", map[string]any{"item": "tea"}, "quantity"},
		{"createOrder", map[string]any{"item": "tea", "quantity": 0}, "quantity"},
		{"createOrder", map[string]any{"item": "tea", "quantity": 1, "status": "lost"}, "status"},
		{"listOrders", map[string]any{"limit": 1000}, "limit"},
		{"listOrders", map[string]any{"status": []string{"open", "gone"}}, "status"},
	} {
		res := call(t, cs, c.tool, c.args)
		wantError(t, res, "invalid arguments", c.want)
	}
	if n := len(a.requests()); n != 0 {
		t.Fatalf("%d invalid calls reached the API", n)
	}
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "noSuchTool", Arguments: map[string]any{}})
	if err == nil && !res.IsError {
		t.Fatal("an unknown tool succeeded")
	}
}

func TestRefsAndAllOf(t *testing.T) {
	a := newAPI(t)
	g := startGateway(t, a, "")
	cs := connect(t, g.URL+"/mcp/orders", "", nil)

	res := call(t, cs, "createOrder", map[string]any{"item": "tea", "quantity": 2, "status": "open"})
	wantOK(t, res)
	got := a.last(t)
	var body map[string]any
	if err := json.Unmarshal([]byte(got.Body), &body); err != nil || got.Method != "POST" || got.Path != "/api/orders" ||
		body["item"] != "tea" || body["quantity"] != float64(2) || body["status"] != "open" || len(body) != 3 {
		t.Fatalf("upstream saw %s %s %s (%v)", got.Method, got.Path, got.Body, err)
	}
	if !strings.HasPrefix(got.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("content type %q", got.Header.Get("Content-Type"))
	}
	if sc, _ := res.StructuredContent.(map[string]any); sc["id"] != float64(99) {
		t.Fatalf("structured content %v", res.StructuredContent)
	}

	wantOK(t, call(t, cs, "listOrders", map[string]any{"status": []string{"open", "shipped"}, "limit": 5}))
	q := a.last(t).Query
	for _, want := range []string{"status=open", "status=shipped", "limit=5"} {
		if !strings.Contains(q, want) {
			t.Fatalf("query %q lacks %q", q, want)
		}
	}
}

func TestUpstreamFailuresAreToolErrors(t *testing.T) {
	a := newAPI(t)
	g := startGateway(t, a, `
  down:
    spec: orders.yaml
    upstream: http://127.0.0.1:1/api
`)
	cs := connect(t, g.URL+"/mcp/orders", "", http.Header{"Authorization": {userToken}})

	wantError(t, call(t, cs, "getOrder", map[string]any{"id": 404}), "404", "no such order")
	res := call(t, cs, "failWith", map[string]any{"code": 500})
	wantError(t, res, "500", "boom")
	if len(text(res)) > 70<<10 {
		t.Fatalf("error body not truncated: %d bytes", len(text(res)))
	}
	wantError(t, call(t, cs, "failWith", map[string]any{"code": 503}), "503")
	wantError(t, call(t, cs, "slowOp", nil), "did not answer within 300ms")

	down := connect(t, g.URL+"/mcp/down", "", http.Header{"Authorization": {userToken}})
	wantError(t, call(t, down, "listOrders", nil), "cannot be reached")

	// The session survives every failure.
	wantOK(t, call(t, cs, "getOrder", map[string]any{"id": 1}))
}

func TestLargeResponses(t *testing.T) {
	a := newAPI(t)
	// The shared config's 300 ms timeout (for slowOp) is too tight for a
	// 6 MiB answer under -race on a busy machine.
	yaml := strings.ReplaceAll(strings.Replace(gatewayConfig, "timeout: 300ms", "timeout: 10s", 1), "{{api}}", a.URL)
	g := testgateway.StartFiles(t, yaml, map[string]string{"orders.yaml": ordersSpec})
	cs := connect(t, g.URL+"/mcp/orders", "", nil)

	res := call(t, cs, "getReport", map[string]any{"size": 1 << 20})
	wantOK(t, res)
	if n := len(text(res)); n != 1<<20 {
		t.Fatalf("1 MiB report: %d bytes", n)
	}
	res = call(t, cs, "getReport", map[string]any{"size": 6 << 20})
	wantOK(t, res)
	if txt := text(res); len(txt) > 5<<20 || !strings.Contains(txt, "[truncated") {
		t.Fatalf("6 MiB report: %d bytes, ends %q", len(txt), txt[len(txt)-80:])
	}
}

func TestReplicasServeOneClient(t *testing.T) {
	a := newAPI(t)
	var urls []string
	for range 3 {
		urls = append(urls, startGateway(t, a, "").URL)
	}
	rr := newRoundRobin(t, urls...)
	for _, version := range protocolVersions {
		t.Run("version="+version, func(t *testing.T) {
			cs := connectWith(t, urls[0]+"/mcp/orders", version, headerTransport{base: rr, header: http.Header{"Authorization": {userToken}}})
			for i := range 9 {
				res := call(t, cs, "getOrder", map[string]any{"id": i + 1})
				wantOK(t, res)
				if sc, _ := res.StructuredContent.(map[string]any); sc["id"] != float64(i+1) {
					t.Fatalf("call %d: %v", i, res.StructuredContent)
				}
			}
			for tool, err := range cs.Tools(context.Background(), nil) {
				if err != nil || tool == nil {
					t.Fatalf("list: %v", err)
				}
			}
		})
	}
	for i := range rr.hits {
		if n := rr.hits[i].Load(); n < 5 {
			t.Fatalf("replica %d served %d requests", i, n)
		}
	}
}

func TestOriginValidation(t *testing.T) {
	a := newAPI(t)
	g := startGateway(t, a, `
  web:
    spec: orders.yaml
    upstream: "{{api}}/api"
    mcp: {allowed_origins: ["https://app.example.com"]}
`)
	ping := `{"jsonrpc":"2.0","id":1,"method":"ping"}`
	hdr := func(origin string) map[string]string {
		h := map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}
		if origin != "" {
			h["Origin"] = origin
		}
		return h
	}
	for _, c := range []struct {
		path, origin string
		status       int
	}{
		{"/mcp/orders", "", 200},
		{"/mcp/orders", "http://localhost:5173", 200},
		{"/mcp/orders", "http://127.0.0.1:3000", 200},
		{"/mcp/orders", "https://evil.example", 403},
		{"/mcp/orders", "http://localhost.evil.example", 403},
		{"/mcp/web", "https://app.example.com", 200},
		{"/mcp/web", "http://localhost:5173", 403},
		{"/mcp/web", "", 200},
	} {
		resp, body := post(t, "POST", g.URL+c.path, ping, hdr(c.origin))
		if resp.StatusCode != c.status {
			t.Errorf("%s from %q: %d %s", c.path, c.origin, resp.StatusCode, body)
		}
	}
	// Stateless: no session to resume or end.
	if resp, _ := post(t, "GET", g.URL+"/mcp/orders", "", map[string]string{"Accept": "text/event-stream"}); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}

// TestOneOffRawCalls: a stateless server answers any request without an
// initialize first, as the README's curl examples do.
func TestOneOffRawCalls(t *testing.T) {
	a := newAPI(t)
	g := startGateway(t, a, "")
	h := map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
		"MCP-Protocol-Version": "2025-06-18", "Authorization": userToken}
	resp, body := post(t, "POST", g.URL+"/mcp/orders", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, h)
	if resp.StatusCode != 200 || !strings.Contains(body, `"name":"getOrder"`) || strings.Contains(body, "deleteOrder") {
		t.Fatalf("tools/list: %d %s", resp.StatusCode, abbrev(body))
	}
	resp, body = post(t, "POST", g.URL+"/mcp/orders", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"getOrder","arguments":{"id":7}}}`, h)
	var rpc struct {
		Result mcp.CallToolResult
	}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &rpc) != nil || rpc.Result.IsError || rpc.Result.StructuredContent == nil {
		t.Fatalf("tools/call: %d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Mcp-Session-Id") != "" {
		t.Fatal("a stateless server handed out a session id")
	}
}

func TestHTTPProxy(t *testing.T) {
	a := newAPI(t)
	g := startGateway(t, a, "")
	base := g.URL + "/apis/orders"
	jsonCT := map[string]string{"Content-Type": "application/json"}

	resp, body := post(t, "GET", base+"/orders/7", "", map[string]string{"Authorization": userToken})
	if resp.StatusCode != 200 || !strings.Contains(body, `"item":"tea"`) {
		t.Fatalf("valid request: %d %s", resp.StatusCode, body)
	}
	if got := a.last(t); got.Path != "/api/orders/7" || got.Header.Get("Authorization") != userToken || got.Header.Get("X-Service") != "tidegate" {
		t.Fatalf("upstream saw %s %v", got.Path, got.Header)
	}
	if resp.Header.Get("x-request-id") == "" {
		t.Fatal("no x-request-id")
	}
	// The upstream's own refusal comes back unmodified.
	if resp, body := post(t, "GET", base+"/orders/7", "", nil); resp.StatusCode != 401 || body != "{\"error\":\"unauthorized\"}\n" {
		t.Fatalf("upstream 401: %d %q", resp.StatusCode, body)
	}
	// The hidden operation is still an HTTP route.
	post(t, "DELETE", base+"/orders/7", "", nil)
	if got := a.last(t); got.Method != "DELETE" || got.Path != "/api/orders/7" {
		t.Fatalf("DELETE not forwarded: upstream saw %s %s", got.Method, got.Path)
	}

	before := len(a.requests())
	for _, c := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", "/orders/seven", "", 400, `parameter \"id\" in path`},
		{"GET", "/orders?limit=1000", "", 400, `parameter \"limit\" in query`},
		{"GET", "/nothing/here", "", 404, "no operation matches"},
		{"PATCH", "/orders/7", "", 405, "not an operation"},
		{"POST", "/orders", `{"item":"tea"}`, 400, "quantity"},
		{"POST", "/orders", `{"item":"tea","quantity":2,"status":"lost"}`, 400, "status"},
		{"POST", "/orders", `{"item":`, 400, "request body"},
	} {
		resp, body := post(t, c.method, base+c.path, c.body, jsonCT)
		if resp.StatusCode != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s %s: %d %s (want %d with %q)", c.method, c.path, resp.StatusCode, body, c.status, c.want)
		}
	}
	if n := len(a.requests()) - before; n != 0 {
		t.Fatalf("%d invalid requests reached the API", n)
	}

	resp, body = post(t, "POST", base+"/orders", `{"item":"tea","quantity":2}`, jsonCT)
	if resp.StatusCode != 201 || body != `{"id":99}` || a.last(t).Body != `{"item":"tea","quantity":2}` {
		t.Fatalf("valid body: %d %s, upstream saw %s", resp.StatusCode, body, a.last(t).Body)
	}
}

func anyStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TestNullOptionalArguments: models often send null for optional
// arguments; they count as absent, while a null required one is missing.
func TestNullOptionalArguments(t *testing.T) {
	a := newAPI(t)
	g := startGateway(t, a, "")
	cs := connect(t, g.URL+"/mcp/orders", "", http.Header{"Authorization": {userToken}})
	wantOK(t, call(t, cs, "listOrders", map[string]any{"limit": nil, "status": nil}))
	if got := a.last(t); got.Query != "" {
		t.Fatalf("null arguments reached the API as %q", got.Query)
	}
	before := len(a.requests())
	wantError(t, call(t, cs, "getOrder", map[string]any{"id": nil}), "invalid arguments", "id")
	if len(a.requests()) != before {
		t.Fatal("a call missing a required argument reached the API")
	}
}
