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
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/router"
	"github.com/tidegate/tidegate/internal/store"
)

// A request refused inside Admit (rate limit, allowlist) is logged under
// its request id, like an admitted one.
func TestRefusalsCarryTheRequestID(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w := NewWriter(st, time.Hour, slog.New(slog.DiscardHandler), nil)
	g := New(Options{Store: st, Counter: counter.NewMemory(time.Now), Catalog: catalog.New(), Usage: w})
	id := &Identity{Key: &store.Key{ID: "k1", Models: []string{"m"}, Limits: store.Limits{RPM: 1}}}
	route := &router.Route{Targets: []router.Target{{Model: "m"}}}
	admit := func(model, reqID string) error {
		tk, err := g.Admit(ctx, id, &router.Input{Model: model, Header: http.Header{}}, route, &llm.Request{}, reqID)
		if err == nil {
			tk.Finish(Outcome{UsageKnown: true, Sent: true, Status: 200})
		}
		return err
	}
	if err := admit("m", "req_ok"); err != nil {
		t.Fatal(err)
	}
	if err := admit("m", "req_limited"); err == nil {
		t.Fatal("second request within the rpm of 1 admitted")
	}
	if err := admit("other", "req_forbidden"); err == nil {
		t.Fatal("a model outside the allowlist admitted")
	}
	w.Close()
	logs, err := st.Logs(ctx, store.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"req_ok": 200, "req_limited": 429, "req_forbidden": 403}
	for _, e := range logs {
		if status, ok := want[e.RequestID]; ok && e.Status == status && e.Refused == (status != 200) {
			delete(want, e.RequestID)
		}
	}
	if len(want) > 0 {
		t.Fatalf("not logged under their request ids: %v; log: %+v", want, logs)
	}
}
