package observability_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// metricsConfig serves gpt and claude on the fake upstreams at known
// prices, a fallback model whose first target fails, and a model limited
// to one request a minute.
const metricsConfig = `
telemetry:
  metrics: {enabled: true}
pricing:
  gpt-4o-mini: {input: 1, output: 2}
  claude-sonnet-4-5: {input: 3, output: 15}
providers:
  oai: {type: openai, base_url: "{{openai}}/v1", api_key: "` + testgateway.OpenAIKey + `"}
  ant: {type: anthropic, base_url: "{{anthropic}}", api_key: "` + testgateway.AnthropicKey + `"}
models:
  gpt:     {provider: oai, model: gpt-4o-mini}
  claude:  {provider: ant, model: claude-sonnet-4-5}
  fb:      {targets: [{provider: oai, model: gpt-4o-mini}, {provider: ant, model: claude-sonnet-4-5}]}
  limited: {provider: oai, model: gpt-4o-mini, limits: {rpm: 1}}
  cached:  {provider: oai, model: gpt-4o-mini, cache: {}}
apis:
  things: {spec: things.yaml, upstream: "{{api}}"}
`

// thingsSpec is an API with one operation, served as the MCP tool getThing.
const thingsSpec = `
openapi: 3.0.3
info: {title: Things, version: 1.0.0}
paths:
  /things/{id}:
    get:
      operationId: getThing
      summary: Get a thing
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: object}}}}
`

