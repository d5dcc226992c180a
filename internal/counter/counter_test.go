package counter

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The behavioural suite: every test runs against Memory and Redis.

var ctx = context.Background()

func mustReserve(t *testing.T, c Counter, r *Reservation) Decision {
	t.Helper()
	d, err := c.Reserve(ctx, r)
	if err != nil {
		t.Fatalf("Reserve(%s): %v", r.ID, err)
	}
	return d
}

func mustSettle(t *testing.T, c Counter, r *Reservation, u Usage) {
	t.Helper()
	if err := c.Settle(ctx, r, u); err != nil {
		t.Fatalf("Settle(%s): %v", r.ID, err)
	}
}

func requests(ws ...Window) *Reservation { return &Reservation{ID: newID(), Requests: ws} }

func tokens(amount int64, ws ...Window) *Reservation {
	return &Reservation{ID: newID(), Tokens: ws, TokenAmount: amount}
}

func spend(cost int64, ttl time.Duration, bs ...Budget) *Reservation {
	return &Reservation{ID: newID(), Budgets: bs, Cost: cost, TTL: ttl}
}

func expectAllowed(t *testing.T, d Decision, want bool) {
	t.Helper()
	if d.Allowed != want {
		t.Fatalf("Allowed = %v, want %v (decision %+v)", d.Allowed, want, d)
	}
}

func expectState(t *testing.T, s State, remaining int64, reset time.Duration) {
	t.Helper()
	if s.Remaining != remaining || s.Reset != reset {
		t.Fatalf("state %s: remaining %d reset %v, want %d and %v", s.Key, s.Remaining, s.Reset, remaining, reset)
	}
}

func TestRequestWindowEdges(t *testing.T) {
	each(t, func(t *testing.T, c Counter, clk *fakeClock) {
		w := Window{Key: "key:a:rpm", Limit: 3, Window: time.Minute}
		for i := range 3 {
			d := mustReserve(t, c, requests(w))
			expectAllowed(t, d, true)
			expectState(t, d.States[0], int64(2-i), time.Minute)
		}
		d := mustReserve(t, c, requests(w))
		expectAllowed(t, d, false)
		if d.Denied != w.Key || d.Budget || d.RetryAfter != time.Minute {
			t.Fatalf("refusal = %+v, want denied by %s, retry after 1m", d, w.Key)
		}
		expectState(t, d.States[0], 0, time.Minute)

		clk.Add(time.Minute - time.Microsecond)
		d = mustReserve(t, c, requests(w))
		expectAllowed(t, d, false)
		if d.RetryAfter != time.Microsecond {
			t.Fatalf("RetryAfter just before the window ends = %v, want 1µs", d.RetryAfter)
		}

		clk.Add(time.Microsecond) // the first three have left the window
		for range 3 {
			expectAllowed(t, mustReserve(t, c, requests(w)), true)
		}
		expectAllowed(t, mustReserve(t, c, requests(w)), false)
	})
}

func TestRequestWindowRetryAfter(t *testing.T) {
	each(t, func(t *testing.T, c Counter, clk *fakeClock) {
		w := Window{Key: "key:a:rpm", Limit: 3, Window: time.Minute}
		for range 3 {
			expectAllowed(t, mustReserve(t, c, requests(w)), true)
			clk.Add(10 * time.Second)
		}
		// Entries at 0s, 10s, 20s; now 30s: the one at 0s leaves at 60s.
		d := mustReserve(t, c, requests(w))
		expectAllowed(t, d, false)
		if d.RetryAfter != 30*time.Second {
			t.Fatalf("RetryAfter = %v, want 30s", d.RetryAfter)
		}
		clk.Add(30 * time.Second)
		d = mustReserve(t, c, requests(w))
		expectAllowed(t, d, true)
		expectState(t, d.States[0], 0, 10*time.Second) // oldest now at 10s
		d = mustReserve(t, c, requests(w))
		if d.Allowed || d.RetryAfter != 10*time.Second {
			t.Fatalf("decision = %+v, want refused with retry after 10s", d)
		}

		// A limit below the amount can never fit: the wait is a whole window.
		d = mustReserve(t, c, requests(Window{Key: "key:zero:rpm", Limit: 0, Window: time.Minute}))
		if d.Allowed || d.RetryAfter != time.Minute {
			t.Fatalf("zero limit: %+v, want refused with retry after 1m", d)
		}
	})
}

