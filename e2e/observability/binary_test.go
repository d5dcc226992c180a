package observability_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/tidegate/tidegate/internal/testbinary"
	"github.com/tidegate/tidegate/internal/testupstream"
)

var bin testbinary.Binary // the built tidegate

func TestMain(m *testing.M) {
	os.Exit(testbinary.Main(m, "tidegate-e2e-obs-", &bin))
}

const binaryConfig = `
listen: {{listen}}
telemetry:
  metrics: {enabled: true}
  logging: {format: json, level: info, access_log: true}
pricing:
  gpt-4o-mini: {input: 1, output: 2}
providers:
  oai: {type: openai, base_url: "%s/v1", api_key: "sk-upstream-binary-obs-0123456789"}
models:
  gpt: {provider: oai, model: gpt-4o-mini}
  cached: {provider: oai, model: gpt-4o-mini, cache: {}}
`

// startBinary runs `tidegate serve --config` with env and waits for it.
func startBinary(t *testing.T, configYAML string, env ...string) *testbinary.Process {
	t.Helper()
	bin.Need(t)
	for attempt := 0; attempt < 3; attempt++ { // a free port may be taken meanwhile
		addr := testbinary.FreeAddr(t)
		path := filepath.Join(t.TempDir(), "tidegate.yaml")
		if err := os.WriteFile(path, []byte(strings.ReplaceAll(configYAML, "{{listen}}", addr)), 0o600); err != nil {
			t.Fatal(err)
		}
		p := bin.Start(t, "tidegate", t.TempDir(), testbinary.Env(t, env...), "serve", "--config", path)
		if p.WaitHealthy(t, addr, 20*time.Second) {
			return p
		}
		if !strings.Contains(p.Output(), "address already in use") {
			t.Fatalf("tidegate exited (%v) before serving:\n%s", p.Err(), p.Output())
		}
	}
	t.Fatal("could not find a free port")
	return nil
}

// TestBinaryMetricsAndLogs: the real binary serves /metrics that count a
// request's tokens and cost, and writes JSON logs with its access line.
func TestBinaryMetricsAndLogs(t *testing.T) {
	up := testupstream.New("openai")
	t.Cleanup(up.Close)
	up.Set(testupstream.Reply{Text: "Hi.", Usage: testupstream.Usage{Input: 12, Output: 4}})
	p := startBinary(t, fmt.Sprintf(binaryConfig, up.URL))

	for _, stream := range []bool{false, true} {
		if r := do(t, http.MethodPost, p.URL+"/v1/chat/completions", chat("gpt", stream)); r.Status != 200 {
			t.Fatalf("chat (stream %v): %s", stream, r)
		}
	}
	for range 2 { // a miss, then a hit
		if r := do(t, http.MethodPost, p.URL+"/v1/chat/completions", chat("cached", false)); r.Status != 200 {
			t.Fatalf("cached: %s", r)
		}
	}
	var s scrape
	ok := eventually(t, 5*time.Second, func() bool {
		s = scrapeMetrics(t, p.URL+"/metrics", "")
		v, _ := s.value("tidegate_tokens_total", labels("provider", "oai", "model", "gpt-4o-mini", "type", "input"))
		return v == 36
	})
	if !ok {
		t.Fatalf("input tokens never reached 36:\n%s", s.dump("tidegate_tokens_total"))
	}
	for _, c := range []struct {
		name string
		want float64
		kv   []string
	}{
		{"tidegate_http_requests_total", 4, []string{"path", "/v1/chat/completions", "status", "200"}},
		{"tidegate_tokens_total", 12, []string{"model", "gpt-4o-mini", "type", "output"}},
		{"tidegate_cost_dollars_total", (36*1 + 12*2) / 1e6, []string{"model", "gpt-4o-mini"}},
		{"tidegate_streaming_duration_seconds", 1, []string{"provider", "oai"}},
		{"tidegate_upstream_requests_total", 3, []string{"upstream", "oai/gpt-4o-mini", "status", "200"}},
		{"tidegate_cache_requests_total", 1, []string{"result", "hit"}},
	} {
		if got, _ := s.value(c.name, labels(c.kv...)); got < c.want-1e-12 || got > c.want+1e-12 {
			t.Errorf("%s%v = %v, want %v\n%s", c.name, c.kv, got, c.want, s.dump(c.name))
		}
	}
	if _, ok := s["process_cpu_seconds_total"]; !ok {
		t.Errorf("no process metrics in the binary's scrape")
	}

	// The process log is JSON, the access lines included.
	access, caches := 0, []any{}
	sc := bufio.NewScanner(strings.NewReader(p.Output()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Errorf("log line is not JSON: %s", sc.Text())
			continue
		}
		if line["msg"] != "request" || line["path"] != "/v1/chat/completions" {
			continue
		}
		access++
		if line["model"] == "cached" {
			caches = append(caches, line["cache"])
			continue
		}
		if line["input_tokens"] != 12.0 || line["provider"] != "oai" || line["status"] != 200.0 || line["cache"] != "none" {
			t.Errorf("access line: %v", line)
		}
	}
	if access != 4 || fmt.Sprint(caches) != "[miss hit]" {
		t.Errorf("%d access lines for 4 chat requests, cache results %v (want [miss hit]):\n%s", access, caches, p.Output())
	}
	if strings.Contains(p.Output(), "sk-upstream-binary-obs") {
		t.Errorf("the upstream key is in the log")
	}
}

// TestBinaryTracingFromEnv: OTEL_EXPORTER_OTLP_ENDPOINT alone turns
// tracing on; spans reach the collector, OTEL_SERVICE_NAME names them.
func TestBinaryTracingFromEnv(t *testing.T) {
	col := newCollector(t)
	up := testupstream.New("openai")
	t.Cleanup(up.Close)
	cfg := fmt.Sprintf(`
listen: {{listen}}
providers:
  oai: {type: openai, base_url: "%s/v1", api_key: "sk-upstream-binary-obs-0123456789"}
models:
  gpt: {provider: oai, model: gpt-4o-mini}
`, up.URL)
	p := startBinary(t, cfg, "OTEL_EXPORTER_OTLP_ENDPOINT="+col.URL, "OTEL_SERVICE_NAME=tidegate-env")
	if r := do(t, http.MethodPost, p.URL+"/v1/chat/completions", chat("gpt", false)); r.Status != 200 {
		t.Fatalf("chat: %s", r)
	}
	var spans []*tracepb.Span
	// WaitHealthy's GET /health requests are not traced.
	if !eventually(t, 10*time.Second, func() bool { spans = col.all(); return len(spans) >= 2 }) {
		t.Fatalf("collector received %d spans, want a server and a client span\n%s", len(spans), p.Output())
	}
	kinds := map[tracepb.Span_SpanKind]int{}
	for _, s := range spans {
		kinds[s.Kind]++
	}
	if kinds[tracepb.Span_SPAN_KIND_SERVER] != 1 || kinds[tracepb.Span_SPAN_KIND_CLIENT] != 1 {
		t.Errorf("span kinds %v, want one server and one client", kinds)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	if !col.service["tidegate-env"] {
		t.Errorf("service names %v, want tidegate-env from OTEL_SERVICE_NAME", col.service)
	}
	if tp := up.Last().Header.Get("traceparent"); !strings.HasPrefix(tp, "00-") {
		t.Errorf("upstream traceparent %q", tp)
	}
}