// thingsAPI answers thing 1 and nothing else.
func thingsAPI(t *testing.T) *httptest.Server {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/things/1" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":1,"name":"one"}`))
	}))
	t.Cleanup(api.Close)
	return api
}

// callTools calls getThing once well, once for a missing thing and once
// with invalid arguments, with the official MCP client.
func callTools(t *testing.T, endpoint string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "obs-test", Version: "1.0.0"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, DisableStandaloneSSE: true}, nil)
	if err != nil {
		t.Fatalf("MCP connect: %v", err)
	}
	defer cs.Close()
	for _, c := range []struct {
		args    map[string]any
		isError bool
	}{{map[string]any{"id": 1}, false}, {map[string]any{"id": 2}, true}, {map[string]any{"id": "x"}, true}} {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "getThing", Arguments: c.args})
		if err != nil || res.IsError != c.isError {
			t.Fatalf("getThing %v: %v, %+v", c.args, err, res)
		}
	}
}

// TestMetricsAfterTraffic sends non-stream and stream requests in both
// dialects, a fallback and a 429 through a whole gateway, then checks the
// scrape: counts by route and status, tokens and cost to the token,
// upstream statuses, the fallback, the limit, streaming and overhead.
func TestMetricsAfterTraffic(t *testing.T) {
	api := thingsAPI(t)
	g := testgateway.StartFiles(t, strings.ReplaceAll(metricsConfig, "{{api}}", api.URL), map[string]string{"things.yaml": thingsSpec})
	g.OpenAI.Set(testupstream.Reply{Text: "Hi from OpenAI.", Usage: testupstream.Usage{Input: 10, Output: 5}})
	g.Anthropic.Set(testupstream.Reply{Text: "Hi from Anthropic.", Usage: testupstream.Usage{Input: 20, Output: 7}})

	send := func(path, body string, want int) {
		t.Helper()
		r := do(t, http.MethodPost, g.URL+path, body)
		if r.Status != want {
			t.Fatalf("POST %s %s: %s, want %d", path, body, r, want)
		}
	}
	send("/v1/chat/completions", chat("gpt", false), 200)     // oai 10/5
	send("/v1/chat/completions", chat("gpt", true), 200)      // oai 10/5, streamed
	send("/v1/messages", messages("claude", true), 200)       // ant 20/7, streamed
	g.OpenAI.Script(testupstream.Reply{Status: 500})          // fb: oai fails…
	send("/v1/chat/completions", chat("fb", false), 200)      // …ant answers 20/7
	send("/v1/chat/completions", chat("limited", false), 200) // oai 10/5
	send("/v1/chat/completions", chat("limited", false), 429) // rpm: 1
	send("/v1/chat/completions", chat("no-such-model", false), 404)
	send("/v1/chat/completions", chat("cached", false), 200) // miss: oai 10/5
	send("/v1/chat/completions", chat("cached", false), 200) // hit: no upstream call
	callTools(t, g.URL+"/mcp/things")

	var s scrape
	settled := eventually(t, 5*time.Second, func() bool {
		s = scrapeMetrics(t, g.URL+"/metrics", "")
		n, _ := s.value("tidegate_http_requests_total", labels("method", "POST", "path", "/v1/chat/completions", "status", "200"))
		busy := s.sum("tidegate_http_requests_in_flight", labels("path", "/v1/chat/completions"))
		return n == 6 && busy == 0
	})
	if !settled {
		t.Fatalf("chat requests never all recorded:\n%s\n%s", s.dump("tidegate_http_requests_total"), s.dump("tidegate_http_requests_in_flight"))
	}

	exact := func(name string, want float64, kv ...string) {
		t.Helper()
		got, ok := s.value(name, labels(kv...))
		if !ok || math.Abs(got-want) > 1e-12 {
			t.Errorf("%s%v = %v (present %v), want %v\n%s", name, kv, got, ok, want, s.dump(name))
		}
	}
	atLeast := func(name string, min float64, kv ...string) {
		t.Helper()
		if got := s.sum(name, labels(kv...)); got < min {
			t.Errorf("%s%v = %v, want at least %v\n%s", name, kv, got, min, s.dump(name))
		}
	}

	t.Run("http", func(t *testing.T) {
		exact("tidegate_http_requests_total", 1, "method", "POST", "path", "/v1/chat/completions", "status", "429")
		exact("tidegate_http_requests_total", 1, "method", "POST", "path", "/v1/chat/completions", "status", "404")
		exact("tidegate_http_requests_total", 1, "method", "POST", "path", "/v1/messages", "status", "200")
		exact("tidegate_http_request_duration_seconds", 8, "method", "POST", "path", "/v1/chat/completions")
		exact("tidegate_http_requests_in_flight", 0, "method", "POST", "path", "/v1/messages")
		// Only route patterns: no raw path ever becomes a label.
		for _, m := range s["tidegate_http_requests_total"].Metric {
			for _, l := range m.Label {
				if l.GetName() == "path" && strings.Contains(l.GetValue(), "no-such") {
					t.Errorf("raw path in a label: %v", l)
				}
			}
		}
	})
	t.Run("tokens and cost", func(t *testing.T) {
		exact("tidegate_tokens_total", 40, "provider", "oai", "model", "gpt-4o-mini", "type", "input")
		exact("tidegate_tokens_total", 20, "provider", "oai", "model", "gpt-4o-mini", "type", "output")
		exact("tidegate_tokens_total", 40, "provider", "ant", "model", "claude-sonnet-4-5", "type", "input")
		exact("tidegate_tokens_total", 14, "provider", "ant", "model", "claude-sonnet-4-5", "type", "output")
		exact("tidegate_cost_dollars_total", (40*1+20*2)/1e6, "provider", "oai", "model", "gpt-4o-mini")
		exact("tidegate_cost_dollars_total", (40*3+14*15)/1e6, "provider", "ant", "model", "claude-sonnet-4-5")
	})
	t.Run("upstream", func(t *testing.T) {
		oai := []string{"upstream", "oai/gpt-4o-mini", "provider", "oai"}
		exact("tidegate_upstream_requests_total", 4, append(oai, "status", "200")...)
		exact("tidegate_upstream_requests_total", 1, append(oai, "status", "500")...)
		exact("tidegate_upstream_requests_total", 2, "upstream", "ant/claude-sonnet-4-5", "provider", "ant", "status", "200")
		exact("tidegate_upstream_errors_total", 1, "upstream", "oai/gpt-4o-mini")
		exact("tidegate_upstream_ttfb_seconds", 4, oai...)
		exact("tidegate_upstream_request_duration_seconds", 5, oai...)
		exact("tidegate_fallbacks_total", 1, "model", "fb", "from", "oai/gpt-4o-mini", "to", "ant/claude-sonnet-4-5")
		exact("tidegate_circuit_state", 0, "target", "oai/gpt-4o-mini")
	})
	t.Run("streaming", func(t *testing.T) {
		exact("tidegate_streaming_duration_seconds", 1, "provider", "oai")
		exact("tidegate_streaming_duration_seconds", 1, "provider", "ant")
		atLeast("tidegate_streaming_events_total", 3, "provider", "oai")
		atLeast("tidegate_streaming_events_total", 3, "provider", "ant")
		atLeast("tidegate_streaming_bytes_total", 100, "provider", "ant")
	})
	t.Run("governance", func(t *testing.T) {
		exact("tidegate_rate_limit_exceeded_total", 1, "key_name", "")
		// Model limits need a gate but no keys: every LLM request is an
		// anonymous caller, the unknown model's included.
		exact("tidegate_auth_requests_total", 9, "result", "anonymous")
	})
	t.Run("mcp", func(t *testing.T) {
		exact("tidegate_mcp_tool_calls_total", 1, "api", "things", "tool", "getThing", "status", "ok")
		exact("tidegate_mcp_tool_calls_total", 2, "api", "things", "tool", "getThing", "status", "error")
		atLeast("tidegate_http_requests_total", 4, "path", "/mcp/things", "status", "200") // initialize, initialized, 3 calls
	})
	t.Run("overhead", func(t *testing.T) {
		exact("tidegate_gateway_overhead_seconds", 6) // not the cache hit: no upstream
	})
	t.Run("cache", func(t *testing.T) {
		exact("tidegate_cache_requests_total", 1, "result", "miss")
		exact("tidegate_cache_requests_total", 1, "result", "hit")
	})
	t.Run("dashboard", func(t *testing.T) { checkDashboard(t, s) })
}

// TestMetricsBearer: with a token, a scrape without it is a 401.
func TestMetricsBearer(t *testing.T) {
	const token = "scrape-token-0123456789"
	g := testgateway.Start(t, `