// TestRequestWindowProperty replays a random stream of timestamps, dense
// around the window's edges, and checks every decision against a model of
// the sliding log, and that no interval of the window's length ever holds
// more than the limit.
func TestRequestWindowProperty(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	each(t, func(t *testing.T, c Counter, clk *fakeClock) {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		const limit, events = 5, 400
		win := time.Second
		w := Window{Key: "key:p:rps", Limit: limit, Window: win}
		gaps := []time.Duration{0, time.Microsecond, win / limit, win/limit - time.Microsecond,
			win - time.Microsecond, win, win + time.Microsecond}
		var admitted []time.Time
		start := clk.Now()
		for range events {
			if rng.IntN(3) == 0 {
				clk.Add(gaps[rng.IntN(len(gaps))])
			} else {
				clk.Add(time.Duration(rng.Int64N(int64(win / 2))).Truncate(time.Microsecond))
			}
			now := clk.Now()
			in := 0 // admitted entries in (now-win, now]
			for _, a := range admitted {
				if a.After(now.Add(-win)) {
					in++
				}
			}
			d := mustReserve(t, c, requests(w))
			if want := in < limit; d.Allowed != want {
				t.Fatalf("at %v: Allowed = %v, model says %v", now.Sub(start), d.Allowed, want)
			}
			if d.Allowed {
				admitted = append(admitted, now)
				continue
			}
			// The model's wait: until the (in-limit+1)-th oldest in the window leaves.
			first := len(admitted) - in
			want := admitted[first+in-limit].Add(win).Sub(now)
			if d.RetryAfter != want {
				t.Fatalf("RetryAfter = %v, model says %v", d.RetryAfter, want)
			}
		}
		for i, a := range admitted {
			n := 0
			for _, b := range admitted[i:] {
				if b.Before(a.Add(win)) {
					n++
				}
			}
			if n > limit {
				t.Fatalf("%d admitted in [%v, +%v)", n, a, win)
			}
		}
		if len(admitted) < limit {
			t.Fatalf("only %d admitted", len(admitted))
		}
	})
}

func TestTokenReserveSettle(t *testing.T) {
	each(t, func(t *testing.T, c Counter, clk *fakeClock) {
		w := Window{Key: "key:a:tpm", Limit: 1000, Window: time.Minute}
		r1 := tokens(600, w)
		d := mustReserve(t, c, r1)
		expectAllowed(t, d, true)
		expectState(t, d.States[0], 400, time.Minute)

		d = mustReserve(t, c, tokens(600, w))
		if d.Allowed || d.Denied != w.Key || d.RetryAfter != time.Minute {
			t.Fatalf("decision = %+v, want refused by %s with retry after 1m", d, w.Key)
		}
		mustSettle(t, c, r1, Usage{Tokens: 100})
		clk.Add(10 * time.Second)
		r3 := tokens(600, w)
		d = mustReserve(t, c, r3)
		expectAllowed(t, d, true)
		expectState(t, d.States[0], 300, 50*time.Second)

		// Entries: 100 at 0s, 600 at 10s. At 20s, 400 more needs 100 freed
		// (0s leaves at 60s); 500 more needs 200 (both, the second at 70s).
		clk.Add(10 * time.Second)
		if d = mustReserve(t, c, tokens(400, w)); d.Allowed || d.RetryAfter != 40*time.Second {
			t.Fatalf("decision = %+v, want refused, retry after 40s", d)
		}
		if d = mustReserve(t, c, tokens(500, w)); d.Allowed || d.RetryAfter != 50*time.Second {
			t.Fatalf("decision = %+v, want refused, retry after 50s", d)
		}
		if d = mustReserve(t, c, tokens(2000, w)); d.Allowed || d.RetryAfter != time.Minute {
			t.Fatalf("amount above the limit: %+v, want refused, retry after the window", d)
		}

		// Settling an entry that has left the window changes nothing.
		clk.Add(50 * time.Second) // now 70s: both gone
		mustSettle(t, c, r3, Usage{Tokens: 900})
		d = mustReserve(t, c, tokens(1000, w))
		expectAllowed(t, d, true)
		expectState(t, d.States[0], 0, time.Minute)
	})
}

