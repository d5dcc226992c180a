package router

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/metrics"
)

// State is a circuit breaker's state.
type State uint8

const (
	Closed   State = iota // requests flow
	Open                  // requests are skipped until the cooldown ends
	HalfOpen              // one probe request at a time decides
)

func (s State) String() string {
	switch s {
	case Open:
		return "open"
	case HalfOpen:
		return "half_open"
	}
	return "closed"
}

// buckets split a breaker's ratio window; outcomes older than the window
// fall out one bucket at a time.
const buckets = 10

type bucket struct {
	start            int64 // unix nanoseconds; 0 = unused
	success, failure int
}

// breaker opens after Failures consecutive failures, or when failures make
// up FailureRatio of at least MinRequests outcomes within Window. After
// Cooldown it lets one probe through (half-open): success closes it,
// failure opens it again for another cooldown.
type breaker struct {
	cfg config.Breaker

	mu          sync.Mutex
	state       State
	consecutive int
	openUntil   time.Time
	probing     bool
	window      [buckets]bucket
	lastErr     string
	lastErrAt   time.Time
}

// inherit copies the state another breaker with the same settings learned
// (a config reload). A probe in flight there stays the old breaker's: this
// one lets its own probe through when half-open.
func (b *breaker) inherit(from *breaker) {
	from.mu.Lock()
	defer from.mu.Unlock()
	b.state, b.consecutive, b.openUntil = from.state, from.consecutive, from.openUntil
	b.window = from.window
	b.lastErr, b.lastErrAt = from.lastErr, from.lastErrAt
}

// allow reports whether a request may be sent now; probe is true when it
// is the half-open probe, whose outcome must be reported.
func (b *breaker) allow(now time.Time) (ok, probe bool) {
	if b.cfg.Disabled {
		return true, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Closed:
		return true, false
	case Open:
		if now.Before(b.openUntil) {
			return false, false
		}
		b.state = HalfOpen
	}
	if b.probing {
		return false, false
	}
	b.probing = true
	return true, true
}

// available reports, without changing anything, whether allow would let a
// request through (strategies use it to spread load over healthy targets).
func (b *breaker) available(now time.Time) bool {
	if b.cfg.Disabled {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Open:
		return !now.Before(b.openUntil)
	case HalfOpen:
		return !b.probing
	}
	return true
}

// retryAt is when a skipped request could next be let through.
func (b *breaker) retryAt() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.openUntil
}

// firstByte: a half-open probe that got its first byte closes the circuit
// at once, so a long stream does not hold every other request back. The
// request's outcome is still recorded when it ends.
func (b *breaker) firstByte() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == HalfOpen {
		b.close()
	}
}

// success records a request that ended well.
func (b *breaker) success(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.consecutive = 0
	b.bucket(now).success++
	if b.state == HalfOpen {
		b.close()
	}
}

// failure records a failed request; it may open the circuit.
func (b *breaker) failure(now time.Time, err string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.consecutive++
	b.bucket(now).failure++
	b.lastErr, b.lastErrAt = err, now
	if b.cfg.Disabled {
		return
	}
	switch b.state {
	case HalfOpen:
		b.open(now)
	case Closed:
		if b.cfg.Failures > 0 && b.consecutive >= b.cfg.Failures {
			b.open(now)
			return
		}
		if b.cfg.FailureRatio > 0 {
			ok, fail := b.totals(now)
			if total := ok + fail; total >= b.cfg.MinRequests && total > 0 && float64(fail) >= b.cfg.FailureRatio*float64(total) {
				b.open(now)
			}
		}
	}
}

