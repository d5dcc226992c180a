package observability_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/testbinary"
	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// TestCounterBackendDown: with Redis unreachable, every limited request
// counts a counter error; fail_open admits it and counts that, the default
// refuses it with a 503.
func TestCounterBackendDown(t *testing.T) {
	for _, failOpen := range []bool{true, false} {
		name := map[bool]string{true: "fail_open", false: "fail_closed"}[failOpen]
		t.Run(name, func(t *testing.T) {
			cfg := `
redis: redis://` + testbinary.FreeAddr(t) + `/0
counters: {fail_open: ` + map[bool]string{true: "true", false: "false"}[failOpen] + `}
telemetry:
  metrics: {enabled: true}
providers:
  oai: {type: openai, base_url: "{{openai}}/v1", api_key: "` + testgateway.OpenAIKey + `"}
models:
  limited: {provider: oai, model: gpt-4o-mini, limits: {rpm: 100}}
`
			g := testgateway.Start(t, cfg)
			g.OpenAI.Set(testupstream.Reply{Text: "ok"})
			want := http.StatusOK
			if !failOpen {
				want = http.StatusServiceUnavailable
			}
			for range 2 {
				if r := do(t, http.MethodPost, g.URL+"/v1/chat/completions", chat("limited", false)); r.Status != want {
					t.Fatalf("with Redis down: %s, want %d", r, want)
				}
			}
			s := scrapeMetrics(t, g.URL+"/metrics", "")
			if v, _ := s.value("tidegate_counter_errors_total", labels("backend", "redis")); v != 2 {
				t.Errorf("counter errors %v, want 2\n%s", v, s.dump("tidegate_counter_errors_total"))
			}
			wantOpen := 0.0
			if failOpen {
				wantOpen = 2
			}
			if v, ok := s.value("tidegate_counter_fail_open_total", nil); !ok || v != wantOpen {
				t.Errorf("fail-open admissions %v (present %v), want %v", v, ok, wantOpen)
			}
			if !strings.Contains(s.dump("tidegate_http_requests_total"), "status="+map[bool]string{true: "200", false: "503"}[failOpen]) {
				t.Errorf("statuses:\n%s", s.dump("tidegate_http_requests_total"))
			}
		})
	}
}
