package observability_test

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tidegate/tidegate/internal/app"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// collector is an OTLP/HTTP trace receiver: it decodes each export
// request (protobuf) and keeps the spans with their service name.
type collector struct {
	*httptest.Server
	mu      sync.Mutex
	spans   []*tracepb.Span
	service map[string]bool
	paths   map[string]bool
}

func newCollector(t *testing.T) *collector {
	c := &collector{service: map[string]bool{}, paths: map[string]bool{}}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(body, &req)
		}
		if err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("collector: %s %s %s: %v", r.Method, r.URL.Path, r.Header.Get("Content-Type"), err)
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.paths[r.URL.Path] = true
		for _, rs := range req.ResourceSpans {
			for _, a := range rs.GetResource().GetAttributes() {
				if a.Key == "service.name" {
					c.service[a.GetValue().GetStringValue()] = true
				}
			}
			for _, ss := range rs.ScopeSpans {
				c.spans = append(c.spans, ss.Spans...)
			}
		}
		c.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *collector) all() []*tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*tracepb.Span(nil), c.spans...)
}

func attrs(s *tracepb.Span) map[string]any {
	out := map[string]any{}
	for _, a := range s.Attributes {
		out[a.Key] = value(a.Value)
	}
	return out
}

func value(v *commonpb.AnyValue) any {
	switch x := v.Value.(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	}
	return v.String()
}

func checkAttrs(t *testing.T, what string, s *tracepb.Span, want map[string]any) {
	t.Helper()
	got := attrs(s)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s = %#v, want %#v (all: %v)", what, k, got[k], v, got)
		}
	}
}

const tracingConfig = `
telemetry:
  tracing: {enabled: true, endpoint: "%s", service_name: tidegate-trace-test}
  logging: {format: json, access_log: true}
providers:
  oai: {type: openai, base_url: "{{openai}}/v1", api_key: "` + testgateway.OpenAIKey + `"}
  ant: {type: anthropic, base_url: "{{anthropic}}", api_key: "` + testgateway.AnthropicKey + `"}
models:
  gpt:    {provider: oai, model: gpt-4o-mini}
  claude: {provider: ant, model: claude-sonnet-4-5}
  fb:     {targets: [{provider: oai, model: gpt-4o-mini}, {provider: ant, model: claude-sonnet-4-5}]}
`

