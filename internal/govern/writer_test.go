package govern

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/metrics"
	"github.com/tidegate/tidegate/internal/store"
)

// flakyStore fails InsertUsage until healed, then keeps what it is given.
type flakyStore struct {
	store.Store
	mu     sync.Mutex
	broken bool
	got    []store.Usage
}

func (f *flakyStore) InsertUsage(_ context.Context, recs []store.Usage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.broken {
		return errors.New("store down")
	}
	f.got = append(f.got, recs...)
	return nil
}

// While the store fails, records are kept for retry up to the cap, the
// oldest dropped first; once it heals, the kept ones are written in order.
func TestWriterRetriesWithinABound(t *testing.T) {
	st := &flakyStore{broken: true}
	m := metrics.New(metrics.Options{})
	w := NewWriter(st, time.Hour, slog.New(slog.DiscardHandler), m)
	w.maxPending = 5
	for i := range 8 {
		w.Add(store.Usage{RequestID: string(rune('a' + i))})
		w.flush()
	}
	st.mu.Lock()
	st.broken = false
	st.mu.Unlock()
	w.Close()
	var ids string
	for _, u := range st.got {
		ids += u.RequestID
	}
	if ids != "defgh" {
		t.Fatalf("written after the outage: %q, want the newest 5 in order, defgh", ids)
	}
	if got := counterValue(t, m, "tidegate_usage_dropped_total"); got != 3 {
		t.Fatalf("tidegate_usage_dropped_total %v, want 3", got)
	}
}

func counterValue(t *testing.T, m *metrics.Metrics, name string) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
