package mcp_test

import (
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/app"
	"github.com/tidegate/tidegate/internal/testgateway"
)

// assistSpec has spec-first LLM routes (x-tidegate-dispatch) beside an
// ordinary operation with a rate-limit profile.
const assistSpec = `
openapi: 3.0.3
info: {title: Assist, version: "1"}
paths:
  /chat:
    post:
      operationId: chat
      summary: Chat with the assistant
      x-tidegate-dispatch: {ai-proxy: {model: echo}}
      requestBody: {content: {application/json: {schema: {type: object}}}}
      responses: {'200': {description: ok}}
  /claude/messages:
    post:
      operationId: messages
      summary: Anthropic Messages
      x-tidegate-dispatch: {ai-proxy: {model: echo}}
      x-tidegate-middlewares: [tight]
      responses: {'200': {description: ok}}
  /orders:
    get:
      operationId: listOrders
      summary: List orders
      x-tidegate-middlewares: [tight, hourly]
      responses: {'200': {description: ok, content: {application/json: {schema: {type: array, items: {type: object}}}}}}
    post:
      operationId: createOrder
      summary: Create an order (no limit)
      responses: {'201': {description: created}}
`

const assistConfig = `
providers:
  echo: {type: echo}
models:
  echo: {provider: echo, model: echo}
middlewares:
  tight: {rate_limit: {rpm: 2}}
  hourly: {rate_limit: {rph: 100}}
apis:
  assist:
    spec: assist.yaml
    upstream: "{{api}}/api"
`

func startAssist(t *testing.T, a *api) *testgateway.Gateway {
	t.Helper()
	return testgateway.StartFiles(t, strings.ReplaceAll(assistConfig, "{{api}}", a.URL), map[string]string{"assist.yaml": assistSpec})
}

func TestDispatchAIProxy(t *testing.T) {
	a := newAPI(t)
	g := startAssist(t, a)
	base := g.URL + "/apis/assist"
	jsonCT := map[string]string{"Content-Type": "application/json"}

	// The body's model is replaced by the configured one.
	resp, body := post(t, "POST", base+"/chat", `{"model":"whatever","messages":[{"role":"user","content":"hello there"}]}`, jsonCT)
	if resp.StatusCode != 200 || !strings.Contains(body, `"chat.completion"`) || !strings.Contains(body, "hello there") ||
		resp.Header.Get("x-tidegate-model") != "echo" || resp.Header.Get("x-request-id") == "" {
		t.Fatalf("chat: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	// No model at all is fine too; streaming works as on /v1.
	resp, body = post(t, "POST", base+"/chat", `{"stream":true,"messages":[{"role":"user","content":"streamed words"}]}`, jsonCT)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") ||
		!strings.Contains(body, "chat.completion.chunk") || !strings.Contains(body, "data: [DONE]") {
		t.Fatalf("stream: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	// Errors are the chat endpoint's, in its dialect.
	resp, body = post(t, "POST", base+"/chat", `{"messages":"nope"}`, jsonCT)
	if resp.StatusCode != 400 || !strings.Contains(body, `"invalid_request_error"`) {
		t.Fatalf("bad chat: %d %s", resp.StatusCode, body)
	}
	// A path ending in /messages speaks Anthropic Messages.
	resp, body = post(t, "POST", base+"/claude/messages", `{"model":"x","max_tokens":50,"messages":[{"role":"user","content":"hi claude"}]}`, jsonCT)
	if resp.StatusCode != 200 || !strings.Contains(body, `"type":"message"`) || !strings.Contains(body, "hi claude") {
		t.Fatalf("messages: %d %s", resp.StatusCode, body)
	}
	if n := len(a.requests()); n != 0 {
		t.Fatalf("the API upstream received %d requests", n)
	}

	// Dispatch operations are not tools.
	cs := connect(t, g.URL+"/mcp/assist", "", nil)
	tools, err := cs.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
	}
	if strings.Join(names, ",") != "createOrder,listOrders" {
		t.Fatalf("tools = %v", names)
	}
}

func TestMiddlewareRateLimits(t *testing.T) {
	a := newAPI(t)
	g := startAssist(t, a)
	base := g.URL + "/apis/assist"

	// rpm 2 on listOrders, shared by HTTP and MCP.
	if resp, body := post(t, "GET", base+"/orders", "", nil); resp.StatusCode != 200 {
		t.Fatalf("first: %d %s", resp.StatusCode, body)
	}
	cs := connect(t, g.URL+"/mcp/assist", "", nil)
	wantOK(t, call(t, cs, "listOrders", map[string]any{}))
	resp, body := post(t, "GET", base+"/orders", "", nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "rate_limit_exceeded") {
		t.Fatalf("third: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	wantError(t, call(t, cs, "listOrders", map[string]any{}), "rate limit reached for listOrders")
	if n := len(a.requests()); n != 2 {
		t.Fatalf("the API received %d requests, want 2", n)
	}
	// Other operations are not limited.
	for range 3 {
		if resp, body := post(t, "POST", base+"/orders", "", nil); resp.StatusCode != 201 {
			t.Fatalf("createOrder: %d %s", resp.StatusCode, body)
		}
	}
	// Dispatch operations are limited too.
	msg := `{"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	for i := range 3 {
		resp, body := post(t, "POST", base+"/claude/messages", msg, map[string]string{"Content-Type": "application/json"})
		if want := map[bool]int{true: 200, false: 429}[i < 2]; resp.StatusCode != want {
			t.Fatalf("messages #%d: %d %s", i, resp.StatusCode, body)
		}
	}
}

func TestUnknownMiddlewareProfile(t *testing.T) {
	spec := strings.Replace(assistSpec, "[tight, hourly]", "[tight, nosuch]", 1)
	cfg := writeConfig(t, strings.ReplaceAll(assistConfig, "{{api}}", "http://127.0.0.1:9"), map[string]string{"assist.yaml": spec})
	_, err := app.Lint(cfg)
	if err == nil || !strings.Contains(err.Error(), `apis.assist.spec: GET /orders (listOrders): x-tidegate-middlewares: unknown profile "nosuch"`) {
		t.Fatalf("lint: %v", err)
	}
	if _, err := app.New(t.Context(), cfg, "test", nil); err == nil || !strings.Contains(err.Error(), `unknown profile "nosuch"`) {
		t.Fatalf("new: %v", err)
	}
}
