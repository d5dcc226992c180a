// Package metrics holds the gateway's Prometheus collectors on a registry
// of its own (never the global default). Packages receive a *Metrics
// through their Options; a nil *Metrics and the nil handles it gives out
// are valid and do nothing, so an unconfigured gateway pays one nil check.
//
// Label values are bounded: HTTP paths are route patterns, upstreams are
// the router's target identities (capped), key names appear only when
// configured. Hot-path handles (Route, Target) resolve their label children
// once, when the route or target is built.
package metrics

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric name.
const Namespace = "tidegate"

// Options configure Metrics.
type Options struct {
	// KeyLabels puts key names in key_name and consumer labels; off, those
	// labels are empty (one series) so a large key count cannot blow up
	// the scrape.
	KeyLabels bool
	// Runtime adds the Go runtime and process collectors.
	Runtime bool
}

// Metrics is one gateway's collectors and their registry.
type Metrics struct {
	reg       *prometheus.Registry
	keyLabels bool

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	httpInFlight *prometheus.GaugeVec

	upstreamDuration *prometheus.HistogramVec
	upstreamTTFB     *prometheus.HistogramVec
	upstreamRequests *prometheus.CounterVec
	upstreamErrors   *prometheus.CounterVec

	streamEvents   *prometheus.CounterVec
	streamBytes    *prometheus.CounterVec
	streamDuration *prometheus.HistogramVec

	authRequests  *prometheus.CounterVec
	auth          [authResults]prometheus.Counter
	rateLimited   *prometheus.CounterVec
	quotaExceeded *prometheus.CounterVec
	// The key_name="" children, resolved once (key labels off).
	rateLimitedAll, quotaExceededAll prometheus.Counter

	tokens        *prometheus.CounterVec
	cost          *prometheus.CounterVec
	fallbacks     *prometheus.CounterVec
	cacheRequests *prometheus.CounterVec
	reloads       *prometheus.CounterVec
	overhead      prometheus.Histogram
	mcpCalls      *prometheus.CounterVec

	counterErrors *prometheus.CounterVec
	failOpen      prometheus.Counter
	usageDropped  prometheus.Counter
}