// release ends a probe whose outcome says nothing about the target's
// health (the caller's own error, or the caller went away).
func (b *breaker) release(probe bool) {
	if !probe {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
}

func (b *breaker) open(now time.Time) {
	b.state = Open
	b.probing = false
	b.openUntil = now.Add(time.Duration(b.cfg.Cooldown))
}

func (b *breaker) close() {
	b.state = Closed
	b.probing = false
	b.consecutive = 0
	b.window = [buckets]bucket{}
}

// bucket returns the window bucket for now, recycling a stale one.
func (b *breaker) bucket(now time.Time) *bucket {
	width := b.bucketWidth()
	slot := now.UnixNano() / width
	idx := slot % buckets
	if idx < 0 {
		idx += buckets
	}
	bk := &b.window[idx]
	if start := slot * width; bk.start != start {
		*bk = bucket{start: start}
	}
	return bk
}

func (b *breaker) bucketWidth() int64 {
	if w := int64(b.cfg.Window) / buckets; w > 0 {
		return w
	}
	return int64(time.Second)
}

// totals sums the outcomes of the buckets that overlap the window.
func (b *breaker) totals(now time.Time) (success, failure int) {
	oldest := now.UnixNano() - int64(b.cfg.Window)
	width := b.bucketWidth()
	for _, bk := range b.window {
		if bk.start != 0 && bk.start+width > oldest {
			success += bk.success
			failure += bk.failure
		}
	}
	return success, failure
}

// snapshot reads the state for health reports. An open circuit whose
// cooldown is over reads as half-open: the next request is its probe.
func (b *breaker) snapshot(now time.Time) (state State, consecutive int, lastErr string, lastErrAt, openUntil time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	state = b.state
	if state == Open && !now.Before(b.openUntil) {
		state = HalfOpen
	}
	return state, b.consecutive, b.lastErr, b.lastErrAt, b.openUntil
}

// latency is an exponentially weighted moving average of the time to the
// first event, lock-free.
type latency struct {
	ewma atomic.Uint64 // math.Float64bits of nanoseconds; 0 = no sample
	last atomic.Int64  // unix nanoseconds of the last sample
}

// latencyAlpha weighs a new sample against the average.
const latencyAlpha = 0.3

func (l *latency) observe(d time.Duration, now time.Time) {
	sample := float64(d)
	if sample <= 0 {
		sample = 1 // a sample of 0 would read as "none"
	}
	for {
		old := l.ewma.Load()
		next := sample
		if old != 0 {
			next = latencyAlpha*sample + (1-latencyAlpha)*math.Float64frombits(old)
		}
		if l.ewma.CompareAndSwap(old, math.Float64bits(next)) {
			break
		}
	}
	l.last.Store(now.UnixNano())
}

// inherit starts l from another average (a config reload).
func (l *latency) inherit(from *latency) {
	l.ewma.Store(from.ewma.Load())
	l.last.Store(from.last.Load())
}

// value is the average and when the last sample was taken (zero: none).
func (l *latency) value() (time.Duration, time.Time) {
	bits := l.ewma.Load()
	if bits == 0 {
		return 0, time.Time{}
	}
	return time.Duration(math.Float64frombits(bits)), time.Unix(0, l.last.Load())
}

// targetState is what the router learns about one target identity
// (provider + upstream model), shared by every route that uses it.
type targetState struct {
	provider, model string
	breaker         breaker
	latency         latency
	health          *providerHealth // nil without active health checks
	obs             *metrics.Target // nil without metrics
}

// allow combines the provider's health and the breaker.
func (s *targetState) allow(now time.Time) (ok, probe bool) {
	if s.health != nil && s.health.isDown() {
		return false, false
	}
	return s.breaker.allow(now)
}

// available reports whether a request would be let through now.
func (s *targetState) available(now time.Time) bool {
	if s.health != nil && s.health.isDown() {
		return false
	}
	return s.breaker.available(now)
}

// retryAt is when a skipped target may take requests again.
func (s *targetState) retryAt(now time.Time) time.Time {
	if s.health != nil && s.health.isDown() {
		return s.health.nextCheck()
	}
	return s.breaker.retryAt()
}

// stateKey identifies a target without building a string.
type stateKey struct{ provider, model string }

// states holds the targetState of every identity. Wildcard routes create
// them on first use, so their number is capped: past maxStates a new
// identity gets a state of its own that is not remembered (no breaker
// memory), which bounds memory whatever model names callers send.
type states struct {
	mu       sync.Mutex
	m        map[stateKey]*targetState
	max      int
	breakers map[stateKey]config.Breaker // explicit per-identity settings
	defaults config.Breaker
	health   map[string]*providerHealth
	metrics  *metrics.Metrics
	// inherit holds the previous router's states of providers whose
	// settings did not change; read-only.
	inherit map[stateKey]*targetState
}

const maxStates = 4096

func (s *states) get(provider, model string, cfg *config.Breaker) *targetState {
	key := stateKey{provider, model}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.m[key]; ok {
		return st
	}
	b := s.defaults
	if cfg != nil {
		b = *cfg
	}
	if explicit, ok := s.breakers[key]; ok {
		b = explicit
	}
	st := &targetState{provider: provider, model: model, breaker: breaker{cfg: b}, health: s.health[provider]}
	if prev, ok := s.inherit[key]; ok && prev.breaker.cfg == b {
		st.breaker.inherit(&prev.breaker)
		st.latency.inherit(&prev.latency)
	}
	if len(s.m) < s.max {
		s.m[key] = st
		st.obs = s.metrics.Target(provider+"/"+model, provider, model)
	} else {
		// Not remembered: its metrics share one series per provider, so
		// callers' model names cannot grow the scrape without bound.
		st.obs = s.metrics.Target(provider+"/other", provider, "other")
	}
	return st
}

// carriedStates returns the remembered states of r whose provider's
// settings are the same in providers (nil r: none).
func (r *Router) carriedStates(providers map[string]config.Provider) map[stateKey]*targetState {
	if r == nil {
		return nil
	}
	out := map[stateKey]*targetState{}
	for _, st := range r.states.all() {
		if cur, ok := providers[st.provider]; ok && r.providers[st.provider].Same(cur) {
			out[stateKey{st.provider, st.model}] = st
		}
	}
	return out
}

// all returns every remembered state.
func (s *states) all() []*targetState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*targetState, 0, len(s.m))
	for _, st := range s.m {
		out = append(out, st)
	}
	return out
}
