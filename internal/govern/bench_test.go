package govern

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/counter"
	"github.com/tidegate/tidegate/internal/cputime"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/router"
	"github.com/tidegate/tidegate/internal/secret"
	"github.com/tidegate/tidegate/internal/store"
)

// BenchmarkKeyedRequest is governance's whole share of a request with a
// key and an rpm limit (memory counter, SQLite usage log): Identify,
// Admit, the rate-limit headers, Finish, and the usage writer's batched
// insert (Close flushes the last batch inside the timing). The gateway's
// own work is left out, so this is what BenchmarkGovernance's keyed case
// adds to its open case, without the HTTP noise around it.
func BenchmarkKeyedRequest(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	sec, display, hash := secret.New()
	if err := st.CreateKey(ctx, &store.Key{ID: "key_bench", Name: "bench", Prefix: display, Hash: hash,
		Limits: store.Limits{RPM: 100_000_000}}); err != nil {
		b.Fatal(err)
	}
	w := NewWriter(st, 500*time.Millisecond, slog.New(slog.DiscardHandler), nil)
	g := New(Options{Store: st, Counter: counter.NewMemory(time.Now), Catalog: catalog.New(), Usage: w, RequireKey: true})
	route := &router.Route{Targets: []router.Target{{Model: "gpt-4o-mini"}}}
	usage := llm.Usage{InputTokens: 12, OutputTokens: 9}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Process()
	b.RunParallel(func(pb *testing.PB) {
		h := http.Header{"Authorization": {"Bearer " + sec}}
		for pb.Next() {
			id, err := g.Identify(ctx, h)
			if err != nil {
				b.Fatal(err)
			}
			in := &router.Input{Model: "m", Header: h, MaxTokens: 16, EstimatedTokens: 20}
			tk, err := g.Admit(ctx, id, in, route, &llm.Request{}, "req_0123456789abcdef01234567")
			if err != nil {
				b.Fatal(err)
			}
			tk.SetHeaders(http.Header{}, llm.DialectOpenAI)
			tk.Finish(Outcome{Usage: usage, UsageKnown: true, Sent: true, Provider: "up", Upstream: "gpt-4o-mini", Status: 200})
		}
	})
	w.Close()
	cputime.Report(b, cpu0)
}