// New registers every collector on a new registry.
func New(opt Options) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), keyLabels: opt.KeyLabels}
	// Histogram buckets, in seconds. LLM calls run from milliseconds
	// (cached, local) to minutes (long generations); the gateway's own
	// overhead is sub-millisecond.
	latencyBuckets := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300}
	overheadBuckets := []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
		m.reg.MustRegister(v)
		return v
	}
	histogram := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets}, labels)
		m.reg.MustRegister(v)
		return v
	}
	m.httpRequests = counter("http_requests_total", "HTTP requests served, by route pattern and status.", "method", "path", "status")
	m.httpDuration = histogram("http_request_duration_seconds", "Time from the request to the end of the answer (streams included).", latencyBuckets, "method", "path")
	m.httpInFlight = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "http_requests_in_flight", Help: "Requests being served."}, []string{"method", "path"})
	m.reg.MustRegister(m.httpInFlight)

	m.upstreamDuration = histogram("upstream_request_duration_seconds", "Upstream attempts, from the call to the end of the answer or stream.", latencyBuckets, "upstream", "provider")
	m.upstreamTTFB = histogram("upstream_ttfb_seconds", "Upstream attempts, from the call to the first event.", latencyBuckets, "upstream", "provider")
	m.upstreamRequests = counter("upstream_requests_total", "Upstream attempts by HTTP status (\"error\": no HTTP answer).", "upstream", "provider", "status")
	m.upstreamErrors = counter("upstream_errors_total", "Failed upstream attempts by error type.", "upstream", "error_type")

	m.streamEvents = counter("streaming_events_total", "Stream events written to callers.", "provider")
	m.streamBytes = counter("streaming_bytes_total", "Stream bytes written to callers.", "provider")
	m.streamDuration = histogram("streaming_duration_seconds", "Streams, from the first event to the end.", latencyBuckets, "provider")

	m.authRequests = counter("auth_requests_total", "Virtual key checks by result.", "result")
	for r := range m.auth {
		m.auth[r] = m.authRequests.WithLabelValues(AuthResult(r).String())
	}
	m.rateLimited = counter("rate_limit_exceeded_total", "Requests refused by a rate limit (429).", "key_name")
	m.quotaExceeded = counter("quota_exceeded_total", "Requests refused by a spent budget.", "key_name")
	// Without key labels there is one series each, present at 0 from the
	// start so dashboards show 0 rather than no data.
	m.rateLimitedAll = m.rateLimited.WithLabelValues("")
	m.quotaExceededAll = m.quotaExceeded.WithLabelValues("")

	m.tokens = counter("tokens_total", "Tokens reported by upstreams, by type (input, output, cache_read, cache_write).", "provider", "model", "type")
	m.cost = counter("cost_dollars_total", "Cost of the tokens used, in USD, at catalogue or configured prices.", "provider", "model", "consumer")
	m.fallbacks = counter("fallbacks_total", "Requests that moved from a failed target to the next.", "model", "from", "to")
	m.cacheRequests = counter("cache_requests_total", "Response cache lookups by result.", "result")
	m.reloads = counter("config_reloads_total", "Configuration reloads by origin (file, api, rollback, store) and result (applied, rejected).", "origin", "result")
	m.overhead = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "gateway_overhead_seconds",
		Help: "Time to the caller's first byte spent in the gateway itself: upstream attempts and retry waits excluded.", Buckets: overheadBuckets})
	m.reg.MustRegister(m.overhead)
	m.mcpCalls = counter("mcp_tool_calls_total", "MCP tools/call requests by API, tool and status (ok, error, invalid, refused).", "api", "tool", "status")

	m.counterErrors = counter("counter_errors_total", "Rate-limit and budget counter operations that failed (backend unreachable).", "backend")
	m.failOpen = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "counter_fail_open_total",
		Help: "Requests admitted without shared limits because the counter backend failed (counters.fail_open)."})
	m.reg.MustRegister(m.failOpen)
	m.usageDropped = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "usage_dropped_total",
		Help: "Usage log records dropped because the store kept failing and the retry buffer was full."})
	m.reg.MustRegister(m.usageDropped)

	if opt.Runtime {
		m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

// Registry is where the collectors live (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text or protobuf format.
// With a token, a request must carry "Authorization: Bearer <token>".
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// AuthResult is the outcome of a key check.
type AuthResult uint8

// Key check results.
const (
	AuthOK        AuthResult = iota // a valid key
	AuthMissing                     // no key where one is required
	AuthInvalid                     // unknown key
	AuthRevoked                     // revoked key
	AuthExpired                     // expired key
	AuthError                       // the key store failed
	AuthAnonymous                   // auth is off: not checked
	authResults
)

func (r AuthResult) String() string {
	return [...]string{"ok", "missing", "invalid", "revoked", "expired", "error", "anonymous"}[r]
}

// Auth counts one key check.
func (m *Metrics) Auth(r AuthResult) {
	if m != nil {
		m.auth[r].Inc()
	}
}

// keyName is the key_name / consumer label value.
func (m *Metrics) keyName(name string) string {
	if m.keyLabels {
		return name
	}
	return ""
}

// RateLimited counts a 429 from a rate limit.
func (m *Metrics) RateLimited(keyName string) {
	switch {
	case m == nil:
	case m.keyLabels:
		m.rateLimited.WithLabelValues(keyName).Inc()
	default:
		m.rateLimitedAll.Inc()
	}
}

// QuotaExceeded counts a refusal for a spent budget.
func (m *Metrics) QuotaExceeded(keyName string) {
	switch {
	case m == nil:
	case m.keyLabels:
		m.quotaExceeded.WithLabelValues(keyName).Inc()
	default:
		m.quotaExceededAll.Inc()
	}
}

// Fallback counts a request moving from target from to target to.
func (m *Metrics) Fallback(model, from, to string) {
	if m != nil {
		m.fallbacks.WithLabelValues(model, from, to).Inc()
	}
}

// ConfigReload counts one attempt to apply a configuration version.
func (m *Metrics) ConfigReload(origin, result string) {
	if m != nil {
		m.reloads.WithLabelValues(origin, result).Inc()
	}
}

// CacheRequest counts a response cache lookup ("hit", "miss", …).
func (m *Metrics) CacheRequest(result string) {
	if m != nil {
		m.cacheRequests.WithLabelValues(result).Inc()
	}
}

// Overhead records the gateway's own time for one request.
func (m *Metrics) Overhead(d time.Duration) {
	if m != nil && d >= 0 {
		m.overhead.Observe(d.Seconds())
	}
}

// MCPCall counts one tools/call.
func (m *Metrics) MCPCall(api, tool, status string) {
	if m != nil {
		m.mcpCalls.WithLabelValues(api, tool, status).Inc()
	}
}

// CounterError counts a failed counter operation on backend.
func (m *Metrics) CounterError(backend string) {
	if m != nil {
		m.counterErrors.WithLabelValues(backend).Inc()
	}
}

// UsageDropped counts usage records the writer gave up on.
func (m *Metrics) UsageDropped(n int) {
	if m != nil {
		m.usageDropped.Add(float64(n))
	}
}

// FailOpen counts a request admitted while the counter backend was down.
func (m *Metrics) FailOpen() {
	if m != nil {
		m.failOpen.Inc()
	}
}

// Circuit is one target's breaker state as circuit_state reports it:
// 0 closed, 1 open, 2 half-open.
type Circuit struct {
	Target string
	State  int
}

// WatchCircuits exports circuit_state{target}, read from snapshot at each
// scrape (nothing is kept up to date on the request path).
func (m *Metrics) WatchCircuits(snapshot func() []Circuit) {
	if m != nil {
		m.reg.MustRegister(&circuits{snapshot: snapshot, desc: prometheus.NewDesc(Namespace+"_circuit_state",
			"Circuit breaker state per target: 0 closed, 1 open, 2 half-open.", []string{"target"}, nil)})
	}
}

type circuits struct {
	snapshot func() []Circuit
	desc     *prometheus.Desc
}

func (c *circuits) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *circuits) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.snapshot() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(s.State), s.Target)
	}
}

