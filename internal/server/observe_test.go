package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/llm"
)

// BenchmarkAccessLog is one access log line in JSON (to io.Discard).
func BenchmarkAccessLog(b *testing.B) {
	s := New(Options{AccessLog: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	x := &exchange{requestID: "req_0123456789abcdef01234567", route: s.newRoute("POST /v1/chat/completions"),
		keyID: "key_01J0000000000000000000", model: "smart", provider: "ant", upstream: "claude-sonnet-4-5",
		attempts: 1, usage: llm.Usage{InputTokens: 1200, OutputTokens: 310}, cost: 0.00825}
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	b.ReportAllocs()
	for b.Loop() {
		s.accessLog(x, r, 200, 412*time.Millisecond, 180*time.Millisecond)
	}
}
