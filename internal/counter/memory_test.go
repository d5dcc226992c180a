package counter

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestMemorySweep: idle windows, budgets whose period is over and old ID
// marks are dropped.
func TestMemorySweep(t *testing.T) {
	clk := newFakeClock()
	m := NewMemory(clk.Now)
	r := fullReservation()
	r.Budgets = append(r.Budgets, Budget{Key: "key:k:budget:daily", Limit: 1 << 40, Expires: clk.Now().Add(time.Hour)})
	expectAllowed(t, mustReserve(t, m, r), true)
	clk.Add(2 * time.Hour)
	// The ID marks are swept a shard at a time, one each 1/64 of a minute.
	for range idShards {
		m.mu.Lock()
		m.sweep(micros(clk.Now()))
		m.mu.Unlock()
		clk.Add(time.Minute / idShards)
	}
	expectAllowed(t, mustReserve(t, m, requests(Window{Key: "other", Limit: 1, Window: time.Second})), true)
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.requests) != 1 || len(m.tokens) != 0 || m.markCount() != 1 {
		t.Fatalf("after the sweep: %d request logs, %d token logs, %d ids", len(m.requests), len(m.tokens), m.markCount())
	}
	if len(m.budgets) != 1 || m.budgets["key:k:budget:total"] == nil {
		t.Fatalf("after the sweep: budgets %v, want only the total one", m.budgets)
	}
}

// Reservation IDs of any length stay distinct as map keys.
func TestKeyOf(t *testing.T) {
	long := strings.Repeat("r", 40)
	ids := []string{"", "a", "a\x00", "res_0123456789abcdef01234567", strings.Repeat("x", 31), long, long + "s"}
	seen := map[idKey]string{}
	for _, id := range ids {
		k := keyOf(id)
		if prev, ok := seen[k]; ok {
			t.Fatalf("%q and %q share a key", prev, id)
		}
		seen[k] = id
		if keyOf(id) != k {
			t.Fatalf("keyOf(%q) is not stable", id)
		}
	}
}

func (m *Memory) markCount() int {
	n := 0
	for _, marks := range m.ids {
		n += len(marks)
	}
	return n
}

// TestMemorySweepIsIncremental: a sweep visits one shard of the ID marks,
// and a minute of sweeps visits them all; marks spread over the shards.
func TestMemorySweepIsIncremental(t *testing.T) {
	clk := newFakeClock()
	m := NewMemory(clk.Now)
	for i := range 6400 {
		expectAllowed(t, mustReserve(t, m, &Reservation{ID: fmt.Sprintf("res_%08d", i), Requests: []Window{{Key: "k", Limit: 1 << 30, Window: time.Second}}}), true)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, marks := range m.ids {
		if len(marks) < 50 || len(marks) > 150 {
			t.Errorf("shard %d holds %d of 6400 marks", i, len(marks))
		}
	}
	clk.Add(time.Hour)
	for i := range idShards {
		before := m.markCount()
		m.sweep(micros(clk.Now()))
		if swept := before - m.markCount(); swept > 150 {
			t.Fatalf("sweep %d dropped %d marks at once", i, swept)
		}
		clk.Add(time.Minute / idShards)
	}
	if n := m.markCount(); n != 0 {
		t.Fatalf("%d marks left after a minute of sweeps", n)
	}
}
