package router

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/metrics"
)

// Prober is the optional provider capability behind active health checks:
// GET path on the upstream with the provider's credentials.
type Prober interface {
	Probe(ctx context.Context, path string) error
}

// probeFailuresToDown is how many consecutive failed probes mark a
// provider down; one successful probe marks it up again.
const probeFailuresToDown = 2

// providerHealth is the result of a provider's active health checks. While
// a provider is down its targets are skipped like an open circuit.
type providerHealth struct {
	name   string
	prober Prober
	check  config.HealthCheck

	down      atomic.Bool
	mu        sync.Mutex
	failures  int
	lastErr   string
	lastCheck time.Time
	next      time.Time
}

func (h *providerHealth) isDown() bool { return h.down.Load() }

// inherit copies what another check of the same provider learned.
func (h *providerHealth) inherit(from *providerHealth) {
	from.mu.Lock()
	defer from.mu.Unlock()
	h.down.Store(from.down.Load())
	h.failures, h.lastErr, h.lastCheck = from.failures, from.lastErr, from.lastCheck
}

// unchangedHealth is r's health of provider name if its settings are p
// (nil r, or changed: nil).
func (r *Router) unchangedHealth(name string, p config.Provider) *providerHealth {
	if r == nil || !r.providers[name].Same(p) {
		return nil
	}
	return r.health[name]
}

func (h *providerHealth) nextCheck() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.next
}

// RunHealthChecks probes every provider that has a health_check, at once
// and then every interval, until ctx ends; it returns when every probe
// loop has stopped.
func (r *Router) RunHealthChecks(ctx context.Context) {
	var wg sync.WaitGroup
	for _, h := range r.health {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.healthLoop(ctx, h)
		}()
	}
	wg.Wait()
}

func (r *Router) healthLoop(ctx context.Context, h *providerHealth) {
	interval := time.Duration(h.check.Interval)
	if interval <= 0 {
		interval = config.DefaultHealthInterval
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		r.probe(ctx, h, interval)
		timer.Reset(interval)
	}
}

// probe runs one check and updates the provider's health.
func (r *Router) probe(ctx context.Context, h *providerHealth, interval time.Duration) {
	timeout := time.Duration(h.check.Timeout)
	if timeout <= 0 {
		timeout = config.DefaultHealthTimeout
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	err := h.prober.Probe(pctx, h.check.Path)
	cancel()
	if ctx.Err() != nil {
		return // shutting down: the outcome says nothing
	}
	now := r.clock.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastCheck, h.next = now, now.Add(interval)
	if err == nil {
		h.failures, h.lastErr = 0, ""
		if h.down.Swap(false) {
			r.logger.Info("provider healthy again", "provider", h.name)
		}
		return
	}
	h.failures++
	h.lastErr = err.Error()
	if h.failures >= probeFailuresToDown && !h.down.Swap(true) {
		r.logger.Warn("provider failed its health checks; its targets are skipped", "provider", h.name, "error", h.lastErr)
	}
}

// TargetHealth is one target's state, for health reports.
type TargetHealth struct {
	Target              string     `json:"target"` // provider/model
	Provider            string     `json:"provider"`
	Model               string     `json:"model"`
	State               string     `json:"state"` // closed | open | half_open
	Available           bool       `json:"available"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	LastError           string     `json:"last_error,omitempty"`
	LastErrorAt         *time.Time `json:"last_error_at,omitempty"`
	RetryAt             *time.Time `json:"retry_at,omitempty"` // open: when it half-opens
	LatencyMS           *float64   `json:"latency_ewma_ms,omitempty"`
}

// ProviderHealth is a provider's active health check state.
type ProviderHealth struct {
	Provider  string     `json:"provider"`
	Healthy   bool       `json:"healthy"`
	LastCheck *time.Time `json:"last_check,omitempty"`
	LastError string     `json:"last_error,omitempty"`
}

// Health is the router's view of its upstreams.
type Health struct {
	// Status is "healthy" when every circuit is closed and every checked
	// provider is up, else "degraded".
	Status    string           `json:"status"`
	Targets   []TargetHealth   `json:"targets"`
	Providers []ProviderHealth `json:"providers,omitempty"`
	// Unavailable lists the models none of whose targets can take a
	// request now; readiness fails while it is not empty.
	Unavailable []string `json:"unavailable_models,omitempty"`
}

// Health reports every known target (sorted by identity), the checked
// providers and the models that are unavailable.
func (r *Router) Health() Health {
	now := r.clock.Now()
	out := Health{Status: "healthy", Targets: []TargetHealth{}}
	for _, st := range r.states.all() {
		state, consecutive, lastErr, lastErrAt, openUntil := st.breaker.snapshot(now)
		th := TargetHealth{
			Target:              st.provider + "/" + st.model,
			Provider:            st.provider,
			Model:               st.model,
			State:               state.String(),
			Available:           st.available(now),
			ConsecutiveFailures: consecutive,
			LastError:           lastErr,
		}
		if !lastErrAt.IsZero() {
			th.LastErrorAt = &lastErrAt
		}
		if state == Open {
			th.RetryAt = &openUntil
		}
		if d, at := st.latency.value(); !at.IsZero() {
			ms := float64(d) / float64(time.Millisecond)
			th.LatencyMS = &ms
		}
		if state != Closed || !th.Available {
			out.Status = "degraded"
		}
		out.Targets = append(out.Targets, th)
	}
	sort.Slice(out.Targets, func(i, j int) bool { return out.Targets[i].Target < out.Targets[j].Target })
	for _, name := range sortedKeys(r.health) {
		h := r.health[name]
		h.mu.Lock()
		ph := ProviderHealth{Provider: name, Healthy: !h.isDown(), LastError: h.lastErr}
		if !h.lastCheck.IsZero() {
			at := h.lastCheck
			ph.LastCheck = &at
		}
		h.mu.Unlock()
		if !ph.Healthy {
			out.Status = "degraded"
		}
		out.Providers = append(out.Providers, ph)
	}
	out.Unavailable = r.unavailable(now)
	return out
}

// unavailable lists the models (not wildcards) whose every target is
// skipped right now.
func (r *Router) unavailable(now time.Time) []string {
	var out []string
	for _, name := range sortedKeys(r.routes) {
		rt := r.routes[name]
		up := false
		for i := range rt.Targets {
			if st := rt.Targets[i].state; st == nil || st.available(now) {
				up = true
				break
			}
		}
		if !up {
			out = append(out, name)
		}
	}
	return out
}

// Circuits is every known target's breaker state for the circuit_state
// metric (read at scrape time).
func (r *Router) Circuits() []metrics.Circuit {
	now := r.clock.Now()
	all := r.states.all()
	out := make([]metrics.Circuit, 0, len(all))
	for _, st := range all {
		state, _, _, _, _ := st.breaker.snapshot(now)
		out = append(out, metrics.Circuit{Target: st.provider + "/" + st.model, State: int(state)})
	}
	return out
}
