package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkInsertUsage measures the usage log's per-row cost in SQLite at
// the batch size a busy gateway writes every 500 ms.
func BenchmarkInsertUsage(b *testing.B) {
	s, err := Open(context.Background(), "sqlite://"+filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const batch = 5000
	recs := make([]Usage, batch)
	t0 := time.Now()
	for i := range recs {
		recs[i] = Usage{Time: t0.Add(time.Duration(i) * time.Millisecond), RequestID: fmt.Sprintf("req_%024d", i),
			KeyID: "key_0123456789abcdef", UserID: "user_1", TeamID: "team_1", Model: "bench-openai",
			Provider: "up", UpstreamModel: "gpt-mock", InputTokens: 12, OutputTokens: 9, CostUSD: 0.000123,
			LatencyMS: 2, Status: 200}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		n := min(batch, b.N-i)
		if err := s.InsertUsage(context.Background(), recs[:n]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutResponse measures storing one Responses turn in SQLite, with
// and without its Response object (migration 6 stores it beside the items).
func BenchmarkPutResponse(b *testing.B) {
	items := []byte(`[{"role":"user","content":"` + strings.Repeat("question ", 60) + `"},{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"output_text","text":"` + strings.Repeat("answer ", 150) + `"}]}]`)
	object := []byte(`{"id":"resp_x","object":"response","created_at":1770000000,"status":"completed","model":"gpt-4o-mini","output":[{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"output_text","text":"` +
		strings.Repeat("answer ", 150) + `"}]}],"usage":{"input_tokens":80,"output_tokens":160,"total_tokens":240},"store":true,"tools":[],"parallel_tool_calls":true}`)
	for _, bc := range []struct {
		name     string
		response []byte
	}{{"items", nil}, {"items+response", object}} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := Open(context.Background(), "sqlite://"+filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				r := &StoredResponse{ID: "resp_" + strconv.Itoa(i), KeyID: "key_1", Model: "gpt", Items: items, Response: bc.response}
				if err := s.PutResponse(context.Background(), r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
