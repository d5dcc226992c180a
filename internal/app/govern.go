package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tidegate/tidegate/internal/admin"
	"github.com/tidegate/tidegate/internal/cache"
	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/counter"
	"github.com/tidegate/tidegate/internal/govern"
	"github.com/tidegate/tidegate/internal/metrics"
	"github.com/tidegate/tidegate/internal/store"
	"github.com/tidegate/tidegate/internal/tokens"
	"github.com/tidegate/tidegate/internal/tracing"
)

// base is the long-lived, stateful part of the gateway: store, counters,
// usage log writer and tokenizer. It survives configuration reloads; what
// it was opened with (store, redis, counters, listen, server timeouts)
// changes only with a restart.
type base struct {
	cfg     *config.Config // the config it was opened with
	store   store.Store    // nil: no store
	counter counter.Counter
	local   counter.Counter // per-replica limits while Redis is down (fail_open)
	redis   *redis.Client   // the counters' client (the counter does not own it); nil without Redis
	writer  *govern.Writer  // nil without a store
	tokens  *tokens.Counter
	// metrics is the Prometheus registry (nil: telemetry.metrics off);
	// tracing the OTLP exporter. Both outlive reloads.
	metrics *metrics.Metrics
	tracing *tracing.Tracing
	// cache is the response cache of the start config; its store (memory
	// LRU or Redis) outlives reloads, which only change the cache rules.
	cache     *cache.Cache
	cacheOpts cache.Options // with the metrics observer, for every version's cache
	// writes serialises admin mutations across the admin handlers of
	// successive config versions.
	writes sync.Mutex
	once   sync.Once
}

// usageFlushInterval bounds how long a usage record waits before it is
// written (the admin API shows usage within 2 s).
const usageFlushInterval = 500 * time.Millisecond

func openBase(ctx context.Context, cfg *config.Config, copts cache.Options, version string, logger *slog.Logger) (*base, error) {
	b := &base{cfg: cfg, tokens: tokens.New()}
	tel := cfg.Telemetry
	if tel.Metrics.On() {
		b.metrics = metrics.New(metrics.Options{KeyLabels: tel.Metrics.KeyLabels, Runtime: true})
		copts.Observe = countCache(b.metrics, copts.Observe)
	}
	tr, err := tracing.New(ctx, tel.Tracing, version, os.Getenv)
	if err != nil {
		return nil, err
	}
	b.tracing = tr
	b.cacheOpts = copts
	c, err := cache.New(cfg, copts)
	if err != nil {
		b.close()
		return nil, err
	}
	b.cache = c
	if cfg.Store != "" {
		st, err := store.Open(ctx, cfg.Store)
		if err != nil {
			b.close()
			return nil, fmt.Errorf("store: %w", err)
		}
		b.store = st
		b.writer = govern.NewWriter(st, usageFlushInterval, logger, b.metrics)
	}
	// A memory counter holds nothing until limits are used, so there is
	// always one: a reload may add limits.
	ctr, client, err := newCounter(cfg)
	if err != nil {
		b.close()
		return nil, err
	}
	b.counter, b.redis = ctr, client
	if cfg.Redis != "" && cfg.Counters.FailOpen {
		b.local = counter.NewMemory(time.Now)
	}
	return b, nil
}

// responseCache is a config version's response cache over the base's
// store. Caching switched on by a reload when the start config had none
// needs a store the base does not have: that takes a restart.
func (b *base) responseCache(cfg *config.Config) (*cache.Cache, error) {
	if b.cache == nil {
		if cfg.CacheEnabled() {
			return nil, fmt.Errorf("cache: the response cache was off at start; restart to turn it on")
		}
		return nil, nil
	}
	return cache.NewWithStore(cfg, b.cache.Store(), b.cacheOpts), nil
}

// gates are one config version's governance: the LLM gate, the API gate
// and the admin API. All nil when neither a store nor model limits are
// configured.
type gates struct {
	gate *govern.Gate
	// apiGate requires keys for the APIs with auth: keys (the global auth
	// setting governs only the LLM endpoints); nil when none has it.
	apiGate *govern.Gate
	admin   http.Handler
}

