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
	"os"
	"sort"
	"strings"
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
	"github.com/tidegate/tidegate/internal/tokens"
	"github.com/tidegate/tidegate/internal/tracing"
)

// App is a configured gateway.
type App struct {
	cfg       *config.Config
	handler   http.Handler
	logger    *slog.Logger
	router    *router.Router
	providers map[string]llm.Provider
	gov       *governance
	apis      *apis
	cache     *cache.Cache
	tracing   *tracing.Tracing
}

// Option adjusts how New builds the gateway (tests inject a clock).
type Option func(*options)

type options struct {
	clock         router.Clock
	rand          func() float64
	cacheObserver func(model, result string)
	metrics       *metrics.Metrics
	tracer        trace.Tracer
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

// New builds the gateway from a validated config.
func New(ctx context.Context, cfg *config.Config, version string, logger *slog.Logger, opts ...Option) (*App, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	tel := cfg.Telemetry
	if tel.Metrics.On() {
		o.metrics = metrics.New(metrics.Options{KeyLabels: tel.Metrics.KeyLabels, Runtime: true})
	}
	tr, err := tracing.New(ctx, tel.Tracing, version, os.Getenv)
	if err != nil {
		return nil, err
	}
	o.tracer = tr.Tracer()
	cat, providers, rt, err := build(cfg, logger, o)
	if err != nil {
		_ = tr.Shutdown(ctx)
		return nil, err
	}
	guards, err := guard.New(cfg)
	if err != nil {
		_ = tr.Shutdown(ctx)
		closeIdle(providers)
		return nil, err
	}
	if o.metrics != nil {
		o.cacheObserver = countCache(o.metrics, o.cacheObserver)
	}
	responses, err := cache.New(cfg, cache.Options{Observe: o.cacheObserver})
	if err != nil {
		_ = tr.Shutdown(ctx)
		closeIdle(providers)
		return nil, err
	}
	gov, err := buildGovernance(ctx, cfg, cat, logger, o.metrics)
	if err != nil {
		_ = tr.Shutdown(ctx)
		closeIdle(providers)
		_ = responses.Close()
		return nil, err
	}
	if apiKeys(cfg) && gov.apiGate == nil {
		err = errors.New("apis with auth: keys need a store")
	}
	var inbound *apis
	var srv *server.Server
	if err == nil {
		var usage *govern.Gate // records auth: jwt calls when there is a usage log
		if gov.store != nil {
			usage = gov.gate
		}
		inbound, err = buildAPIs(ctx, cfg, guards, gov.apiGate, usage, gov.counter, func(dialect, model string) http.Handler {
			return srv.LLMHandler(dialect, model) // srv is set below, before anything is served
		}, logger, o.metrics)
	}
	if err != nil {
		_ = tr.Shutdown(ctx)
		gov.close()
		closeIdle(providers)
		_ = responses.Close()
		return nil, err
	}
	for _, w := range inbound.warnings {
		logger.Warn("api spec", "warning", w)
	}
	ids := modelIDs(ctx, rt, cfg, providers, cat, logger)
	mounts := inbound.mounts
	if gov.admin != nil { // the dashboard is a client of the admin API
		mounts = maps.Clone(mounts)
		accounts := gov.gate // the gate that checks keys, for the key holders' view
		if gov.apiGate != nil {
			accounts = gov.apiGate
		}
		dash := dashboard.New(dashboard.Options{Gate: accounts, Store: gov.store, Models: ids, Logger: logger})
		mounts[dashboard.Prefix] = dash
		mounts[dashboard.Prefix+"/"] = dash
	}
	if o.metrics != nil {
		o.metrics.WatchCircuits(rt.Circuits)
		mounts = maps.Clone(mounts)
		mounts["GET "+tel.Metrics.Path] = o.metrics.Handler(tel.Metrics.BearerToken)
	}
	var access *slog.Logger
	if tel.Logging.AccessLog {
		access = logger
	}
	srv = server.New(server.Options{
		Router:       rt,
		Tokens:       tokens.New(),
		Logger:       logger,
		Version:      version,
		MaxBodyBytes: cfg.Server.MaxBodyBytes,
		ModelIDs:     ids,
		ModelInfo:    modelInfo(rt, cat),
		Gate:         gov.gate,
		Store:        responseStore(cfg, gov.store),
		Providers:    providers,
		Admin:        gov.admin,
		Mounts:       mounts,
		Guards:       guards,
		Cache:        responses,
		ToolLoops:    buildToolLoops(cfg, inbound, version, logger),
		Metrics:      o.metrics,
		AccessLog:    access,
		Tracer:       o.tracer,
		MetricsPath:  tel.Metrics.Path,
	})
	return &App{cfg: cfg, handler: srv, logger: logger, router: rt, providers: providers, gov: gov, apis: inbound, cache: responses, tracing: tr}, nil
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
	_, providers, _, err := build(cfg, logger, options{})
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

func build(cfg *config.Config, logger *slog.Logger, o options) (*catalog.Catalog, map[string]llm.Provider, *router.Router, error) {
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
		Policy:  policies,
		Clock:   o.clock,
		Rand:    o.rand,
		Logger:  logger,
		Metrics: o.metrics,
		Tracer:  o.tracer,
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
	a.gov.close()
	closeIdle(a.providers)
	a.apis.close()
	_ = a.cache.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.tracing.Shutdown(ctx); err != nil {
		a.logger.Warn("trace export on shutdown failed", "error", err)
	}
}

func closeIdle(providers map[string]llm.Provider) {
	for _, p := range providers {
		if c, ok := p.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	}
}

// RunBackground runs the gateway's background work — the providers'
// active health checks — until ctx ends, and returns once it has stopped.
// Serve runs it; tests that serve Handler themselves may run it too.
func (a *App) RunBackground(ctx context.Context) { a.router.RunHealthChecks(ctx) }

// Handler serves the gateway's routes.
func (a *App) Handler() http.Handler { return a.handler }

// Serve accepts connections on ln until ctx ends, then stops accepting and
// lets in-flight requests and streams finish for up to the shutdown timeout.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	s := a.cfg.Server
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

// responseStore is the store Responses API turns are kept in: nil when
// responses.store is off (or there is no store).
func responseStore(cfg *config.Config, st store.Store) store.Store {
	if !cfg.KeepResponses() {
		return nil
	}
	return st
}