telemetry:
  metrics: {enabled: true, path: /internal/metrics, bearer_token: "`+token+`"}
providers:
  echo: {type: echo}
models:
  echo: {provider: echo, model: echo}
`)
	if r := do(t, http.MethodPost, g.URL+"/v1/chat/completions", chat("echo", false)); r.Status != 200 {
		t.Fatalf("echo: %s", r)
	}
	for _, h := range [][]string{nil, {"Authorization", "Bearer wrong-token-0123456789"}, {"Authorization", token}} {
		r := do(t, http.MethodGet, g.URL+"/internal/metrics", "", h...)
		if r.Status != http.StatusUnauthorized || strings.Contains(r.Body, "tidegate_") {
			t.Errorf("scrape with %v: %s, want 401 and no metrics", h, r)
		}
	}
	s := scrapeMetrics(t, g.URL+"/internal/metrics", token)
	if v, _ := s.value("tidegate_http_requests_total", labels("path", "/internal/metrics", "status", "401")); v != 3 {
		t.Errorf("refused scrapes counted %v, want 3\n%s", v, s.dump("tidegate_http_requests_total"))
	}
	if _, ok := s["go_goroutines"]; !ok {
		t.Errorf("no Go runtime metrics in the scrape")
	}
	if r := do(t, http.MethodGet, g.URL+"/metrics", ""); r.Status != http.StatusNotFound {
		t.Errorf("GET /metrics with path /internal/metrics: %s, want 404", r)
	}
}

// TestMetricsOnByDefault: without telemetry.metrics the endpoint is
// served; enabled: false removes it.
func TestMetricsOnByDefault(t *testing.T) {
	g := testgateway.Start(t, "")
	if r := do(t, http.MethodGet, g.URL+"/metrics", ""); r.Status != http.StatusOK || !strings.Contains(r.Body, "tidegate_http_requests_total") {
		t.Fatalf("GET /metrics without telemetry configured: %s, want 200 with the gateway's metrics", r)
	}
	off := testgateway.Start(t, strings.Replace(testgateway.DefaultConfig, "providers:", "telemetry:\n  metrics: {enabled: false}\nproviders:", 1))
	if r := do(t, http.MethodGet, off.URL+"/metrics", ""); r.Status != http.StatusNotFound {
		t.Fatalf("GET /metrics with metrics disabled: %s, want 404", r)
	}
}