func (b *base) gates(cfg *config.Config, cat *catalog.Catalog, cs admin.ConfigService, logger *slog.Logger) (*gates, error) {
	modelLimits := false
	for _, m := range cfg.Models {
		modelLimits = modelLimits || m.Limits.Any()
	}
	if b.store == nil && (cfg.Auth == config.AuthKeys || apiKeys(cfg)) {
		return nil, fmt.Errorf("store: auth: keys needs a store, and the store is opened at start: restart to add one")
	}
	g := &gates{}
	if b.store == nil && !modelLimits {
		return g, nil
	}
	opts := govern.Options{
		Store: b.store, Counter: b.counter, Catalog: cat, Usage: b.writer, Tokens: b.tokens,
		RequireKey: cfg.Auth == config.AuthKeys, FailOpen: b.cfg.Counters.FailOpen, Local: b.local, Logger: logger,
		Metrics: b.metrics, CounterBackend: counterBackend(b.cfg),
	}
	g.gate = govern.New(opts)
	if apiKeys(cfg) && b.store != nil {
		g.apiGate = g.gate
		if !opts.RequireKey {
			opts.RequireKey = true
			g.apiGate = govern.New(opts)
		}
	}
	if b.store == nil { // model limits only: no keys, no usage log, no admin API
		return g, nil
	}
	keys := make([]admin.AdminKey, 0, len(cfg.AdminKeys)+1)
	if k := os.Getenv("TIDEGATE_ADMIN_KEY"); k != "" {
		keys = append(keys, admin.AdminKey{Name: "bootstrap", Secret: k, Scope: "admin"})
	}
	for _, k := range cfg.AdminKeys {
		keys = append(keys, admin.AdminKey{Name: k.Name, Secret: k.Key, Scope: k.Scope})
	}
	g.admin = admin.New(admin.Options{Store: b.store, AdminKeys: keys, Logger: logger, OnChange: g.invalidate,
		Config: cs, Writes: &b.writes})
	return g, nil
}

// newCounter is the limits' counter: Redis when configured (with its
// client, which the caller closes), else memory.
func newCounter(cfg *config.Config) (counter.Counter, *redis.Client, error) {
	if cfg.Redis == "" {
		return counter.NewMemory(time.Now), nil, nil
	}
	opts, err := redis.ParseURL(cfg.Redis)
	if err != nil {
		return nil, nil, fmt.Errorf("redis: %w", err)
	}
	prefix := cfg.Counters.Prefix
	if prefix == "" {
		prefix = "tidegate:"
	}
	client := redis.NewClient(opts)
	return counter.NewRedis(client, prefix, time.Now), client, nil
}

// countCache counts every cache lookup in cache_requests_total, then calls
// next (another observer, if any).
func countCache(m *metrics.Metrics, next func(model, result string)) func(model, result string) {
	return func(model, result string) {
		m.CacheRequest(result)
		if next != nil {
			next(model, result)
		}
	}
}

// counterBackend names the counter in counter_errors_total.
func counterBackend(cfg *config.Config) string {
	if cfg.Redis != "" {
		return "redis"
	}
	return "memory"
}

// invalidate forgets the gates' cached keys after an admin change.
func (g *gates) invalidate() {
	g.gate.Invalidate()
	if g.apiGate != nil && g.apiGate != g.gate {
		g.apiGate.Invalidate()
	}
}

// apiKeys reports whether some API checks callers with virtual keys.
func apiKeys(cfg *config.Config) bool {
	for _, a := range cfg.APIs {
		if a.Auth == config.APIAuthKeys {
			return true
		}
	}
	return false
}

// close flushes the usage log, then releases the counters and the store.
func (b *base) close() {
	b.once.Do(func() {
		b.writer.Close()
		if b.counter != nil {
			b.counter.Close()
		}
		if b.local != nil {
			b.local.Close()
		}
		if b.redis != nil {
			b.redis.Close()
		}
		if b.store != nil {
			b.store.Close()
		}
		_ = b.cache.Close()
		if b.tracing != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = b.tracing.Shutdown(ctx) // flushes the spans still queued
		}
	})
}
