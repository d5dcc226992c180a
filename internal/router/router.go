// Package router turns a public model name into an ordered list of upstream
// targets and runs a request against them. Strategies only order the
// targets; one executor runs every order with retries, backoff, circuit
// breakers, fallback and an overall deadline. It reads the first stream
// event before returning, so a failure before any byte reaches the caller
// can still fall back to the next target.
package router

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/metrics"
)

// Target is one upstream model on one provider, with how to retry it.
type Target struct {
	Provider llm.Provider
	Model    string // upstream model name
	Name     string // the named target it comes from, if any
	Weight   int    // loadbalance weight
	Retry    Retry
	// When is the compiled `when:` of a conditional target; nil for the
	// default targets. WhenExpr is its source.
	When     Condition
	WhenExpr string

	state   *targetState    // breaker and latency, shared per provider/model
	price   *llm.Price      // cost strategy; nil = unknown
	breaker *config.Breaker // explicit breaker of a wildcard target, for states created per name
}

// ID is the target's identity: provider name / upstream model. Breakers
// and latency are kept per identity.
func (t *Target) ID() string { return t.Provider.Name() + "/" + t.Model }

// Price is the upstream model's price from the catalogue (nil: unknown or
// free), looked up when the target was built.
func (t *Target) Price() *llm.Price { return t.price }

// Metrics is the target's metric handles; nil without metrics.
func (t *Target) Metrics() *metrics.Target {
	if t.state == nil {
		return nil
	}
	return t.state.obs
}

// Retry is a target's retry policy.
type Retry struct {
	Attempts      int // tries on this target, the first included
	Backoff       time.Duration
	MaxBackoff    time.Duration
	MaxRetryAfter time.Duration
	OnStatus      StatusSet
}

// StatusSet is a set of HTTP error statuses (400-599).
type StatusSet [4]uint64

// NewStatusSet builds a set; statuses outside 400-599 are ignored.
func NewStatusSet(statuses ...int) StatusSet {
	var s StatusSet
	for _, st := range statuses {
		if st >= 400 && st < 600 {
			s[(st-400)/64] |= 1 << ((st - 400) % 64)
		}
	}
	return s
}

// Has reports whether status is in the set.
func (s StatusSet) Has(status int) bool {
	return status >= 400 && status < 600 && s[(status-400)/64]&(1<<((status-400)%64)) != 0
}

// Route is what a public model name resolves to. Routes are shared by
// concurrent requests: treat them as read-only.
type Route struct {
	Name     string
	Strategy string
	Targets  []Target
	// Timeout bounds all attempts and the stream together; 0: none.
	Timeout           time.Duration
	FallbackOnRefusal bool
	// Limits are the model's own rate limits, counted under LimitKey (the
	// config entry's name, shared by every name a wildcard matches).
	Limits   config.ModelLimits
	LimitKey string

	lb *balancer // loadbalance state, shared by the expansions of a wildcard
}

// Options configure a Router.
type Options struct {
	Config    *config.Config
	Providers map[string]llm.Provider
	// Catalog supplies prices for the cost strategy (nil: all unknown).
	Catalog *catalog.Catalog
	// CompileCondition compiles `when:` expressions (CEL). Without it a
	// conditional model is a load error.
	CompileCondition ConditionCompiler
	// Policy, when set, may replace or refuse the route of each request.
	Policy Policy
	Clock  Clock          // nil: real time
	Rand   func() float64 // in [0,1): jitter and exploration; nil: math/rand/v2
	Logger *slog.Logger
	// Metrics records upstream attempts, fallbacks and circuit states;
	// nil: off.
	Metrics *metrics.Metrics
	// Tracer, when set, starts a client span per upstream attempt.
	Tracer trace.Tracer
	// Previous is the router this one replaces on a config reload. A
	// target whose provider settings and breaker settings did not change
	// keeps its breaker state and latency average, so a reload does not
	// send traffic back to an upstream whose breaker is open.
	Previous *Router
}

// Router resolves public model names and runs requests. Its routes are
// immutable once built; breakers, latency and balancer state change under
// their own locks or atomics.
type Router struct {
	routes    map[string]*Route
	aliases   map[string]string
	wildcards []*Route // Name is the pattern; longest first
	named     map[string]*Route
	states    *states
	health    map[string]*providerHealth
	catalog   *catalog.Catalog
	policy    Policy
	clock     Clock
	rand      func() float64
	logger    *slog.Logger
	metrics   *metrics.Metrics
	tracer    trace.Tracer
	providers map[string]config.Provider // the settings the states were learned under
	// explore is the chance that least-latency tries a random target first.
	explore float64
}

