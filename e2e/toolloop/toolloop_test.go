// Package toolloop_test drives the outbound MCP tool loop end to end: a
// go-sdk MCP server and an apis: API attached to public models, a fake
// upstream model that first calls their tools and then answers, and the
// official OpenAI and Anthropic SDKs as clients that know nothing of MCP.
package toolloop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// weather is a go-sdk MCP server with two tools; it records the calls and
// the credential they came with.
type weather struct {
	*httptest.Server
	mu      sync.Mutex
	calls   []string
	auth    []string
	handler http.Handler
	restart func() // a new handler: every session is forgotten
}

func newWeather(t *testing.T) *weather {
	w := &weather{}
	srv := sdk.NewServer(&sdk.Implementation{Name: "weather", Version: "1.0.0"}, nil)
	type in struct {
		City string `json:"city" jsonschema:"the city"`
	}
	sdk.AddTool(srv, &sdk.Tool{Name: "forecast", Description: "Tomorrow's weather in a city"},
		func(ctx context.Context, req *sdk.CallToolRequest, args in) (*sdk.CallToolResult, any, error) {
			w.mu.Lock()
			w.calls = append(w.calls, "forecast:"+args.City)
			w.mu.Unlock()
			if args.City == "Atlantis" {
				return &sdk.CallToolResult{IsError: true, Content: []sdk.Content{&sdk.TextContent{Text: "no such city"}}}, nil, nil
			}
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "Sunny in " + args.City + ", 21°C"}}}, nil, nil
		})
	sdk.AddTool(srv, &sdk.Tool{Name: "alerts", Description: "Storm alerts (not allowed to models)"},
		func(ctx context.Context, req *sdk.CallToolRequest, args in) (*sdk.CallToolResult, any, error) {
			w.mu.Lock()
			w.calls = append(w.calls, "alerts:"+args.City)
			w.mu.Unlock()
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "none"}}}, nil, nil
		})
	w.restart = func() {
		h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, nil)
		w.mu.Lock()
		w.handler = h
		w.mu.Unlock()
	}
	w.restart()
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.auth = append(w.auth, r.Header.Get("Authorization"))
		h := w.handler
		w.mu.Unlock()
		h.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.Close)
	return w
}

func (w *weather) seen() ([]string, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.calls...), append([]string(nil), w.auth...)
}

const ordersSpec = `
openapi: 3.0.3
info: {title: Orders, version: "1"}
paths:
  /orders/{id}:
    get:
      operationId: getOrder
      summary: Get an order
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses: {'200': {description: ok, content: {application/json: {schema: {type: object}}}}}
`

const loopConfig = testgateway.DefaultConfig + `
  shallow: {provider: oai, model: gpt-4o-mini}
apis:
  orders: {spec: orders.yaml, upstream: "{{orders}}"}
mcp_servers:
  weather:
    url: "{{weather}}/mcp"
    headers: {Authorization: "Bearer weather-token"}
    allowed_tools: [forecast]
tool_loops:
  gpt: {mcp_servers: [weather], apis: [orders]}
  claude: {mcp_servers: [weather], apis: [orders], max_call_depth: 3}
  shallow: {mcp_servers: [weather], max_call_depth: 1}
`

func ordersAPI(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id": %s, "item": "green tea", "status": "shipped"}`, r.PathValue("id"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func start(t *testing.T, extra string) (*testgateway.Gateway, *weather) {
	t.Helper()
	w := newWeather(t)
	cfg := strings.NewReplacer("{{weather}}", w.URL, "{{orders}}", ordersAPI(t).URL).Replace(loopConfig + extra)
	return testgateway.StartFiles(t, cfg, map[string]string{"orders.yaml": ordersSpec}), w
}

func oai(g *testgateway.Gateway) openai.Client {
	return openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey("caller-key"), option.WithMaxRetries(0))
}

// toolResults are the tool messages' contents of an upstream OpenAI
// request, by tool_call_id.
func toolResults(body []byte) map[string]string {
	out := map[string]string{}
	gjson.GetBytes(body, `messages.#(role=="tool")#`).ForEach(func(_, m gjson.Result) bool {
		out[m.Get("tool_call_id").String()] = m.Get("content").String()
		return true
	})
	return out
}

