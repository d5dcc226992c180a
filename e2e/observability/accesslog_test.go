package observability_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/app"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// logBuffer collects log output written from the gateway's goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// requests are the access log lines (msg "request") on path.
func (b *logBuffer) requests(t *testing.T, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line is not JSON (%v): %s", err, sc.Text())
		}
		if line["msg"] == "request" && line["path"] == path {
			out = append(out, line)
		}
	}
	return out
}

const accessConfig = `
auth: keys
store: "sqlite://%s"
admin_keys: [{name: ops, key: "%s", scope: admin}]
telemetry:
  metrics: {enabled: true, key_labels: true}
  logging: {format: json, access_log: true}
pricing:
  gpt-4o-mini: {input: 1, output: 2}
providers:
  oai: {type: openai, base_url: "{{openai}}/v1", api_key: "` + testgateway.OpenAIKey + `"}
models:
  gpt: {provider: oai, model: gpt-4o-mini}
`

// TestAccessLog: one JSON line per request with its id, key id, model,
// provider, status, latency, TTFB, tokens, cost, cache result and
// attempts; never a key (the caller's, the admin's or the upstream's), a
// prompt or a completion. Key names label the limit and cost metrics when
// key_labels is on.
func TestAccessLog(t *testing.T) {
	const (
		adminKey   = "tg-admin-key-for-the-access-log-test"
		prompt     = "PROMPT-CANARY-7f3a: what is the secret plan?"
		completion = "COMPLETION-CANARY-91bc the plan is tea."
	)
	db := filepath.Join(t.TempDir(), "tidegate.db")
	logs := &logBuffer{}
	cfg := fmt.Sprintf(accessConfig, db, adminKey)
	g := testgateway.StartLogged(t, cfg, app.NewLogger(config.Logging{Format: config.LogJSON, Level: "info"}, logs))
	g.OpenAI.Set(testupstream.Reply{Text: completion, Usage: testupstream.Usage{Input: 10, Output: 5}})

	r := do(t, http.MethodPost, g.URL+"/admin/keys", `{"name":"alice","rpm":2}`, "Authorization", "Bearer "+adminKey)
	if r.Status != http.StatusCreated {
		t.Fatalf("create key: %s", r)
	}
	var key struct{ ID, Key string }
	if err := json.Unmarshal([]byte(r.Body), &key); err != nil || !strings.HasPrefix(key.Key, "sk-tg-") {
		t.Fatalf("create key: %v %s", err, r)
	}
	body := func(stream bool) string {
		return fmt.Sprintf(`{"model":"gpt","stream":%t,"messages":[{"role":"user","content":%q}]}`, stream, prompt)
	}
	auth := []string{"Authorization", "Bearer " + key.Key}
	var ids []string
	for _, stream := range []bool{false, true} {
		r := do(t, http.MethodPost, g.URL+"/v1/chat/completions", body(stream), auth...)
		if r.Status != 200 || !strings.Contains(r.Body, "COMPLETION-CANARY") {
			t.Fatalf("chat (stream %v): %s", stream, r)
		}
		ids = append(ids, r.Header.Get("x-request-id"))
	}
	if r := do(t, http.MethodPost, g.URL+"/v1/chat/completions", body(false), auth...); r.Status != http.StatusTooManyRequests {
		t.Fatalf("third request with rpm 2: %s, want 429", r)
	}
	if r := do(t, http.MethodPost, g.URL+"/v1/chat/completions", body(false), "Authorization", "Bearer sk-tg-not-a-real-key-0000000000000000"); r.Status != http.StatusUnauthorized {
		t.Fatalf("unknown key: %s, want 401", r)
	}

	// A budget smaller than any request's worst case: refused at once.
	r = do(t, http.MethodPost, g.URL+"/admin/keys", `{"name":"bob","budget_usd":0.000001}`, "Authorization", "Bearer "+adminKey)
	var bob struct{ Key string }
	if err := json.Unmarshal([]byte(r.Body), &bob); err != nil || r.Status != http.StatusCreated {
		t.Fatalf("create key: %v %s", err, r)
	}
	if r := do(t, http.MethodPost, g.URL+"/v1/chat/completions", body(false), "Authorization", "Bearer "+bob.Key); r.Status != http.StatusTooManyRequests || !strings.Contains(r.Body, "budget") {
		t.Fatalf("request over budget: %s, want a 429 for the budget", r)
	}

	var lines []map[string]any
	if !eventually(t, 5*time.Second, func() bool { lines = logs.requests(t, "/v1/chat/completions"); return len(lines) == 5 }) {
		t.Fatalf("want 5 access log lines for /v1/chat/completions, got %d:\n%s", len(lines), logs)
	}
	byID := map[string]map[string]any{}
	for _, l := range lines {
		byID[fmt.Sprint(l["request_id"])] = l
	}
	for i, id := range ids {
		l := byID[id]
		if l == nil {
			t.Fatalf("no access log line with request_id %s:\n%s", id, logs)
		}
		want := map[string]any{"level": "INFO", "method": "POST", "route": "POST /v1/chat/completions", "status": 200.0,
			"key_id": key.ID, "model": "gpt", "provider": "oai", "upstream_model": "gpt-4o-mini", "attempts": 1.0,
			"input_tokens": 10.0, "output_tokens": 5.0, "cache": "none"}
		for k, v := range want {
			if l[k] != v {
				t.Errorf("request %d: %s = %#v, want %#v\n%v", i, k, l[k], v, l)
			}
		}
		if c, _ := l["cost_usd"].(float64); math.Abs(c-(10*1+5*2)/1e6) > 1e-12 {
			t.Errorf("request %d: cost_usd %v, want %v", i, l["cost_usd"], (10*1+5*2)/1e6)
		}
		lat, _ := l["latency_ms"].(float64)
		ttfb, _ := l["ttfb_ms"].(float64)
		if ttfb <= 0 || lat < ttfb {
			t.Errorf("request %d: latency_ms %v, ttfb_ms %v: want 0 < ttfb ≤ latency", i, lat, ttfb)
		}
	}
	statuses := map[float64]int{}
	for _, l := range lines {
		statuses[l["status"].(float64)]++
	}
	if statuses[429] != 2 || statuses[401] != 1 {
		t.Errorf("refusals in the access log: %v, want two 429 and one 401", statuses)
	}
	if admin := logs.requests(t, "/admin/keys"); len(admin) != 2 || admin[0]["status"] != 201.0 {
		t.Errorf("admin request lines: %v", admin)
	}

	out := logs.String()
	for name, secret := range map[string]string{"the caller's key": key.Key, "bob's key": bob.Key, "the admin key": adminKey,
		"the upstream key": testgateway.OpenAIKey, "the prompt": "PROMPT-CANARY", "the completion": "COMPLETION-CANARY"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log contains %s (%q):\n%s", name, secret, out)
		}
	}

	s := scrapeMetrics(t, g.URL+"/metrics", "")
	for _, c := range []struct {
		name string
		want float64
		kv   []string
	}{
		{"tidegate_rate_limit_exceeded_total", 1, []string{"key_name", "alice"}},
		{"tidegate_quota_exceeded_total", 1, []string{"key_name", "bob"}},
		{"tidegate_auth_requests_total", 4, []string{"result", "ok"}},
		{"tidegate_auth_requests_total", 1, []string{"result", "invalid"}},
		{"tidegate_cost_dollars_total", 2 * (10*1 + 5*2) / 1e6, []string{"consumer", "alice", "model", "gpt-4o-mini"}},
	} {
		if got, _ := s.value(c.name, labels(c.kv...)); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s%v = %v, want %v\n%s", c.name, c.kv, got, c.want, s.dump(c.name))
		}
	}
}
