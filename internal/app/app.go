// Package app wires configuration, providers, router and server into a
// running gateway. cmd/tidegate only parses flags and calls it; tests build
// the same App in process.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/tidegate/tidegate/internal/cache"
	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/dashboard"
	"github.com/tidegate/tidegate/internal/govern"
	"github.com/tidegate/tidegate/internal/guard"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/metrics"
	"github.com/tidegate/tidegate/internal/policy"
	"github.com/tidegate/tidegate/internal/provider"
	"github.com/tidegate/tidegate/internal/router"
	"github.com/tidegate/tidegate/internal/server"
	"github.com/tidegate/tidegate/internal/store"
)

// App is a configured gateway: a long-lived base (store, counters, usage
// writer) and the current config version's generation (providers, router,
// gates, APIs, server), which a reload replaces atomically.
type App struct {
	logger  *slog.Logger
	version string
	o       options
	base    *base
	gen     atomic.Pointer[generation]
	// swapped wakes the health-check loop when a generation is replaced.
	swapped chan struct{}
	// applying serialises reloads (file, SIGHUP, admin API, other replicas).
	applying sync.Mutex
	handler  http.Handler
	stats    reloadStats
	fileHash string // of the config file as read at start
}

// Option adjusts how New builds the gateway (tests inject a clock).
type Option func(*options)

type options struct {
	clock         router.Clock
	rand          func() float64
	cacheObserver func(model, result string)
	metrics       *metrics.Metrics // set by New from the base
	tracer        trace.Tracer
	source        Source
	onReload      func(ReloadEvent)
	poll          time.Duration
	purgeEvery    time.Duration
}

// WithCacheObserver is called once per request to a cached model with
// its result (hit, miss or bypass): the seam for cache metrics.
func WithCacheObserver(f func(model, result string)) Option {
	return func(o *options) { o.cacheObserver = f }
}

// WithClock makes the router use c for breaker cooldowns, latency and
// retry backoff.
func WithClock(c router.Clock) Option { return func(o *options) { o.clock = c } }

// WithRand makes the router draw jitter and exploration from f.
func WithRand(f func() float64) Option { return func(o *options) { o.rand = f } }

// New builds the gateway from a validated config. With WithSource, the
// config file is watched and, with a store, synchronised with the stored
// config versions (see docs/operations.md for the precedence).
func New(ctx context.Context, cfg *config.Config, version string, logger *slog.Logger, opts ...Option) (*App, error) {
	a := &App{logger: logger, version: version, swapped: make(chan struct{}, 1)}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	for _, opt := range opts {
		opt(&a.o)
	}
	if a.o.source.Getenv == nil {
		a.o.source.Getenv = func(string) string { return "" }
	}
	if a.o.poll == 0 {
		a.o.poll = time.Second
	}
	if a.o.purgeEvery == 0 {
		a.o.purgeEvery = responsePurgeInterval
	}
	b, err := openBase(ctx, cfg, cache.Options{Observe: a.o.cacheObserver}, version, a.logger)
	if err != nil {
		return nil, err
	}
	a.base = b
	a.o.metrics, a.o.tracer = b.metrics, b.tracing.Tracer() // for every version's router
	g, err := a.initial(ctx, cfg)
	if err != nil {
		b.close()
		return nil, err
	}
	a.gen.Store(g)
	// Registered once: the snapshot reads whichever router serves now.
	b.metrics.WatchCircuits(func() []metrics.Circuit { return a.gen.Load().router.Circuits() })
	a.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A request keeps the generation it started on to its end.
		a.gen.Load().server.ServeHTTP(w, r)
	})
	return a, nil
}

// generation is everything built from one config version.
type generation struct {
	cfg       *config.Config
	meta      store.ConfigVersion // Version 0: not (yet) a stored version
	text      string              // the YAML as written; "" when built from a struct
	server    *server.Server
	router    *router.Router
	providers map[string]llm.Provider
	gates     *gates
	apis      *apis
	cache     *cache.Cache // shares the base's store; nil: no model cached
}