// TestTraces: the spans a real OTLP/HTTP collector receives: a server
// span per request continuing the caller's traceparent, a client span per
// upstream attempt with the GenAI attributes (a failed attempt marked as
// an error), and the attempt's traceparent at the upstream.
func TestTraces(t *testing.T) {
	col := newCollector(t)
	logs := &logBuffer{}
	g := testgateway.StartLogged(t, fmt.Sprintf(tracingConfig, col.URL), app.NewLogger(config.Logging{Format: config.LogJSON}, logs))
	g.OpenAI.Set(testupstream.Reply{Text: "Hi.", Usage: testupstream.Usage{Input: 10, Output: 5}})
	g.Anthropic.Set(testupstream.Reply{Text: "Hello.", Usage: testupstream.Usage{Input: 20, Output: 7}})

	const callerTrace, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	r := do(t, http.MethodPost, g.URL+"/v1/chat/completions", chat("gpt", false), "traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
	if r.Status != 200 {
		t.Fatalf("gpt: %s", r)
	}
	if r := do(t, http.MethodPost, g.URL+"/v1/messages", messages("claude", true)); r.Status != 200 {
		t.Fatalf("claude stream: %s", r)
	}
	g.OpenAI.Script(testupstream.Reply{Status: 500})
	if r := do(t, http.MethodPost, g.URL+"/v1/chat/completions", chat("fb", false)); r.Status != 200 {
		t.Fatalf("fb: %s", r)
	}

	var spans []*tracepb.Span
	if !eventually(t, 10*time.Second, func() bool { spans = col.all(); return len(spans) >= 7 }) {
		t.Fatalf("collector received %d spans, want 3 server + 4 client", len(spans))
	}
	col.mu.Lock()
	if !col.service["tidegate-trace-test"] || !col.paths["/v1/traces"] {
		t.Errorf("exports: services %v, paths %v; want service.name tidegate-trace-test at /v1/traces", col.service, col.paths)
	}
	col.mu.Unlock()

	id := func(b []byte) string { return hex.EncodeToString(b) }
	byParent := map[string][]*tracepb.Span{}
	var servers []*tracepb.Span
	for _, s := range spans {
		byParent[id(s.ParentSpanId)] = append(byParent[id(s.ParentSpanId)], s)
		if s.Kind == tracepb.Span_SPAN_KIND_SERVER {
			servers = append(servers, s)
		}
	}
	if len(servers) != 3 {
		t.Fatalf("%d server spans, want 3", len(servers))
	}
	// Server spans in request order.
	find := func(model string) *tracepb.Span {
		for _, s := range servers {
			if attrs(s)["gen_ai.request.model"] == model {
				return s
			}
		}
		t.Fatalf("no server span for model %s", model)
		return nil
	}
	upstreamParent := func(up *testupstream.Server, i int) string {
		reqs := up.Requests()
		var posts []testupstream.Recorded
		for _, r := range reqs {
			if r.Method == http.MethodPost {
				posts = append(posts, r)
			}
		}
		if i >= len(posts) {
			t.Fatalf("upstream got %d POSTs, want more than %d", len(posts), i)
		}
		return posts[i].Header.Get("traceparent")
	}

	t.Run("caller's trace continued", func(t *testing.T) {
		srv := find("gpt")
		if id(srv.TraceId) != callerTrace || id(srv.ParentSpanId) != callerSpan {
			t.Errorf("server span trace %s parent %s, want the caller's %s / %s", id(srv.TraceId), id(srv.ParentSpanId), callerTrace, callerSpan)
		}
		if srv.Name != "POST /v1/chat/completions" {
			t.Errorf("server span name %q", srv.Name)
		}
		checkAttrs(t, "server span", srv, map[string]any{"http.route": "POST /v1/chat/completions", "http.response.status_code": int64(200),
			"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt", "gen_ai.provider.name": "openai",
			"gen_ai.response.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": int64(10), "gen_ai.usage.output_tokens": int64(5)})
		kids := byParent[id(srv.SpanId)]
		if len(kids) != 1 || kids[0].Kind != tracepb.Span_SPAN_KIND_CLIENT {
			t.Fatalf("server span has %d children, want one client span", len(kids))
		}
		cl := kids[0]
		if cl.Name != "chat gpt-4o-mini" {
			t.Errorf("client span name %q", cl.Name)
		}
		checkAttrs(t, "client span", cl, map[string]any{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
			"gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini",
			"gen_ai.usage.input_tokens": int64(10), "gen_ai.usage.output_tokens": int64(5)})
		if want := "00-" + callerTrace + "-" + id(cl.SpanId) + "-01"; upstreamParent(g.OpenAI, 0) != want {
			t.Errorf("upstream traceparent %q, want %q", upstreamParent(g.OpenAI, 0), want)
		}
		lines := logs.requests(t, "/v1/chat/completions")
		if len(lines) == 0 || lines[0]["trace_id"] != callerTrace || lines[0]["model"] != "gpt" {
			t.Errorf("access line of the traced request: %v, want trace_id %s", lines, callerTrace)
		}
	})
	t.Run("stream", func(t *testing.T) {
		srv := find("claude")
		if len(srv.ParentSpanId) != 0 {
			t.Errorf("server span of a request without traceparent has parent %s", id(srv.ParentSpanId))
		}
		kids := byParent[id(srv.SpanId)]
		if len(kids) != 1 {
			t.Fatalf("%d client spans, want 1", len(kids))
		}
		checkAttrs(t, "stream client span", kids[0], map[string]any{"gen_ai.provider.name": "anthropic",
			"gen_ai.request.model": "claude-sonnet-4-5", "gen_ai.usage.input_tokens": int64(20), "gen_ai.usage.output_tokens": int64(7)})
		if kids[0].EndTimeUnixNano < kids[0].StartTimeUnixNano || kids[0].Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
			t.Errorf("stream span: %v", kids[0])
		}
		if want := "00-" + id(srv.TraceId) + "-" + id(kids[0].SpanId) + "-01"; upstreamParent(g.Anthropic, 0) != want {
			t.Errorf("upstream traceparent %q, want %q", upstreamParent(g.Anthropic, 0), want)
		}
	})
	t.Run("fallback", func(t *testing.T) {
		srv := find("fb")
		kids := byParent[id(srv.SpanId)]
		if len(kids) != 2 {
			t.Fatalf("%d client spans, want 2 (the failed attempt and the fallback)", len(kids))
		}
		var failed, ok *tracepb.Span
		for _, k := range kids {
			if k.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
				failed = k
			} else {
				ok = k
			}
		}
		if failed == nil || ok == nil {
			t.Fatalf("want one failed and one good attempt: %v", kids)
		}
		checkAttrs(t, "failed attempt", failed, map[string]any{"gen_ai.provider.name": "openai", "http.response.status_code": int64(500)})
		if attrs(failed)["error.type"] == nil {
			t.Errorf("failed attempt without error.type: %v", attrs(failed))
		}
		checkAttrs(t, "fallback attempt", ok, map[string]any{"gen_ai.provider.name": "anthropic", "gen_ai.usage.input_tokens": int64(20)})
		checkAttrs(t, "server span", srv, map[string]any{"tidegate.attempts": int64(2), "gen_ai.response.model": "claude-sonnet-4-5"})
		if tp := upstreamParent(g.OpenAI, 1); !strings.Contains(tp, id(failed.SpanId)) {
			t.Errorf("failed attempt's upstream traceparent %q does not name its span %s", tp, id(failed.SpanId))
		}
	})
}