func TestOpenAIClientToolLoop(t *testing.T) {
	g, w := start(t, "")
	g.OpenAI.Script(
		testupstream.Reply{ToolCalls: []testupstream.ToolCall{
			{ID: "call_w", Name: "weather__forecast", Args: `{"city":"Paris"}`},
			{ID: "call_o", Name: "orders__getOrder", Args: `{"id":7}`},
		}, Usage: testupstream.Usage{Input: 100, Output: 20}},
		testupstream.Reply{Text: "Sunny in Paris; order 7 (green tea) has shipped.", Usage: testupstream.Usage{Input: 160, Output: 12}},
	)
	c := oai(g)
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gpt",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris, and where is order 7?")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "Sunny in Paris; order 7 (green tea) has shipped." || resp.Choices[0].FinishReason != "stop" {
		t.Fatalf("answer: %q %s", got, resp.Choices[0].FinishReason)
	}
	if resp.Usage.PromptTokens != 260 || resp.Usage.CompletionTokens != 32 {
		t.Fatalf("usage is not the sum of both rounds: %+v", resp.Usage)
	}
	reqs := g.OpenAI.Requests()
	if len(reqs) != 2 {
		t.Fatalf("the model was asked %d times", len(reqs))
	}
	var names []string
	gjson.GetBytes(reqs[0].Body, "tools.#.function.name").ForEach(func(_, v gjson.Result) bool { names = append(names, v.String()); return true })
	if strings.Join(names, ",") != "weather__forecast,orders__getOrder" {
		t.Fatalf("tools offered: %v (alerts is not allowed)", names)
	}
	if s := gjson.GetBytes(reqs[0].Body, `tools.#(function.name=="orders__getOrder").function.parameters.properties.id.type`).String(); s != "integer" {
		t.Fatalf("getOrder's schema: %s", reqs[0].Body)
	}
	if gjson.GetBytes(reqs[0].Body, "stream").Bool() {
		t.Fatal("inner rounds must not stream")
	}
	results := toolResults(reqs[1].Body)
	if results["call_w"] != "Sunny in Paris, 21°C" || !strings.Contains(results["call_o"], `"item": "green tea"`) {
		t.Fatalf("tool results sent to the model: %v", results)
	}
	if n := gjson.GetBytes(reqs[1].Body, `messages.#(role=="assistant").tool_calls.#`).Int(); n != 2 {
		t.Fatalf("the assistant's tool calls were not replayed: %s", reqs[1].Body)
	}
	calls, auth := w.seen()
	if strings.Join(calls, ",") != "forecast:Paris" {
		t.Fatalf("MCP server calls: %v", calls)
	}
	for _, a := range auth {
		if a != "Bearer weather-token" {
			t.Fatalf("the MCP server got Authorization %q", a)
		}
	}
}

func TestAnthropicStreamingClientToolLoop(t *testing.T) {
	g, w := start(t, "")
	g.Anthropic.Script(
		testupstream.Reply{ToolCalls: []testupstream.ToolCall{{ID: "toolu_1", Name: "weather__forecast", Args: `{"city":"Atlantis"}`}}},
		testupstream.Reply{ToolCalls: []testupstream.ToolCall{{ID: "toolu_2", Name: "weather__forecast", Args: `{"city":"Oslo"}`}}},
		testupstream.Reply{Text: "Atlantis is unknown; Oslo will be sunny."},
	)
	c := anthropic.NewClient(aoption.WithoutEnvironmentDefaults(), aoption.WithBaseURL(g.URL), aoption.WithAPIKey("caller-key"), aoption.WithMaxRetries(0))
	stream := c.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{
		Model:     "claude",
		MaxTokens: 500,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Atlantis, else Oslo?"))},
	})
	var msg anthropic.Message
	events := 0
	for stream.Next() {
		events++
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "Atlantis is unknown; Oslo will be sunny." || msg.StopReason != "end_turn" || events < 5 {
		t.Fatalf("streamed answer: %+v (%d events)", msg, events)
	}
	reqs := g.Anthropic.Requests()
	if len(reqs) != 3 {
		t.Fatalf("the model was asked %d times", len(reqs))
	}
	// The failed call's result is an error the model can read.
	res := gjson.GetBytes(reqs[1].Body, `messages.#(role=="user")#.content.#(type=="tool_result")#`)
	if !strings.Contains(res.Raw, `"is_error":true`) || !strings.Contains(res.Raw, "no such city") || !strings.Contains(res.Raw, "toolu_1") {
		t.Fatalf("tool_result of the failed call: %s", reqs[1].Body)
	}
	if !strings.Contains(string(reqs[2].Body), "Sunny in Oslo") {
		t.Fatalf("third round lacks the second result: %s", reqs[2].Body)
	}
	if calls, _ := w.seen(); strings.Join(calls, ",") != "forecast:Atlantis,forecast:Oslo" {
		t.Fatalf("MCP calls: %v", calls)
	}
}

