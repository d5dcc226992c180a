// Package counter enforces rate limits and budgets exactly: sliding-log
// request and token windows and USD budget reservations, checked and taken
// atomically across several scopes (key, user, team, model) at once. The
// memory implementation serves one process; the Redis one makes N
// replicas behave as one (one round trip per reservation, Lua scripts).
package counter

import (
	"context"
	"errors"
	"time"
)

// ErrUnavailable wraps a backend failure (Redis unreachable); the caller
// decides between failing closed and failing open.
var ErrUnavailable = errors.New("counter backend unavailable")

// ErrDuplicate is returned by Reserve for an ID that already holds a live
// reservation. Members are keyed by ID, so a reused ID would otherwise be
// counted once for two requests.
var ErrDuplicate = errors.New("counter: reservation id already in use")

// DefaultTTL is how long a reservation holds budget when Reservation.TTL is
// zero.
const DefaultTTL = 10 * time.Minute

// Window is one sliding-window limit on one scope: at most Limit units in
// any interval of length Window. Key names the scope and the window, e.g.
// "key:k_123:rpm".
type Window struct {
	Key    string
	Limit  int64
	Window time.Duration
}

// Budget is one spend limit: settled spend plus live reservations must stay
// within Limit. Amounts are micro-USD. Key names the scope and the period,
// e.g. "key:k_123:budget:2026-11"; the counter expires at Expires (the end
// of the period) so a new period starts from zero. Seed is called when the
// counter does not exist yet (first use, or lost state) and returns the
// spend already recorded in the store for this period.
type Budget struct {
	Key     string
	Limit   int64
	Expires time.Time // zero: never
	Seed    func(ctx context.Context) (int64, error)
}

// Reservation is what one request takes before it is forwarded. All of it
// is admitted or none of it.
type Reservation struct {
	// ID is unique per request and never reused: it names the
	// reservation's entries and its settle marker (Reserve returns
	// ErrDuplicate for an ID still in use). Generate it; never take it
	// from the client.
	ID       string
	Requests []Window // each gets +1
	Tokens   []Window // each gets +TokenAmount
	// TokenAmount is the estimate reserved on every token window: prompt
	// tokens + requested max output.
	TokenAmount int64
	Budgets     []Budget // each gets +Cost
	Cost        int64    // micro-USD: the most this request can cost
	// TTL bounds how long an unsettled reservation holds budget: after it,
	// the reservation no longer counts (a crash between reserve and settle
	// does not leak forever). Zero means DefaultTTL.
	TTL time.Duration
}

// State reports one window or budget after a decision, for rate-limit
// response headers.
type State struct {
	Key       string
	Limit     int64
	Remaining int64
	Reset     time.Duration // until the oldest entry in the window leaves it
}

// Decision is the outcome of Reserve.
type Decision struct {
	Allowed bool
	// Denied is the Key of the first window or budget that refused. A
	// refusing budget wins over refusing windows (waiting does not help).
	Denied string
	// Budget is true when the refusal is a budget (not a rate limit).
	Budget bool
	// RetryAfter is when a refused rate limit will have room again: the
	// longest wait over the refusing windows (zero for budgets). A window
	// whose Limit is below the amount asked can never admit it; its wait
	// is reported as its whole Window.
	RetryAfter time.Duration
	// States of every request and token window, in Reservation order.
	States []State
}

// Usage is what a request actually consumed, for Settle.
type Usage struct {
	Tokens int64 // input + output tokens
	Cost   int64 // micro-USD
}

// Counter is implemented by Memory and Redis.
type Counter interface {
	// Reserve checks every window and budget and, only if all have room,
	// takes the reservation in all of them atomically.
	Reserve(ctx context.Context, r *Reservation) (Decision, error)
	// Settle replaces a reservation's token amount and cost with what the
	// request really used (request counts stay). Settling an unknown or
	// expired reservation still records the spend. Idempotent per ID.
	Settle(ctx context.Context, r *Reservation, u Usage) error
	Close() error
}

// Clock is the counters' time; tests inject a fake one.
type Clock func() time.Time