// TestNoTracingNoTraceparent: without tracing nothing is propagated (and
// no exporter runs).
func TestNoTracingNoTraceparent(t *testing.T) {
	g := testgateway.Start(t, "")
	r := do(t, http.MethodPost, g.URL+"/v1/chat/completions", chat("gpt", false), "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if r.Status != 200 {
		t.Fatalf("gpt: %s", r)
	}
	if tp := g.OpenAI.Last().Header.Get("traceparent"); tp != "" {
		t.Errorf("traceparent %q sent upstream with tracing off", tp)
	}
}

// TestTracesAPIs: with tracing on, an API's HTTP proxy and its MCP tools
// send the gateway's server span as the upstream's parent, replacing the
// caller's traceparent.
func TestTracesAPIs(t *testing.T) {
	col := newCollector(t)
	var mu sync.Mutex
	var parents []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		parents = append(parents, r.Header.Get("traceparent"))
		mu.Unlock()
		if r.URL.Path != "/things/1" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":1}`))
	}))
	t.Cleanup(api.Close)
	cfg := fmt.Sprintf(`
telemetry:
  tracing: {enabled: true, endpoint: "%s"}
providers:
  echo: {type: echo}
models:
  echo: {provider: echo, model: echo}
apis:
  things: {spec: things.yaml, upstream: "%s"}
`, col.URL, api.URL)
	g := testgateway.StartFiles(t, cfg, map[string]string{"things.yaml": thingsSpec})

	const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	if r := do(t, http.MethodGet, g.URL+"/apis/things/things/1", "", "traceparent", "00-"+callerTrace+"-00f067aa0ba902b7-01"); r.Status != 200 {
		t.Fatalf("proxy: %s", r)
	}
	callTools(t, g.URL+"/mcp/things") // one call reaches the API (id 1); the others fail before or at it

	var spans []*tracepb.Span
	servers := map[string]*tracepb.Span{} // span id → server span
	eventually(t, 10*time.Second, func() bool {
		spans = col.all()
		for _, s := range spans {
			if s.Kind == tracepb.Span_SPAN_KIND_SERVER {
				servers[hex.EncodeToString(s.SpanId)] = s
			}
		}
		mu.Lock()
		defer mu.Unlock()
		return len(parents) >= 3 && len(servers) >= 4
	})
	mu.Lock()
	defer mu.Unlock()
	if len(parents) < 2 {
		t.Fatalf("the API got %d requests, want the proxied one and the tool calls", len(parents))
	}
	for i, tp := range parents {
		parts := strings.Split(tp, "-")
		if len(parts) != 4 {
			t.Errorf("API request %d: traceparent %q", i, tp)
			continue
		}
		srv := servers[parts[2]]
		if srv == nil {
			t.Errorf("API request %d: parent %s is none of the gateway's server spans", i, parts[2])
			continue
		}
		if i == 0 && (parts[1] != callerTrace || !strings.HasPrefix(srv.Name, "/apis/things")) {
			t.Errorf("proxied request: traceparent %q from span %q, want the caller's trace through the proxy's span", tp, srv.Name)
		}
		if i > 0 && srv.Name != "/mcp/things" {
			t.Errorf("tool call: parent span %q, want the MCP endpoint's", srv.Name)
		}
	}
}