func TestTokenSettleAboveEstimate(t *testing.T) {
	each(t, func(t *testing.T, c Counter, clk *fakeClock) {
		w := Window{Key: "key:a:tpm", Limit: 1000, Window: time.Minute}
		r := tokens(100, w)
		expectAllowed(t, mustReserve(t, c, r), true)
		mustSettle(t, c, r, Usage{Tokens: 1500}) // the estimate fell short
		clk.Add(time.Second)
		d := mustReserve(t, c, tokens(0, w))
		if d.Allowed || d.RetryAfter != 59*time.Second {
			t.Fatalf("decision = %+v, want refused until the overrun leaves", d)
		}
		expectState(t, d.States[0], 0, 59*time.Second)
		clk.Add(59 * time.Second)
		expectAllowed(t, mustReserve(t, c, tokens(1000, w)), true)
	})
}

func TestMultiScopeAtomic(t *testing.T) {
	each(t, func(t *testing.T, c Counter, clk *fakeClock) {
		key := Window{Key: "key:a:rpm", Limit: 5, Window: time.Minute}
		team := Window{Key: "team:t:rpm", Limit: 2, Window: time.Minute}
		tpm := Window{Key: "key:a:tpm", Limit: 10_000, Window: time.Minute}
		both := func() *Reservation {
			return &Reservation{ID: newID(), Requests: []Window{key, team}, Tokens: []Window{tpm}, TokenAmount: 100}
		}
		expectAllowed(t, mustReserve(t, c, both()), true)
		expectAllowed(t, mustReserve(t, c, both()), true)
		d := mustReserve(t, c, both())
		if d.Allowed || d.Denied != team.Key || d.Budget {
			t.Fatalf("decision = %+v, want refused by the team", d)
		}
		if len(d.States) != 3 {
			t.Fatalf("%d states, want 3", len(d.States))
		}
		expectState(t, d.States[0], 3, time.Minute) // the key's window kept its room
		expectState(t, d.States[1], 0, time.Minute)
		expectState(t, d.States[2], 9800, time.Minute)

		// The key alone still has exactly 3.
		for range 3 {
			expectAllowed(t, mustReserve(t, c, requests(key)), true)
		}
		expectAllowed(t, mustReserve(t, c, requests(key)), false)

		// A budget refusal takes nothing from the windows and wins over a
		// window refusal.
		rpm := Window{Key: "user:u:rpm", Limit: 1, Window: time.Minute}
		b := Budget{Key: "user:u:budget:total", Limit: 100}
		r := &Reservation{ID: newID(), Requests: []Window{rpm}, Budgets: []Budget{b}, Cost: 200}
		d = mustReserve(t, c, r)
		if d.Allowed || !d.Budget || d.Denied != b.Key || d.RetryAfter != 0 {
			t.Fatalf("decision = %+v, want a budget refusal", d)
		}
		expectAllowed(t, mustReserve(t, c, requests(rpm)), true)
		d = mustReserve(t, c, &Reservation{ID: newID(), Requests: []Window{rpm}, Budgets: []Budget{b}, Cost: 200})
		if d.Allowed || !d.Budget || d.Denied != b.Key {
			t.Fatalf("decision = %+v, want the budget refusal to win", d)
		}
	})
}