// After max_call_depth rounds the model is asked with tool_choice none;
// a model that still calls tools gets its calls dropped.
func TestMaxCallDepth(t *testing.T) {
	g, w := start(t, "")
	call := testupstream.Reply{ToolCalls: []testupstream.ToolCall{{ID: "c1", Name: "weather__forecast", Args: `{"city":"Rome"}`}}}
	g.OpenAI.Script(call, testupstream.Reply{Text: "Rome: sunny.", ToolCalls: []testupstream.ToolCall{{ID: "c2", Name: "weather__forecast", Args: `{"city":"Rome"}`}}})
	c := oai(g)
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "shallow", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Rome?")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if m := resp.Choices[0].Message; m.Content != "Rome: sunny." || len(m.ToolCalls) != 0 || resp.Choices[0].FinishReason != "stop" {
		t.Fatalf("answer: %+v %s", m, resp.Choices[0].FinishReason)
	}
	reqs := g.OpenAI.Requests()
	if len(reqs) != 2 || gjson.GetBytes(reqs[1].Body, "tool_choice").String() != "none" || gjson.GetBytes(reqs[0].Body, "tool_choice").Exists() {
		t.Fatalf("tool_choice per round: %d requests, %s / %s", len(reqs), gjson.GetBytes(reqs[0].Body, "tool_choice"), gjson.GetBytes(reqs[1].Body, "tool_choice"))
	}
	if calls, _ := w.seen(); len(calls) != 1 {
		t.Fatalf("MCP calls: %v", calls)
	}
}

// A call of the caller's own tool goes back to the caller (in the
// caller's dialect, streamed when asked), and a caller tool may not take
// a gateway tool's name.
func TestCallerToolsGoBackToTheCaller(t *testing.T) {
	g, w := start(t, "")
	g.OpenAI.Script(testupstream.Reply{ToolCalls: []testupstream.ToolCall{
		{ID: "c1", Name: "weather__forecast", Args: `{"city":"Lima"}`},
		{ID: "c2", Name: "get_time", Args: `{"tz":"America/Lima"}`},
	}})
	c := oai(g)
	stream := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gpt",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Time and weather in Lima?")},
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
			Name: "get_time", Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{"tz": map[string]any{"type": "string"}}},
		})},
	})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	choice := acc.Choices[0]
	if len(choice.Message.ToolCalls) != 1 || choice.Message.ToolCalls[0].Function.Name != "get_time" || choice.FinishReason != "tool_calls" {
		t.Fatalf("returned: %+v", choice)
	}
	if calls, _ := w.seen(); len(calls) != 0 || len(g.OpenAI.Requests()) != 1 {
		t.Fatalf("the gateway ran %v and asked %d times", calls, len(g.OpenAI.Requests()))
	}

	_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gpt",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		Tools:    []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{Name: "weather__forecast"})},
	})
	var apiErr *openai.Error
	if !errorsAs(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "taken by a tool the gateway offers") {
		t.Fatalf("a colliding caller tool: %v", err)
	}
}

