package counter

import (
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
	expectAllowed(t, mustReserve(t, m, requests(Window{Key: "other", Limit: 1, Window: time.Second})), true)
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.requests) != 1 || len(m.tokens) != 0 || len(m.ids) != 1 {
		t.Fatalf("after the sweep: %d request logs, %d token logs, %d ids", len(m.requests), len(m.tokens), len(m.ids))
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