func TestBudgetReserveSettle(t *testing.T) {
	each(t, func(t *testing.T, c Counter, clk *fakeClock) {
		b := Budget{Key: "key:a:budget:total", Limit: 1000}
		r1 := spend(400, time.Minute, b)
		expectAllowed(t, mustReserve(t, c, r1), true)
		expectAllowed(t, mustReserve(t, c, spend(400, time.Minute, b)), true)
		d := mustReserve(t, c, spend(400, time.Minute, b))
		if d.Allowed || !d.Budget || d.Denied != b.Key || d.RetryAfter != 0 || len(d.States) != 0 {
			t.Fatalf("decision = %+v, want a budget refusal", d)
		}
		mustSettle(t, c, r1, Usage{Cost: 100}) // spent 100, live 400
		expectAllowed(t, mustReserve(t, c, spend(500, time.Minute, b)), true)
		expectAllowed(t, mustReserve(t, c, spend(1, time.Minute, b)), false)
	})
}

func TestBudgetReservationExpires(t *testing.T) {
	each(t, func(t *testing.T, c Counter, clk *fakeClock) {
		b := Budget{Key: "key:a:budget:total", Limit: 1000}
		expectAllowed(t, mustReserve(t, c, spend(1000, time.Minute, b)), true) // never settled
		expectAllowed(t, mustReserve(t, c, spend(1, time.Minute, b)), false)
		clk.Add(time.Minute - time.Microsecond)
		expectAllowed(t, mustReserve(t, c, spend(1, time.Minute, b)), false)
		clk.Add(time.Microsecond)
		expectAllowed(t, mustReserve(t, c, spend(1000, 0, b)), true) // TTL 0: DefaultTTL
		clk.Add(DefaultTTL - time.Microsecond)
		expectAllowed(t, mustReserve(t, c, spend(1, time.Minute, b)), false)
		clk.Add(time.Microsecond)
		expectAllowed(t, mustReserve(t, c, spend(1000, time.Minute, b)), true)
	})
}

func TestSettleIdempotent(t *testing.T) {
	each(t, func(t *testing.T, c Counter, clk *fakeClock) {
		b := Budget{Key: "key:a:budget:total", Limit: 1000}
		tpm := Window{Key: "key:a:tpm", Limit: 1000, Window: time.Minute}
		r := &Reservation{ID: newID(), Tokens: []Window{tpm}, TokenAmount: 800, Budgets: []Budget{b}, Cost: 1000, TTL: time.Minute}
		expectAllowed(t, mustReserve(t, c, r), true)
		mustSettle(t, c, r, Usage{Tokens: 300, Cost: 600})
		mustSettle(t, c, r, Usage{Tokens: 300, Cost: 600})
		expectAllowed(t, mustReserve(t, c, spend(400, time.Minute, b)), true)
		expectAllowed(t, mustReserve(t, c, spend(1, time.Minute, b)), false)
		d := mustReserve(t, c, tokens(700, tpm))
		expectAllowed(t, d, true)
		expectState(t, d.States[0], 0, time.Minute)

		// Settling a reservation that was never taken (or has expired)
		// still records the spend.
		b2 := Budget{Key: "key:b:budget:total", Limit: 1000}
		mustSettle(t, c, spend(700, time.Minute, b2), Usage{Cost: 700})
		expectAllowed(t, mustReserve(t, c, spend(301, time.Minute, b2)), false)
		expectAllowed(t, mustReserve(t, c, spend(300, time.Minute, b2)), true)
	})
}

func TestDuplicateID(t *testing.T) {
	each(t, func(t *testing.T, c Counter, clk *fakeClock) {
		w := Window{Key: "key:a:rpm", Limit: 10, Window: time.Minute}
		r := requests(w)
		expectAllowed(t, mustReserve(t, c, r), true)
		if _, err := c.Reserve(ctx, r); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("second Reserve with the same ID: %v, want ErrDuplicate", err)
		}
		d := mustReserve(t, c, requests(w))
		expectState(t, d.States[0], 8, time.Minute) // the duplicate took nothing
	})
}