// New builds a router over a validated config. Every `when:` is compiled
// here; the errors name their config path.
func New(opt Options) (*Router, error) {
	cfg := opt.Config
	if cfg == nil {
		cfg = &config.Config{}
	}
	r := &Router{
		routes:    make(map[string]*Route, len(cfg.Models)),
		aliases:   cfg.Aliases,
		named:     make(map[string]*Route, len(cfg.Targets)),
		health:    map[string]*providerHealth{},
		catalog:   opt.Catalog,
		policy:    opt.Policy,
		clock:     opt.Clock,
		rand:      opt.Rand,
		logger:    opt.Logger,
		metrics:   opt.Metrics,
		tracer:    opt.Tracer,
		explore:   0.05,
		providers: cfg.Providers,
	}
	if r.clock == nil {
		r.clock = realClock{}
	}
	if r.rand == nil {
		r.rand = rand.Float64
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	for name, p := range cfg.Providers {
		if p.HealthCheck == nil {
			continue
		}
		if prober, ok := opt.Providers[name].(Prober); ok {
			h := &providerHealth{name: name, prober: prober, check: *p.HealthCheck}
			if prev := opt.Previous.unchangedHealth(name, p); prev != nil {
				h.inherit(prev) // a provider that was down stays down until a probe succeeds
			}
			r.health[name] = h
		}
	}
	r.states = &states{
		m:        map[stateKey]*targetState{},
		max:      maxStates,
		breakers: map[stateKey]config.Breaker{},
		defaults: *cfg.Effective(config.Target{}).Breaker,
		health:   r.health,
		metrics:  opt.Metrics,
		inherit:  opt.Previous.carriedStates(cfg.Providers),
	}
	r.registerBreakers(cfg)

	var errs []string
	for _, name := range sortedKeys(cfg.Targets) {
		t, err := r.target(cfg, config.Target{Target: name}, opt)
		if err != nil {
			errs = append(errs, "targets."+name+": "+err.Error())
			continue
		}
		r.named[name] = &Route{Name: name, Strategy: config.StrategySingle, Targets: []Target{t}}
	}
	for _, name := range sortedKeys(cfg.Models) {
		m := cfg.Models[name]
		rt := &Route{Name: name, Strategy: m.StrategyName(), Timeout: time.Duration(m.Timeout), FallbackOnRefusal: m.FallbackOnRefusal,
			Limits: m.Limits, LimitKey: name}
		for i, ct := range m.TargetList() {
			t, err := r.target(cfg, ct, opt)
			if err != nil {
				path := fmt.Sprintf("models.%s.targets[%d]", name, i)
				if m.Provider != "" {
					path = "models." + name
				}
				var fe fieldError
				if errors.As(err, &fe) {
					path += "." + fe.field
					err = fe.err
				}
				errs = append(errs, path+": "+err.Error())
				continue
			}
			rt.Targets = append(rt.Targets, t)
		}
		if len(rt.Targets) == 0 {
			continue
		}
		if rt.Strategy == config.StrategyLoadBalance {
			rt.lb = newBalancer(rt.Targets)
		}
		if config.IsWildcard(name) {
			r.wildcards = append(r.wildcards, rt)
		} else {
			r.routes[name] = rt
		}
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	sort.Slice(r.wildcards, func(i, j int) bool { return len(r.wildcards[i].Name) > len(r.wildcards[j].Name) })
	return r, nil
}

// registerBreakers records the explicit breaker settings per identity, so
// the state shared by every route to it uses them whatever route is built
// first. The config validation rejects conflicting settings.
func (r *Router) registerBreakers(cfg *config.Config) {
	set := func(t config.Target) {
		explicit := t.Breaker != nil || t.Target != "" && cfg.Targets[t.Target].Breaker != nil
		if eff := cfg.Effective(t); explicit && eff.Model != "" {
			r.states.breakers[stateKey{eff.Provider, eff.Model}] = *eff.Breaker
		}
	}
	for _, name := range sortedKeys(cfg.Targets) {
		set(config.Target{Target: name})
	}
	for _, name := range sortedKeys(cfg.Models) {
		for _, t := range cfg.Models[name].TargetList() {
			set(t)
		}
	}
}

// target builds one target from its config.
func (r *Router) target(cfg *config.Config, ct config.Target, opt Options) (Target, error) {
	if ct.Target != "" {
		if _, ok := cfg.Targets[ct.Target]; !ok {
			return Target{}, fmt.Errorf("unknown target %q", ct.Target)
		}
	}
	eff := cfg.Effective(ct)
	p, ok := opt.Providers[eff.Provider]
	if !ok {
		return Target{}, fmt.Errorf("unknown provider %q", eff.Provider)
	}
	t := Target{
		Provider: p,
		Model:    eff.Model,
		Name:     ct.Target,
		Weight:   *eff.Weight,
		WhenExpr: eff.When,
		Retry: Retry{
			Attempts:      max(eff.Retry.Attempts, 1),
			Backoff:       time.Duration(eff.Retry.Backoff),
			MaxBackoff:    time.Duration(eff.Retry.MaxBackoff),
			MaxRetryAfter: time.Duration(eff.Retry.MaxRetryAfter),
			OnStatus:      NewStatusSet(eff.Retry.OnStatus...),
		},
	}
	if eff.When != "" {
		if opt.CompileCondition == nil {
			return Target{}, errors.New("when: conditional routing needs a condition compiler")
		}
		c, err := opt.CompileCondition(eff.When)
		if err != nil {
			return Target{}, fieldError{"when", err}
		}
		t.When = c
	}
	if t.Model != "" {
		t.state = r.states.get(p.Name(), t.Model, nil)
		t.price = r.price(t.Model)
	} else if ct.Breaker != nil {
		t.breaker = eff.Breaker
	}
	return t, nil
}

func (r *Router) price(model string) *llm.Price {
	if r.catalog == nil {
		return nil
	}
	return r.catalog.Lookup(model).Price
}

// Resolve finds the route for a public model name: an alias is followed
// first, then an exact name, then the longest wildcard whose prefix
// matches (the rest of the name is the upstream model of every target
// that names none).
func (r *Router) Resolve(name string) (*Route, bool) {
	if strings.Contains(name, "*") {
		return nil, false
	}
	if to, ok := r.aliases[name]; ok {
		name = to
	}
	if rt, ok := r.routes[name]; ok {
		return rt, true
	}
	for _, w := range r.wildcards {
		prefix := strings.TrimSuffix(w.Name, "*")
		if rest, ok := strings.CutPrefix(name, prefix); ok && rest != "" {
			return r.expand(w, name, rest), true
		}
	}
	return nil, false
}

// expand instantiates a wildcard route for one name.
func (r *Router) expand(w *Route, name, rest string) *Route {
	rt := *w
	rt.Name = name
	rt.Targets = make([]Target, len(w.Targets))
	for i, t := range w.Targets {
		if t.Model == "" {
			t.Model = rest
			t.state = r.states.get(t.Provider.Name(), rest, t.breaker)
			t.price = r.price(rest)
		}
		rt.Targets[i] = t
	}
	return &rt
}

// Route picks the route of a request: Resolve on in.Model, then the
// Policy, if any. An unknown model is a 404 in the caller's dialect.
func (r *Router) Route(in *Input) (*Route, error) {
	rt, ok := r.Resolve(in.Model)
	if r.policy != nil {
		if !ok {
			rt = nil
		}
		var err error
		if rt, err = r.policy.Route(in, rt); err != nil {
			return nil, err
		}
		ok = rt != nil
	}
	if !ok {
		return nil, UnknownModel(in.Model)
	}
	return rt, nil
}

// NamedTarget is the one-target route of a named target (`targets:`), for
// policies and a caller-chosen target. It shares the target's breaker.
func (r *Router) NamedTarget(name string) (*Route, bool) {
	rt, ok := r.named[name]
	return rt, ok
}

// UnknownModel is the 404 for a model the gateway does not serve.
func UnknownModel(name string) *llm.Error {
	return &llm.Error{Kind: llm.KindNotFound, Param: "model", Code: "model_not_found",
		Message: fmt.Sprintf("model %q is not served by this gateway; GET /v1/models lists the models", name)}
}

// Names lists the public model names that are not wildcards, aliases
// included, sorted.
func (r *Router) Names() []string {
	out := make([]string, 0, len(r.routes)+len(r.aliases))
	for name := range r.routes {
		out = append(out, name)
	}
	for name := range r.aliases {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Wildcards lists the wildcard entries with the provider name of their
// first target.
func (r *Router) Wildcards() map[string]string {
	out := make(map[string]string, len(r.wildcards))
	for _, w := range r.wildcards {
		out[w.Name] = w.Targets[0].Provider.Name()
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fieldError names the field of a target entry that is wrong, so the load
// error can give its full path.
type fieldError struct {
	field string
	err   error
}

func (e fieldError) Error() string { return e.field + ": " + e.err.Error() }
func (e fieldError) Unwrap() error { return e.err }