// With keys, each tool call is admitted like a request of model
// mcp:<server>/<tool>: a key whose allowlist lacks it gets error results
// (the model is told), and every call is in the usage log.
func TestToolCallsAreGoverned(t *testing.T) {
	const admin = "tg-admin-toolloop-0123456789"
	db := filepath.Join(t.TempDir(), "tidegate.db")
	g, w := start(t, `
auth: keys
store: "sqlite://`+db+`"
admin_keys: [{name: e2e, key: `+admin+`, scope: admin}]
`)
	newKey := func(models ...string) string {
		body, _ := json.Marshal(map[string]any{"name": "k", "models": models})
		req, _ := http.NewRequest("POST", g.URL+"/admin/keys", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var k struct{ Key string }
		if err := json.NewDecoder(resp.Body).Decode(&k); err != nil || k.Key == "" {
			t.Fatalf("create key: %d %v", resp.StatusCode, err)
		}
		return k.Key
	}
	ask := func(key string) {
		t.Helper()
		g.OpenAI.Script(
			testupstream.Reply{ToolCalls: []testupstream.ToolCall{{ID: "c1", Name: "weather__forecast", Args: `{"city":"Kyiv"}`}}},
			testupstream.Reply{Text: "done"},
		)
		c := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(key), option.WithMaxRetries(0))
		if _, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model: "gpt", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Kyiv?")},
		}); err != nil {
			t.Fatal(err)
		}
	}
	ask(newKey("gpt"))
	last := g.OpenAI.Last().Body
	if r := toolResults(last)["c1"]; !strings.Contains(r, "refused") || !strings.Contains(r, "mcp:weather/forecast") {
		t.Fatalf("refused tool call's result: %q", r)
	}
	if calls, _ := w.seen(); len(calls) != 0 {
		t.Fatalf("a refused call reached the MCP server: %v", calls)
	}
	ask(newKey("gpt", "mcp:weather/*"))
	if r := toolResults(g.OpenAI.Last().Body)["c1"]; r != "Sunny in Kyiv, 21°C" {
		t.Fatalf("allowed tool call's result: %q", r)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		req, _ := http.NewRequest("GET", g.URL+"/admin/logs?limit=50", nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var logs struct {
			Data []struct {
				Model   string
				Status  int
				Refused bool
			}
		}
		err = json.NewDecoder(resp.Body).Decode(&logs)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, r := range logs.Data {
			count[fmt.Sprintf("%s %d %v", r.Model, r.Status, r.Refused)]++
		}
		if count["mcp:weather/forecast 200 false"] == 1 && count["mcp:weather/forecast 403 true"] == 1 && count["gpt 200 false"] == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("usage log: %v", count)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// An auth: keys API offered as tools: the caller's key is what the API's
// Guard checks (its allowlist must name api:<api>/…), and it never goes
// upstream.
func TestKeysAPIInTheLoop(t *testing.T) {
	const admin = "tg-admin-toolloop-keys-0123456789"
	var mu sync.Mutex
	var seen []http.Header
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id": %s, "item": "green tea"}`, strings.TrimPrefix(r.URL.Path, "/orders/"))
	}))
	t.Cleanup(upstream.Close)
	db := filepath.Join(t.TempDir(), "tidegate.db")
	cfg := testgateway.DefaultConfig + `
auth: keys
store: "sqlite://` + db + `"
admin_keys: [{name: e2e, key: ` + admin + `, scope: admin}]
apis:
  billing: {spec: orders.yaml, upstream: "` + upstream.URL + `", auth: keys, headers: {Authorization: "Bearer service-token"}}
tool_loops:
  gpt: {apis: [billing]}
`
	g := testgateway.StartFiles(t, cfg, map[string]string{"orders.yaml": ordersSpec})
	newKey := func(models ...string) string {
		body, _ := json.Marshal(map[string]any{"name": "k", "models": models})
		req, _ := http.NewRequest("POST", g.URL+"/admin/keys", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var k struct{ Key string }
		if err := json.NewDecoder(resp.Body).Decode(&k); err != nil || k.Key == "" {
			t.Fatalf("create key: %d %v", resp.StatusCode, err)
		}
		return k.Key
	}
	ask := func(key string) string {
		t.Helper()
		g.OpenAI.Script(
			testupstream.Reply{ToolCalls: []testupstream.ToolCall{{ID: "c1", Name: "billing__getOrder", Args: `{"id":12}`}}},
			testupstream.Reply{Text: "done"},
		)
		c := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(key), option.WithMaxRetries(0))
		if _, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model: "gpt", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("order 12?")},
		}); err != nil {
			t.Fatal(err)
		}
		return toolResults(g.OpenAI.Last().Body)["c1"]
	}
	// The loop lets the tool call through, but the API's own Guard does
	// not: the key may not use api:billing/getOrder.
	if r := ask(newKey("gpt", "mcp:*/*")); !strings.Contains(r, "may not use model") || !strings.Contains(r, "api:billing/getOrder") {
		t.Fatalf("without the API in the allowlist: %q", r)
	}
	key := newKey("gpt", "mcp:*/*", "api:billing/*")
	if r := ask(key); !strings.Contains(r, `"item": "green tea"`) {
		t.Fatalf("with it: %q", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0].Get("Authorization") != "Bearer service-token" || strings.Contains(fmt.Sprint(seen[0]), key) {
		t.Fatalf("upstream headers: %v", seen)
	}
}

// The MCP server restarts (its sessions are gone): the next call opens a
// new session and runs; the model never sees the hiccup.
func TestMCPServerRestart(t *testing.T) {
	g, w := start(t, "")
	round := func(city string) string {
		t.Helper()
		g.OpenAI.Script(
			testupstream.Reply{ToolCalls: []testupstream.ToolCall{{ID: "c1", Name: "weather__forecast", Args: `{"city":"` + city + `"}`}}},
			testupstream.Reply{Text: "ok"},
		)
		c := oai(g)
		if _, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model: "gpt", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(city + "?")},
		}); err != nil {
			t.Fatal(err)
		}
		return toolResults(g.OpenAI.Last().Body)["c1"]
	}
	if r := round("Paris"); r != "Sunny in Paris, 21°C" {
		t.Fatalf("before: %q", r)
	}
	w.restart()
	if r := round("Berlin"); r != "Sunny in Berlin, 21°C" {
		t.Fatalf("after the restart: %q", r)
	}
	if calls, _ := w.seen(); strings.Join(calls, ",") != "forecast:Paris,forecast:Berlin" {
		t.Fatalf("calls: %v", calls)
	}
}