// A request-only reservation's ID is known for its window, no longer:
// nothing settles it, so busy keys do not keep marks for an extra minute.
// (Memory only: Redis expires the mark on its own clock.)
func TestRequestOnlyIDKnownForItsWindow(t *testing.T) {
	clk := newFakeClock()
	c := NewMemory(clk.Now)
	r := requests(Window{Key: "key:a:rpm", Limit: 10, Window: time.Minute})
	expectAllowed(t, mustReserve(t, c, r), true)
	clk.Add(time.Minute - time.Millisecond)
	if _, err := c.Reserve(ctx, r); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("Reserve with the same ID inside its window: %v, want ErrDuplicate", err)
	}
	clk.Add(2 * time.Millisecond)
	expectAllowed(t, mustReserve(t, c, r), true)
	if got := r.markTTL(); got != time.Minute.Microseconds() {
		t.Fatalf("markTTL %dµs, want the window's", got)
	}
	r.Tokens = []Window{{Key: "key:a:tpm", Limit: 10, Window: time.Minute}}
	if got := r.markTTL(); got != 2*time.Minute.Microseconds() {
		t.Fatalf("markTTL with a token window %dµs, want the window and a minute to settle", got)
	}
}

func TestSeed(t *testing.T) {
	each(t, func(t *testing.T, c Counter, clk *fakeClock) {
		var calls atomic.Int32
		b := Budget{Key: "key:a:budget:2026-11", Limit: 1000, Seed: func(context.Context) (int64, error) {
			calls.Add(1)
			return 900, nil
		}}
		expectAllowed(t, mustReserve(t, c, spend(200, time.Minute, b)), false)
		expectAllowed(t, mustReserve(t, c, spend(100, time.Minute, b)), true)
		if n := calls.Load(); n != 1 {
			t.Fatalf("Seed called %d times, want 1", n)
		}

		// Settle seeds a missing counter too, then adds the cost.
		calls.Store(0)
		b2 := b
		b2.Key = "key:b:budget:2026-11"
		mustSettle(t, c, spend(50, time.Minute, b2), Usage{Cost: 50})
		expectAllowed(t, mustReserve(t, c, spend(51, time.Minute, b2)), false)
		expectAllowed(t, mustReserve(t, c, spend(50, time.Minute, b2)), true)
		if n := calls.Load(); n != 1 {
			t.Fatalf("Seed called %d times, want 1", n)
		}

		// A failing seed is a backend failure: the caller decides.
		b3 := Budget{Key: "key:c:budget:total", Limit: 1000, Seed: func(context.Context) (int64, error) {
			return 0, errors.New("store down")
		}}
		if _, err := c.Reserve(ctx, spend(1, time.Minute, b3)); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Reserve with a failing seed: %v, want ErrUnavailable", err)
		}
	})
}

func TestBudgetPeriodExpiry(t *testing.T) {
	each(t, func(t *testing.T, c Counter, clk *fakeClock) {
		var calls atomic.Int32
		budget := func() Budget { // one key for every period, to see the expiry
			return Budget{Key: "key:a:budget:hourly", Limit: 1000, Expires: clk.Now().Truncate(time.Hour).Add(time.Hour),
				Seed: func(context.Context) (int64, error) { calls.Add(1); return 0, nil }}
		}
		next := func() { clk.Set(budget().Expires) }
		seeds := func(want int32) {
			t.Helper()
			if n := calls.Load(); n != want {
				t.Fatalf("Seed called %d times, want %d", n, want)
			}
		}
		r := spend(1000, time.Minute, budget())
		expectAllowed(t, mustReserve(t, c, r), true)
		mustSettle(t, c, r, Usage{Cost: 1000})
		expectAllowed(t, mustReserve(t, c, spend(1, time.Minute, budget())), false)
		seeds(1)

		next() // the period is over; the next starts from its seed
		late := spend(400, 2*time.Hour, budget())
		expectAllowed(t, mustReserve(t, c, late), true)
		seeds(2)

		next() // late is still live (its TTL is 2h) and holds 400
		r = spend(600, time.Minute, budget())
		expectAllowed(t, mustReserve(t, c, r), true)
		expectAllowed(t, mustReserve(t, c, spend(1, time.Minute, budget())), false)
		seeds(3)
		mustSettle(t, c, r, Usage{Cost: 600})
		// A settle arriving after its period ended frees its reservation
		// and adds nothing to the current period.
		mustSettle(t, c, late, Usage{Cost: 400})
		expectAllowed(t, mustReserve(t, c, spend(401, time.Minute, budget())), false)
		expectAllowed(t, mustReserve(t, c, spend(400, time.Minute, budget())), true)
		seeds(3)
	})
}