// build makes a generation from a validated config; any error means the
// config cannot serve (a routing condition or a spec that does not
// compile, a store it would need, …).
func (a *App) build(ctx context.Context, cfg *config.Config) (*generation, error) {
	a.restartOnly(cfg)
	var previous *router.Router // breaker and health states carry over a reload
	if g := a.gen.Load(); g != nil {
		previous = g.router
	}
	cat, providers, rt, err := build(cfg, a.logger, a.o, previous)
	if err != nil {
		closeIdle(providers)
		return nil, err
	}
	g := &generation{cfg: cfg, router: rt, providers: providers}
	guards, err := guard.New(cfg)
	if err == nil {
		g.cache, err = a.base.responseCache(cfg)
	}
	if err == nil {
		g.gates, err = a.base.gates(cfg, cat, a.configService(), a.logger)
	}
	var srv *server.Server
	if err == nil {
		var usage *govern.Gate // records auth: jwt calls when there is a usage log
		if a.base.store != nil {
			usage = g.gates.gate
		}
		g.apis, err = buildAPIs(ctx, cfg, guards, g.gates.apiGate, usage, a.base.counter, func(dialect, model string) http.Handler {
			return srv.LLMHandler(dialect, model) // srv is set below, before anything is served
		}, a.logger, a.base.metrics)
	}
	if err != nil {
		closeIdle(providers)
		return nil, err
	}
	for _, w := range g.apis.warnings {
		a.logger.Warn("api spec", "warning", w)
	}
	ids := modelIDs(ctx, rt, cfg, providers, cat, a.logger)
	mounts := g.apis.mounts
	if g.gates.admin != nil { // the dashboard is a client of the admin API
		mounts = maps.Clone(mounts)
		accounts := g.gates.gate // the gate that checks keys, for the key holders' view
		if g.gates.apiGate != nil {
			accounts = g.gates.apiGate
		}
		dash := dashboard.New(dashboard.Options{Gate: accounts, Store: a.base.store, Models: ids, Logger: a.logger})
		mounts[dashboard.Prefix] = dash
		mounts[dashboard.Prefix+"/"] = dash
	}
	tel := a.base.cfg.Telemetry // metrics and tracing are the base's: restart-only
	if a.base.metrics != nil {
		mounts = maps.Clone(mounts)
		mounts["GET "+tel.Metrics.Path] = a.base.metrics.Handler(tel.Metrics.BearerToken)
	}
	var access *slog.Logger
	if cfg.Telemetry.Logging.AccessLog {
		access = a.logger
	}
	srv = server.New(server.Options{
		Router:            rt,
		Tokens:            a.base.tokens,
		Logger:            a.logger,
		Version:           a.version,
		MaxBodyBytes:      cfg.Server.MaxBodyBytes,
		ModelIDs:          ids,
		ModelInfo:         modelInfo(rt, cat),
		Gate:              g.gates.gate,
		Store:             responseStore(cfg, a.base.store),
		ResponseRetention: cfg.ResponseRetention(),
		Providers:         providers,
		Admin:             g.gates.admin,
		Mounts:            mounts,
		Guards:            guards,
		Cache:             g.cache,
		ToolLoops:         buildToolLoops(cfg, g.apis, a.version, a.logger),
		Metrics:           a.base.metrics,
		AccessLog:         access,
		Tracer:            a.o.tracer,
		MetricsPath:       tel.Metrics.Path,
	})
	g.server = srv
	return g, nil
}

// release lets go of a replaced generation's idle upstream connections;
// requests still running on it finish undisturbed.
func (g *generation) release() {
	closeIdle(g.providers)
	g.apis.close()
}

// Check builds everything a config describes without serving or calling
// any upstream, so `tidegate lint` reports what New would refuse (such as
// a routing condition or an OpenAPI spec that does not compile).
func Check(cfg *config.Config) error {
	_, err := Lint(cfg)
	return err
}

// Lint is Check that also returns the specs' warnings (missing
// operationIds or descriptions, …), each with its path.
func Lint(cfg *config.Config) ([]string, error) {
	logger := slog.New(slog.DiscardHandler)
	_, providers, _, err := build(cfg, logger, options{}, nil)
	closeIdle(providers)
	if err != nil {
		return nil, err
	}
	guards, err := guard.New(cfg)
	if err != nil {
		return nil, err
	}
	inbound, err := buildAPIs(context.Background(), cfg, guards, nil, nil, nil, nil, logger, nil)
	if err != nil {
		return nil, err
	}
	inbound.close()
	return inbound.warnings, nil
}

