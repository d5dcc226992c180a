package app

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/cputime"
)

// BenchmarkObservation is one chat completion on the built-in echo model
// through the whole handler (body checks, routing, the echo provider,
// encoding), with observation off and with each part of it on, so the
// differences are the per-request cost of metrics, the access log and
// tracing (sampled, exported to a collector that is not there: the
// batcher drops what it cannot send).
func BenchmarkObservation(b *testing.B) {
	const models = `
providers:
  echo: {type: echo}
models:
  echo: {provider: echo, model: echo}
`
	for _, c := range []struct{ name, telemetry string }{
		{"off", ""},
		{"metrics", "telemetry:\n  metrics: {enabled: true}\n"},
		{"metrics+accesslog", "telemetry:\n  metrics: {enabled: true}\n  logging: {format: json, access_log: true}\n"},
		{"tracing", "telemetry:\n  tracing: {enabled: true, endpoint: \"http://127.0.0.1:9\"}\n"},
	} {
		for _, stream := range []bool{false, true} {
			name := c.name
			if stream {
				name += "/stream"
			}
			b.Run(name, func(b *testing.B) {
				cfg, err := config.Parse([]byte(models+c.telemetry), func(string) string { return "" })
				if err != nil {
					b.Fatal(err)
				}
				logger := NewLogger(cfg.Telemetry.Logging, io.Discard)
				a, err := New(context.Background(), cfg, "bench", logger)
				if err != nil {
					b.Fatal(err)
				}
				defer a.Close()
				h := a.Handler()
				body := `{"model":"echo","stream":false,"messages":[{"role":"user","content":"hello there, how are you today?"}]}`
				if stream {
					body = strings.Replace(body, `"stream":false`, `"stream":true`, 1)
				}
				b.ReportAllocs()
				cpu0 := cputime.Process()
				for b.Loop() {
					req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("HTTP %d %s", w.Code, w.Body)
					}
				}
				// CPU time, unlike ns/op, does not grow with the other
				// work on a shared machine.
				cputime.Report(b, cpu0)
			})
		}
	}
}