// commonStatuses get their label children resolved once per route; others
// are resolved when they happen.
func commonStatuses() [nCommon]int {
	return [nCommon]int{200, 400, 401, 403, 404, 413, 429, 500, 502, 503, 504}
}

const nCommon = 11

func statusIndex(status int) int {
	for i, s := range commonStatuses() {
		if s == status {
			return i
		}
	}
	return -1
}

// Route is one HTTP route's handles, resolved when the route is mounted.
type Route struct {
	inFlight prometheus.Gauge
	duration prometheus.Observer
	status   [nCommon]prometheus.Counter
	vec      *prometheus.CounterVec
	method   string
	path     string
}

// Route returns the handles of the route pattern (method may be "" for
// any method). Nil when m is nil.
func (m *Metrics) Route(method, path string) *Route {
	if m == nil {
		return nil
	}
	if method == "" {
		method = "ANY"
	}
	r := &Route{inFlight: m.httpInFlight.WithLabelValues(method, path), duration: m.httpDuration.WithLabelValues(method, path),
		vec: m.httpRequests, method: method, path: path}
	for i, s := range commonStatuses() {
		r.status[i] = m.httpRequests.WithLabelValues(method, path, strconv.Itoa(s))
	}
	return r
}

// Start counts a request in flight.
func (r *Route) Start() {
	if r != nil {
		r.inFlight.Inc()
	}
}

