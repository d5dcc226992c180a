package store

import (
	"context"
	"fmt"
	"path/filepath"
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