func build(cfg *config.Config, logger *slog.Logger, o options, previous *router.Router) (*catalog.Catalog, map[string]llm.Provider, *router.Router, error) {
	cat := catalog.New(catalog.Embedded(), overrides(cfg.ModelInfo), pricing(cfg.Pricing))
	providers, err := provider.Build(cfg.Providers, cat)
	if err != nil {
		return nil, nil, nil, err
	}
	comp, err := policy.NewCompiler()
	if err != nil {
		return nil, providers, nil, err
	}
	engine, err := policy.NewEngine(comp, policyRules(cfg.Policies), func(name string) bool {
		_, ok := cfg.Targets[name]
		return ok
	})
	if err != nil {
		return nil, providers, nil, err
	}
	var rt *router.Router // the policy step routes to the router's named targets
	policies := policy.NewRouter(engine, func(name string) (*router.Route, bool) { return rt.NamedTarget(name) }, logger)
	rt, err = router.New(router.Options{
		Config:    cfg,
		Providers: providers,
		Catalog:   cat,
		CompileCondition: func(expr string) (router.Condition, error) {
			e, err := comp.Compile(expr)
			if err != nil {
				return nil, err
			}
			return policy.Condition{Expr: e}, nil
		},
		Policy:   policies,
		Clock:    o.clock,
		Rand:     o.rand,
		Logger:   logger,
		Metrics:  o.metrics,
		Tracer:   o.tracer,
		Previous: previous,
	})
	if err != nil {
		return nil, providers, nil, fmt.Errorf("invalid config:\n  %s", strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	return cat, providers, rt, nil
}

func policyRules(ps []config.Policy) []policy.Rule {
	out := make([]policy.Rule, len(ps))
	for i, p := range ps {
		out[i] = policy.Rule{When: p.When, Target: p.Target, Deny: p.Deny, AllowTargets: p.AllowTargets}
	}
	return out
}

// Close flushes the usage log, closes the store and counters, and releases
// the providers' idle upstream connections.
func (a *App) Close() {
	a.base.close()
	a.gen.Load().release()
}

func closeIdle(providers map[string]llm.Provider) {
	for _, p := range providers {
		if c, ok := p.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	}
}

// RunBackground runs the gateway's background work until ctx ends, and
// returns once it has stopped: the current generation's active health
// checks (restarted on every reload), the config file watch (WithSource),
// and, with a store, the watch for config versions made by other replicas
// and the purge of stored responses past their retention. Serve runs it;
// tests that serve Handler themselves may run it too.
func (a *App) RunBackground(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { a.runHealth(ctx) })
	if a.o.source.Path != "" {
		wg.Go(func() { a.watchFile(ctx) })
	}
	if a.base.store != nil {
		wg.Go(func() { a.purgeResponses(ctx) })
		wg.Go(func() {
			if err := a.base.store.WatchConfig(ctx, func() { a.applyLatest(ctx) }); err != nil {
				a.logger.Error("config: watching stored versions stopped", "error", err)
			}
		})
	}
	wg.Wait()
}

// runHealth runs the current generation's health checks, restarting them
// on the new one after each reload.
func (a *App) runHealth(ctx context.Context) {
	for {
		hctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		rt := a.gen.Load().router
		go func() {
			defer close(done)
			rt.RunHealthChecks(hctx)
		}()
		select {
		case <-ctx.Done():
		case <-a.swapped:
		}
		cancel()
		<-done
		if ctx.Err() != nil {
			return
		}
	}
}

// Handler serves the gateway's routes.
func (a *App) Handler() http.Handler { return a.handler }

// Serve accepts connections on ln until ctx ends, then stops accepting and
// lets in-flight requests and streams finish for up to the shutdown timeout.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	s := a.base.cfg.Server
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: s.ReadHeaderTimeout.D(10 * time.Second),
		ReadTimeout:       s.ReadTimeout.D(5 * time.Minute),
		IdleTimeout:       s.IdleTimeout.D(2 * time.Minute),
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelDebug),
	}
	bctx, stopBackground := context.WithCancel(ctx)
	background := make(chan struct{})
	go func() {
		defer close(background)
		a.RunBackground(bctx)
	}()
	defer func() {
		stopBackground()
		<-background
		a.Close()
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	grace := s.ShutdownTimeout.D(30 * time.Second)
	a.logger.Info("shutting down", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// overrides turns model_info into catalogue entries. A field left unset
// keeps the embedded entry of the same name, so `gpt-4o: {input_price: 2}`
// changes only the price.
func overrides(m map[string]config.ModelInfo) []catalog.Entry {
	embedded := catalog.New(catalog.Embedded())
	var out []catalog.Entry
	for name, mi := range m {
		info, _ := embedded.Exact(name)
		if mi.ContextWindow != 0 {
			info.ContextWindow = mi.ContextWindow
		}
		if mi.MaxOutput != 0 {
			info.MaxOutput = mi.MaxOutput
		}
		if mi.Reasoning != nil {
			info.Reasoning = *mi.Reasoning
		}
		if len(mi.Modalities) > 0 {
			info.Modalities = mi.Modalities
		}
		if mi.InputPrice != nil || mi.OutputPrice != nil || mi.CacheReadPrice != nil || mi.CacheWritePrice != nil {
			var p llm.Price
			if info.Price != nil {
				p = *info.Price
			}
			for _, f := range []struct {
				dst *float64
				src *float64
			}{{&p.Input, mi.InputPrice}, {&p.Output, mi.OutputPrice}, {&p.CacheRead, mi.CacheReadPrice}, {&p.CacheWrite, mi.CacheWritePrice}} {
				if f.src != nil {
					*f.dst = *f.src
				}
			}
			info.Price = &p
		}
		out = append(out, catalog.Entry{Name: name, Info: info})
	}
	return out
}

// modelInfo tells /v1/models what the catalogue knows of a public model:
// the entry of its first target's upstream model.
func modelInfo(rt *router.Router, cat *catalog.Catalog) func(string) (llm.ModelInfo, bool) {
	return func(id string) (llm.ModelInfo, bool) {
		route, ok := rt.Resolve(id)
		if !ok || len(route.Targets) == 0 {
			return llm.ModelInfo{}, false
		}
		mi := cat.Lookup(route.Targets[0].Model)
		return mi, mi.ContextWindow > 0 || mi.MaxOutput > 0 || mi.Price != nil || len(mi.Modalities) > 0
	}
}

// modelIDs is what /v1/models lists: every public name, and for wildcard
// routes the models known to be behind them (the catalogue's for OpenAI and
// Anthropic, the server's own list for Ollama).
func modelIDs(ctx context.Context, rt *router.Router, cfg *config.Config, providers map[string]llm.Provider, cat *catalog.Catalog, logger *slog.Logger) []string {
	ids := rt.Names()
	for pattern, pname := range rt.Wildcards() {
		prefix := strings.TrimSuffix(pattern, "*")
		var names []string
		switch typ := cfg.Providers[pname].Type; typ {
		case config.TypeOpenAI, config.TypeAzure:
			names = append(cat.Names("gpt-"), cat.Names("o")...)
		case config.TypeAnthropic:
			names = cat.Names("claude-")
		case config.TypeGemini:
			names = cat.Names("gemini-")
		case config.TypeMistral, config.TypeDeepSeek, config.TypeXAI, config.TypePerplexity, config.TypeGroq, config.TypeCohere:
			for _, prefix := range catalogPrefixes(typ) {
				names = append(names, cat.Names(prefix)...)
			}
		case config.TypeOllama:
			if o, ok := providers[pname].(*provider.Ollama); ok {
				lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				var err error
				names, err = o.Models(lctx)
				cancel()
				if err != nil {
					logger.Warn("cannot list Ollama models", "provider", pname, "error", err)
				}
			}
		}
		for _, n := range names {
			ids = append(ids, prefix+n)
		}
	}
	sort.Strings(ids)
	return ids
}

// catalogPrefixes are the catalogue names a preset serves, for the model
// list of its wildcard routes.
func catalogPrefixes(typ string) []string {
	switch typ {
	case config.TypeMistral:
		return []string{"mistral-", "codestral-", "magistral-", "pixtral-", "ministral-", "open-mistral-"}
	case config.TypeDeepSeek:
		return []string{"deepseek-"}
	case config.TypeXAI:
		return []string{"grok-"}
	case config.TypePerplexity:
		return []string{"sonar"}
	case config.TypeGroq:
		return []string{"llama-3", "gpt-oss-"}
	case config.TypeCohere:
		return []string{"command-"}
	}
	return nil
}

// ProbeOllama reports whether an Ollama server answers at url.
func ProbeOllama(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/tags", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// pricing turns `pricing:` into catalogue entries that keep everything the
// catalogue knows of the model but its price.
func pricing(m map[string]config.Pricing) []catalog.Entry {
	embedded := catalog.New(catalog.Embedded())
	out := make([]catalog.Entry, 0, len(m))
	for name, p := range m {
		info, _ := embedded.Exact(name)
		info.Price = &llm.Price{Input: p.Input, Output: p.Output, CacheRead: p.CacheRead, CacheWrite: p.CacheWrite}
		out = append(out, catalog.Entry{Name: name, Info: info})
	}
	return out
}

// responseStore is the store Responses API turns are kept in: nil when
// responses.store is off (or there is no store).
func responseStore(cfg *config.Config, st store.Store) store.Store {
	if !cfg.KeepResponses() {
		return nil
	}
	return st
}