// Done ends a request started with Start.
func (r *Route) Done(status int, d time.Duration) {
	if r == nil {
		return
	}
	r.inFlight.Dec()
	r.duration.Observe(d.Seconds())
	if i := statusIndex(status); i >= 0 {
		r.status[i].Inc()
		return
	}
	r.vec.WithLabelValues(r.method, r.path, strconv.Itoa(status)).Inc()
}

// Target is one upstream target's handles, resolved when the router first
// meets the target.
type Target struct {
	m                         *Metrics
	upstream, provider, model string
	duration, ttfb            prometheus.Observer
	ok                        prometheus.Counter
	streamEvents              prometheus.Counter
	streamBytes               prometheus.Counter
	streamDuration            prometheus.Observer
	tokens                    [4]prometheus.Counter // input, output, cache_read, cache_write
	cost                      prometheus.Counter    // consumer ""
}

// Target returns the handles of the target upstream (its identity,
// provider/model) on provider serving model. Nil when m is nil.
func (m *Metrics) Target(upstream, provider, model string) *Target {
	if m == nil {
		return nil
	}
	t := &Target{m: m, upstream: upstream, provider: provider, model: model,
		duration:       m.upstreamDuration.WithLabelValues(upstream, provider),
		ttfb:           m.upstreamTTFB.WithLabelValues(upstream, provider),
		ok:             m.upstreamRequests.WithLabelValues(upstream, provider, "200"),
		streamEvents:   m.streamEvents.WithLabelValues(provider),
		streamBytes:    m.streamBytes.WithLabelValues(provider),
		streamDuration: m.streamDuration.WithLabelValues(provider),
		cost:           m.cost.WithLabelValues(provider, model, ""),
	}
	for i, typ := range [...]string{"input", "output", "cache_read", "cache_write"} {
		t.tokens[i] = m.tokens.WithLabelValues(provider, model, typ)
	}
	return t
}

// FirstByte records an attempt's time to its first event.
func (t *Target) FirstByte(d time.Duration) {
	if t != nil {
		t.ttfb.Observe(d.Seconds())
	}
}

// Succeeded records an attempt that ended well after d.
func (t *Target) Succeeded(d time.Duration) {
	if t != nil {
		t.ok.Inc()
		t.duration.Observe(d.Seconds())
	}
}

// Failed records an attempt that failed after d: status is the upstream's
// HTTP status (0: none, such as a refused connection or a broken stream),
// errorType the error's kind.
func (t *Target) Failed(d time.Duration, status int, errorType string) {
	if t == nil {
		return
	}
	t.duration.Observe(d.Seconds())
	label := "error"
	if status > 0 {
		label = strconv.Itoa(status)
	}
	t.m.upstreamRequests.WithLabelValues(t.upstream, t.provider, label).Inc()
	t.m.upstreamErrors.WithLabelValues(t.upstream, errorType).Inc()
}

// Stream records a stream written to a caller.
func (t *Target) Stream(events, bytes int, d time.Duration) {
	if t != nil {
		t.streamEvents.Add(float64(events))
		t.streamBytes.Add(float64(bytes))
		t.streamDuration.Observe(d.Seconds())
	}
}

// Usage records the tokens an answer used and their cost in USD; consumer
// is the key name (ignored unless key labels are on).
func (t *Target) Usage(input, output, cacheRead, cacheWrite int, cost float64, consumer string) {
	if t == nil {
		return
	}
	for i, n := range [...]int{input, output, cacheRead, cacheWrite} {
		if n > 0 {
			t.tokens[i].Add(float64(n))
		}
	}
	if cost <= 0 {
		return
	}
	if c := t.m.keyName(consumer); c != "" {
		t.m.cost.WithLabelValues(t.provider, t.model, c).Add(cost)
		return
	}
	t.cost.Add(cost)
}
