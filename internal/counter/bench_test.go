package counter

import (
	"testing"
	"time"
)

// BenchmarkReserveSettle: one request with two request windows, a token
// window and a budget, reserved and settled. The clock moves 100µs per
// request so the 1s windows hold about 10k entries. The allocations are
// the counter's own (the reservation is built outside the loop).
func BenchmarkReserveSettle(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			clk := newFakeClock()
			c := be.new(b, clk.Now)
			var hook *countHook
			if r, ok := c.(*Redis); ok {
				hook = &countHook{}
				r.client.AddHook(hook)
			}
			tmpl := fullReservation()
			ids := make([]string, b.N+100)
			for i := range ids {
				ids[i] = newID()
			}
			n := 0
			run := func() {
				clk.Add(100 * time.Microsecond)
				r := *tmpl // the template's windows are shared; only the ID is new
				r.ID = ids[n]
				n++
				d, err := c.Reserve(ctx, &r)
				if err != nil || !d.Allowed {
					b.Fatal(d, err)
				}
				if err := c.Settle(ctx, &r, Usage{Tokens: 700, Cost: 300}); err != nil {
					b.Fatal(err)
				}
			}
			for range 100 { // warm up: seed the budget, load the scripts
				run()
			}
			if hook != nil {
				hook.n.Store(0)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				run()
			}
			b.StopTimer()
			if hook != nil {
				b.ReportMetric(float64(hook.n.Load())/float64(b.N), "cmds/op")
			}
		})
	}
}

// BenchmarkMemoryParallel: the same on every core, one mutex.
func BenchmarkMemoryParallel(b *testing.B) {
	m := NewMemory(nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := fullReservation()
			if _, err := m.Reserve(ctx, r); err != nil {
				b.Fatal(err)
			}
			if err := m.Settle(ctx, r, Usage{Tokens: 700, Cost: 300}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
