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
	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/counter"
	"github.com/tidegate/tidegate/internal/govern"
	"github.com/tidegate/tidegate/internal/metrics"
	"github.com/tidegate/tidegate/internal/store"
)

// governance is the stateful part of the gateway: store, counters, usage
// log writer, the gate and the admin API. All nil when no store is set.
type governance struct {
	store   store.Store
	counter counter.Counter
	writer  *govern.Writer
	gate    *govern.Gate
	// apiGate requires keys for the APIs with auth: keys (the global auth
	// setting governs only the LLM endpoints); nil when none has it.
	apiGate *govern.Gate
	admin   http.Handler
	once    sync.Once
}

// usageFlushInterval bounds how long a usage record waits before it is
// written (the admin API shows usage within 2 s).
const usageFlushInterval = 500 * time.Millisecond

func buildGovernance(ctx context.Context, cfg *config.Config, cat *catalog.Catalog, logger *slog.Logger, m *metrics.Metrics) (*governance, error) {
	modelLimits := false
	for _, m := range cfg.Models {
		modelLimits = modelLimits || m.Limits.Any()
	}
	if cfg.Store == "" && !modelLimits {
		if len(cfg.Middlewares) == 0 {
			return &governance{}, nil
		}
		// The operations' rate limits need only the counters.
		c, err := newCounter(cfg)
		if err != nil {
			return nil, err
		}
		return &governance{counter: c}, nil
	}
	g := &governance{}
	if cfg.Store != "" {
		st, err := store.Open(ctx, cfg.Store)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		g.store = st
	}
	c, err := newCounter(cfg)
	if err != nil {
		g.close()
		return nil, err
	}
	g.counter = c
	var local counter.Counter // per-replica limits while Redis is down (fail_open)
	if cfg.Redis != "" && cfg.Counters.FailOpen {
		local = counter.NewMemory(time.Now)
	}
	if g.store != nil {
		g.writer = govern.NewWriter(g.store, usageFlushInterval, logger)
	}
	opts := govern.Options{
		Store: g.store, Counter: g.counter, Catalog: cat, Usage: g.writer,
		RequireKey: cfg.Auth == config.AuthKeys, FailOpen: cfg.Counters.FailOpen, Local: local, Logger: logger,
		Metrics: m, CounterBackend: counterBackend(cfg),
	}
	g.gate = govern.New(opts)
	if apiKeys(cfg) && g.store != nil {
		g.apiGate = g.gate
		if !opts.RequireKey {
			opts.RequireKey = true
			g.apiGate = govern.New(opts)
		}
	}
	if g.store == nil { // model limits only: no keys, no usage log, no admin API
		return g, nil
	}
	keys := make([]admin.AdminKey, 0, len(cfg.AdminKeys)+1)
	if k := os.Getenv("TIDEGATE_ADMIN_KEY"); k != "" {
		keys = append(keys, admin.AdminKey{Name: "bootstrap", Secret: k, Scope: "admin"})
	}
	for _, k := range cfg.AdminKeys {
		keys = append(keys, admin.AdminKey{Name: k.Name, Secret: k.Key, Scope: k.Scope})
	}
	g.admin = admin.New(admin.Options{Store: g.store, AdminKeys: keys, Logger: logger, OnChange: g.invalidate})
	return g, nil
}

// newCounter is the limits' counter: Redis when configured, else memory.
func newCounter(cfg *config.Config) (counter.Counter, error) {
	if cfg.Redis == "" {
		return counter.NewMemory(time.Now), nil
	}
	opts, err := redis.ParseURL(cfg.Redis)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	prefix := cfg.Counters.Prefix
	if prefix == "" {
		prefix = "tidegate:"
	}
	return counter.NewRedis(redis.NewClient(opts), prefix, time.Now), nil
}

// counterBackend names the counter in counter_errors_total.
func counterBackend(cfg *config.Config) string {
	if cfg.Redis != "" {
		return "redis"
	}
	return "memory"
}

// invalidate forgets the gates' cached keys after an admin change.
func (g *governance) invalidate() {
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
func (g *governance) close() {
	g.once.Do(func() {
		g.writer.Close()
		if g.counter != nil {
			g.counter.Close()
		}
		if g.store != nil {
			g.store.Close()
		}
	})
}
