package counter

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Both backends keep time as integer microseconds since the Unix epoch,
// so they round alike and agree with each other.

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Duration { return time.Duration(us) * time.Microsecond }

func (r *Reservation) validate() error {
	if r.ID == "" {
		return errors.New("counter: reservation without an ID")
	}
	if r.TokenAmount < 0 || r.Cost < 0 || r.TTL < 0 {
		return errors.New("counter: negative token amount, cost or TTL")
	}
	for _, ws := range [][]Window{r.Requests, r.Tokens} {
		for _, w := range ws {
			if w.Key == "" || w.Window < time.Microsecond {
				return fmt.Errorf("counter: window %q needs a key and a length of at least 1µs", w.Key)
			}
		}
	}
	for _, b := range r.Budgets {
		if b.Key == "" {
			return errors.New("counter: budget without a key")
		}
	}
	return nil
}

// ttl is how long the reservation holds its budgets, in µs.
func (r *Reservation) ttl() int64 {
	if r.TTL <= 0 {
		return DefaultTTL.Microseconds()
	}
	return r.TTL.Microseconds()
}

// markTTL is how long the ID stays known, in µs: while any of its entries
// can still count (duplicate detection), and, when it has something to
// settle, a minute past that so that a repeated Settle is a no-op.
func (r *Reservation) markTTL() int64 {
	// The reservation's TTL matters only while a budget holds it; a
	// request-window-only reservation needs its mark for its windows alone
	// (Settle does nothing for it), so busy keys keep one window's worth
	// of marks, not the TTL's.
	var d int64
	if len(r.Budgets) > 0 {
		d = r.ttl()
	}
	for _, ws := range [][]Window{r.Requests, r.Tokens} {
		for _, w := range ws {
			d = max(d, w.Window.Microseconds())
		}
	}
	if len(r.Tokens) > 0 || len(r.Budgets) > 0 {
		d += time.Minute.Microseconds()
	}
	return d
}

// seed is a budget's spend as returned by Budget.Seed, passed back to the
// backend on the retry that follows a "missing" report.
type seed struct {
	ok bool
	v  int64
}

// withSeeds runs try until no budget is missing its spend counter: each
// missing one is seeded (outside any lock or script) and try runs again
// with the seeds, which it installs only where the counter still does not
// exist. The common case is a single call.
func withSeeds(ctx context.Context, budgets []Budget, try func(seeds []seed) (missing []int, err error)) error {
	var seeds []seed
	for attempt := 0; ; attempt++ {
		missing, err := try(seeds)
		if err != nil || len(missing) == 0 {
			return err
		}
		if attempt == 2 {
			return fmt.Errorf("%w: budget %q keeps vanishing while being seeded", ErrUnavailable, budgets[missing[0]].Key)
		}
		if seeds == nil {
			seeds = make([]seed, len(budgets))
		}
		for _, i := range missing {
			if i < 0 || i >= len(budgets) {
				return fmt.Errorf("%w: backend reported unknown budget %d", ErrUnavailable, i)
			}
			b := &budgets[i]
			var v int64
			if b.Seed != nil {
				if v, err = b.Seed(ctx); err != nil {
					return fmt.Errorf("%w: seeding budget %q: %w", ErrUnavailable, b.Key, err)
				}
			}
			seeds[i] = seed{ok: true, v: v}
		}
	}
}

// deniedKey names the window or budget at 1-based position i in the order
// Requests, Tokens, Budgets.
func (r *Reservation) deniedKey(i int) string {
	switch {
	case i <= 0:
		return ""
	case i <= len(r.Requests):
		return r.Requests[i-1].Key
	case i <= len(r.Requests)+len(r.Tokens):
		return r.Tokens[i-1-len(r.Requests)].Key
	default:
		return r.Budgets[i-1-len(r.Requests)-len(r.Tokens)].Key
	}
}

// window returns the i-th window in the order Requests, Tokens and the
// amount the reservation takes in it.
func (r *Reservation) window(i int) (*Window, int64, bool) {
	if i < len(r.Requests) {
		return &r.Requests[i], 1, false
	}
	return &r.Tokens[i-len(r.Requests)], r.TokenAmount, true
}