func TestValidation(t *testing.T) {
	each(t, func(t *testing.T, c Counter, clk *fakeClock) {
		bad := []*Reservation{
			{Requests: []Window{{Key: "k", Limit: 1, Window: time.Minute}}},
			{ID: newID(), Requests: []Window{{Key: "k", Limit: 1}}},
			{ID: newID(), Budgets: []Budget{{Limit: 1}}},
			{ID: newID(), Cost: -1},
		}
		for i, r := range bad {
			if _, err := c.Reserve(ctx, r); err == nil || errors.Is(err, ErrUnavailable) {
				t.Errorf("reservation %d: err = %v, want a validation error", i, err)
			}
		}
	})
}

// TestConcurrentExact: 200 concurrent requests against a limit of 60 admit
// exactly 60; against a budget that fits 37.5 of them, exactly 37.
func TestConcurrentExact(t *testing.T) {
	each(t, func(t *testing.T, c Counter, clk *fakeClock) {
		rpm := Window{Key: "key:c:rpm", Limit: 60, Window: time.Minute}
		b := Budget{Key: "key:c:budget:total", Limit: 50_000}
		for _, tc := range []struct {
			name string
			r    func() *Reservation
			want int64
		}{
			{"rpm", func() *Reservation { return requests(rpm) }, 60},
			{"budget", func() *Reservation { return spend(1333, time.Minute, b) }, 37},
		} {
			var admitted atomic.Int64
			var wg sync.WaitGroup
			for range 200 {
				wg.Go(func() {
					d, err := c.Reserve(ctx, tc.r())
					if err != nil {
						t.Error(err)
						return
					}
					if d.Allowed {
						admitted.Add(1)
					}
				})
			}
			wg.Wait()
			if n := admitted.Load(); n != tc.want {
				t.Errorf("%s: %d admitted, want %d", tc.name, n, tc.want)
			}
		}
	})
}

// TestReplicasAgree: two counters on one Redis prefix act as one.
func TestReplicasAgree(t *testing.T) {
	client := redisClient(t)
	prefix := testPrefix(t, client)
	clk := newFakeClock()
	a, b := NewRedis(client, prefix, clk.Now), NewRedis(client, prefix, clk.Now)
	w := Window{Key: "key:r:rpm", Limit: 4, Window: time.Minute}
	for i := range 4 {
		expectAllowed(t, mustReserve(t, []Counter{a, b}[i%2], requests(w)), true)
	}
	expectAllowed(t, mustReserve(t, a, requests(w)), false)
	expectAllowed(t, mustReserve(t, b, requests(w)), false)
}

func ExampleCounter() {
	c := NewMemory(nil)
	r := &Reservation{
		ID:          "req_1",
		Requests:    []Window{{Key: "key:k_1:rpm", Limit: 60, Window: time.Minute}},
		Tokens:      []Window{{Key: "key:k_1:tpm", Limit: 100_000, Window: time.Minute}},
		TokenAmount: 1200,
		Budgets:     []Budget{{Key: "key:k_1:budget:total", Limit: 5_000_000}},
		Cost:        9000,
		TTL:         10 * time.Minute,
	}
	d, _ := c.Reserve(context.Background(), r)
	fmt.Println(d.Allowed, d.States[0].Remaining, d.States[1].Remaining)
	_ = c.Settle(context.Background(), r, Usage{Tokens: 700, Cost: 4100})
	// Output: true 59 98800
}
