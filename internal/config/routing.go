package config

import (
	"fmt"
	"strings"
	"time"
)

// Routing strategies: they only order a model's targets; one executor runs
// the order with retries, breakers and fallback.
const (
	StrategySingle       = "single"
	StrategyFallback     = "fallback"
	StrategyLoadBalance  = "loadbalance"
	StrategyLeastLatency = "least-latency"
	StrategyCost         = "cost"
	StrategyConditional  = "conditional"
)

var strategies = []string{StrategySingle, StrategyFallback, StrategyLoadBalance, StrategyLeastLatency, StrategyCost, StrategyConditional}

// Routing defaults.
const (
	DefaultRetryAttempts      = 1 // tries per target: no retry on the same target unless configured
	DefaultRetryBackoff       = 200 * time.Millisecond
	DefaultRetryMaxBackoff    = 5 * time.Second
	DefaultMaxRetryAfter      = 10 * time.Second
	DefaultBreakerFailures    = 5
	DefaultBreakerRatio       = 0.5
	DefaultBreakerWindow      = 60 * time.Second
	DefaultBreakerMinRequests = 20
	DefaultBreakerCooldown    = 30 * time.Second
	DefaultHealthInterval     = 30 * time.Second
	DefaultHealthTimeout      = 5 * time.Second
)

// DefaultRetryOn is the upstream statuses retried (and fallen back from)
// when a target does not list its own: timeouts, rate limits, server
// errors and Anthropic's 529 overloaded.
func DefaultRetryOn() []int { return []int{408, 429, 500, 502, 503, 504, 529} }

// Model maps a public model name to upstream targets. The short form names
// one provider and model; the long form lists targets and a strategy. A
// name ending in "*" matches every name with that prefix; the rest of the
// name is the upstream model of every target that names none.
type Model struct {
	// Short form.
	Provider string `yaml:"provider"`
	Model    string `yaml:"model"`
	Retry    *Retry `yaml:"retry"`

	// Long form.
	Strategy string   `yaml:"strategy"`
	Targets  []Target `yaml:"targets"`

	// Timeout bounds the whole request: every attempt, backoff and the
	// stream that follows. 0: no overall deadline.
	Timeout Duration `yaml:"timeout"`
	// FallbackOnRefusal moves to the next target when a non-stream answer
	// was refused by the upstream's content filter.
	FallbackOnRefusal bool `yaml:"fallback_on_refusal"`
	// Limits cap the model as a whole, whoever calls it (a wildcard entry
	// shares one limit across the names it matches).
	Limits ModelLimits `yaml:"limits"`
	// Guardrails names the guard profiles applied to this model.
	Guardrails []string `yaml:"guardrails"`
	// Cache turns the response cache on for this model.
	Cache *ModelCache `yaml:"cache"`
}

// ModelLimits are a model's request and token rate limits (0: none).
type ModelLimits struct {
	RPM int64 `yaml:"rpm"`
	RPH int64 `yaml:"rph"`
	TPM int64 `yaml:"tpm"`
	TPH int64 `yaml:"tph"`
}

// Any reports whether a limit is set.
func (l ModelLimits) Any() bool { return l.RPM > 0 || l.RPH > 0 || l.TPM > 0 || l.TPH > 0 }

// Target is one upstream model on one provider, inline or a reference to a
// named target (`target: premium`) with optional overrides.
type Target struct {
	Target   string `yaml:"target"`
	Provider string `yaml:"provider"`
	Model    string `yaml:"model"`
	// Weight for loadbalance (default 1; 0 = only a fallback).
	Weight  *int     `yaml:"weight"`
	Retry   *Retry   `yaml:"retry"`
	Breaker *Breaker `yaml:"breaker"`
	// When is a CEL bool expression; strategy conditional only.
	When string `yaml:"when"`
}

// Retry says how often one target is tried before the next one.
type Retry struct {
	// Attempts is the number of tries on this target, the first included.
	Attempts      int      `yaml:"attempts"`
	Backoff       Duration `yaml:"backoff"`     // first backoff; doubles per retry, full jitter
	MaxBackoff    Duration `yaml:"max_backoff"` // cap of one backoff
	MaxRetryAfter Duration `yaml:"max_retry_after"`
	// OnStatus lists the upstream statuses that are retried and fallen
	// back from; connection errors and timeouts always are.
	OnStatus []int `yaml:"on_status"`
}

// Breaker configures a circuit breaker. A target's breaker is shared by
// every model that routes to the same provider and upstream model.
type Breaker struct {
	Failures     int      `yaml:"failures"`      // consecutive failures that open it
	FailureRatio float64  `yaml:"failure_ratio"` // or this failure ratio within window…
	Window       Duration `yaml:"window"`
	MinRequests  int      `yaml:"min_requests"` // …over at least this many requests
	Cooldown     Duration `yaml:"cooldown"`     // open → half-open
	Disabled     bool     `yaml:"disabled"`
}

// HealthCheck is an optional active probe of a provider.
type HealthCheck struct {
	Path     string   `yaml:"path"` // default: the provider type's model list
	Interval Duration `yaml:"interval"`
	Timeout  Duration `yaml:"timeout"`
}

// IsWildcard reports whether a models key is a prefix pattern.
func IsWildcard(name string) bool { return strings.HasSuffix(name, "*") }

// TargetList is the model's targets, the short form as a one-element list.
func (m Model) TargetList() []Target {
	if len(m.Targets) > 0 || m.Provider == "" {
		return m.Targets
	}
	return []Target{{Provider: m.Provider, Model: m.Model, Retry: m.Retry}}
}

// StrategyName is the strategy in effect: as configured, else single for
// one target and fallback for several.
func (m Model) StrategyName() string {
	switch {
	case m.Strategy != "":
		return m.Strategy
	case len(m.TargetList()) > 1:
		return StrategyFallback
	default:
		return StrategySingle
	}
}

// Effective resolves a model's target: a named target's fields under the
// reference's overrides, and every unset retry and breaker setting from
// the top-level defaults and then the built-in ones. Target keeps the
// referenced name. Call it on a validated config.
func (c *Config) Effective(t Target) Target {
	out := t
	if t.Target != "" {
		named := c.Targets[t.Target]
		out = named
		out.Target = t.Target
		out.When = t.When
		if t.Weight != nil {
			out.Weight = t.Weight
		}
		out.Retry = mergeRetry(t.Retry, named.Retry)
		out.Breaker = mergeBreaker(t.Breaker, named.Breaker)
	}
	if out.Weight == nil {
		one := 1
		out.Weight = &one
	}
	r := mergeRetry(mergeRetry(out.Retry, &c.Retry), &Retry{
		Attempts:      DefaultRetryAttempts,
		Backoff:       Duration(DefaultRetryBackoff),
		MaxBackoff:    Duration(DefaultRetryMaxBackoff),
		MaxRetryAfter: Duration(DefaultMaxRetryAfter),
		OnStatus:      DefaultRetryOn(),
	})
	b := mergeBreaker(mergeBreaker(out.Breaker, &c.Breaker), &Breaker{
		Failures:     DefaultBreakerFailures,
		FailureRatio: DefaultBreakerRatio,
		Window:       Duration(DefaultBreakerWindow),
		MinRequests:  DefaultBreakerMinRequests,
		Cooldown:     Duration(DefaultBreakerCooldown),
	})
	out.Retry, out.Breaker = r, b
	return out
}

// mergeRetry fills the unset fields of over from under (either may be nil).
func mergeRetry(over, under *Retry) *Retry {
	if over == nil && under == nil {
		return nil
	}
	var out Retry
	if under != nil {
		out = *under
	}
	if over == nil {
		return &out
	}
	if over.Attempts != 0 {
		out.Attempts = over.Attempts
	}
	if over.Backoff != 0 {
		out.Backoff = over.Backoff
	}
	if over.MaxBackoff != 0 {
		out.MaxBackoff = over.MaxBackoff
	}
	if over.MaxRetryAfter != 0 {
		out.MaxRetryAfter = over.MaxRetryAfter
	}
	if over.OnStatus != nil {
		out.OnStatus = over.OnStatus
	}
	return &out
}

// mergeBreaker fills the unset fields of over from under (either may be nil).
func mergeBreaker(over, under *Breaker) *Breaker {
	if over == nil && under == nil {
		return nil
	}
	var out Breaker
	if under != nil {
		out = *under
	}
	if over == nil {
		return &out
	}
	if over.Failures != 0 {
		out.Failures = over.Failures
	}
	if over.FailureRatio != 0 {
		out.FailureRatio = over.FailureRatio
	}
	if over.Window != 0 {
		out.Window = over.Window
	}
	if over.MinRequests != 0 {
		out.MinRequests = over.MinRequests
	}
	if over.Cooldown != 0 {
		out.Cooldown = over.Cooldown
	}
	out.Disabled = out.Disabled || over.Disabled
	return &out
}

// validateRouting checks models, aliases, named targets, retry and breaker
// settings and health checks.
func (c *Config) validateRouting(add func(path, format string, args ...any)) {
	c.validateRetry("retry", &c.Retry, add)
	c.validateBreaker("breaker", &c.Breaker, add)
	for _, name := range sortedKeys(c.Targets) {
		t := c.Targets[name]
		path := "targets." + name
		if t.Target != "" {
			add(path+".target", "a named target cannot reference another target")
		}
		if t.When != "" {
			add(path+".when", "when belongs to a model's conditional targets, not to a named target")
		}
		c.validateTarget(path, t, false, add)
		if t.Model == "" {
			add(path+".model", "required (the upstream model name)")
		}
	}
	breakers := breakerOverrides{}
	for _, name := range sortedKeys(c.Targets) {
		if t := c.Targets[name]; t.Breaker != nil && t.Model != "" {
			breakers.check("targets."+name, t.Provider+"/"+t.Model, *c.Effective(Target{Target: name}).Breaker, add)
		}
	}
	for _, name := range sortedKeys(c.Models) {
		m := c.Models[name]
		path := "models." + name
		if strings.Contains(strings.TrimSuffix(name, "*"), "*") {
			add(path, "a wildcard may only end the name")
		}
		if _, ok := c.Aliases[name]; ok {
			add(path, "the name is also an alias")
		}
		strategy := m.StrategyName()
		known := false
		for _, s := range strategies {
			known = known || s == strategy
		}
		if !known {
			add(path+".strategy", "unknown strategy %q (%s)", m.Strategy, strings.Join(strategies, ", "))
		}
		switch {
		case m.Provider != "" && len(m.Targets) > 0:
			add(path, "use either provider/model (one target) or targets, not both")
			continue
		case m.Provider == "" && len(m.Targets) == 0:
			if m.Model != "" || m.Strategy != "" {
				add(path+".targets", "required (or provider and model for a single target)")
			} else {
				add(path+".provider", "required")
			}
			continue
		case m.Provider == "" && (m.Model != "" || m.Retry != nil):
			add(path, "model and retry belong to each entry of targets in the long form")
		}
		targets := m.TargetList()
		if strategy == StrategySingle && len(targets) > 1 {
			add(path+".strategy", "single takes one target, got %d (use fallback, loadbalance, …)", len(targets))
		}
		allZero := true
		for i, t := range targets {
			tpath := fmt.Sprintf("%s.targets[%d]", path, i)
			if m.Provider != "" {
				tpath = path
			}
			c.validateTarget(tpath, t, IsWildcard(name), add)
			if t.When != "" && strategy != StrategyConditional {
				add(tpath+".when", "when only applies to strategy conditional (this model's strategy is %s)", strategy)
			}
			if t.Target == "" && t.Provider == "" {
				continue
			}
			if t.Target != "" {
				if _, ok := c.Targets[t.Target]; !ok {
					continue
				}
			}
			eff := c.Effective(t)
			if *eff.Weight != 0 {
				allZero = false
			}
			if eff.Model != "" && (t.Breaker != nil || t.Target != "" && c.Targets[t.Target].Breaker != nil) {
				breakers.check(tpath, eff.Provider+"/"+eff.Model, *eff.Breaker, add)
			}
		}
		if strategy == StrategyLoadBalance && allZero && len(targets) > 0 {
			add(path+".targets", "loadbalance needs at least one target with a weight above 0")
		}
	}
	for _, alias := range sortedKeys(c.Aliases) {
		to := c.Aliases[alias]
		path := "aliases." + alias
		switch {
		case strings.Contains(alias, "*"):
			add(path, "an alias cannot be a wildcard")
		case to == "":
			add(path, "must name a model")
		case c.Aliases[to] != "":
			add(path, "points to another alias %q; point it at a model", to)
		case !c.modelExists(to):
			add(path, "unknown model %q", to)
		}
	}
	for _, name := range sortedKeys(c.Providers) {
		p := c.Providers[name]
		if p.HealthCheck == nil {
			continue
		}
		path := "providers." + name + ".health_check"
		if p.Type == TypeEcho {
			add(path, "the echo provider has no upstream to check")
		}
		if p.HealthCheck.Path != "" && !strings.HasPrefix(p.HealthCheck.Path, "/") {
			add(path+".path", "must start with /")
		}
	}
}

// breakerOverrides remembers the breaker set for each target identity
// (provider/model): one breaker serves every model routing there, so two
// different explicit settings for it are a conflict.
type breakerOverrides map[string]struct {
	path string
	b    Breaker
}

func (o breakerOverrides) check(path, id string, b Breaker, add func(path, format string, args ...any)) {
	prev, ok := o[id]
	switch {
	case !ok:
		o[id] = struct {
			path string
			b    Breaker
		}{path, b}
	case prev.b != b:
		add(path+".breaker", "conflicts with the breaker of %s: both route to %s, which has one breaker", prev.path, id)
	}
}

func (c *Config) validateTarget(path string, t Target, wildcard bool, add func(path, format string, args ...any)) {
	switch {
	case t.Target != "" && (t.Provider != "" || t.Model != ""):
		add(path, "set either target (a named target) or provider/model, not both")
	case t.Target != "":
		if _, ok := c.Targets[t.Target]; !ok {
			add(path+".target", "unknown target %q", t.Target)
		}
	case t.Provider == "":
		add(path+".provider", "required")
	default:
		if _, ok := c.Providers[t.Provider]; !ok {
			add(path+".provider", "unknown provider %q", t.Provider)
		}
		if t.Model == "" && !wildcard && !strings.HasPrefix(path, "targets.") {
			add(path+".model", "required (the upstream model name)")
		}
	}
	if t.Weight != nil && *t.Weight < 0 {
		add(path+".weight", "must not be negative")
	}
	if t.Retry != nil {
		c.validateRetry(path+".retry", t.Retry, add)
	}
	if t.Breaker != nil {
		c.validateBreaker(path+".breaker", t.Breaker, add)
	}
}

func (c *Config) validateRetry(path string, r *Retry, add func(path, format string, args ...any)) {
	if r.Attempts < 0 {
		add(path+".attempts", "must be at least 1")
	}
	if r.Backoff != 0 && r.MaxBackoff != 0 && r.Backoff > r.MaxBackoff {
		add(path+".backoff", "is above max_backoff")
	}
	for i, s := range r.OnStatus {
		if s < 400 || s > 599 {
			add(fmt.Sprintf("%s.on_status[%d]", path, i), "%d is not an HTTP error status (400-599)", s)
		}
	}
}

func (c *Config) validateBreaker(path string, b *Breaker, add func(path, format string, args ...any)) {
	if b.Failures < 0 {
		add(path+".failures", "must not be negative")
	}
	if b.FailureRatio < 0 || b.FailureRatio > 1 {
		add(path+".failure_ratio", "must be between 0 and 1")
	}
	if b.MinRequests < 0 {
		add(path+".min_requests", "must not be negative")
	}
}

// modelExists reports whether name is served by a models entry: an exact
// name or one a wildcard matches.
func (c *Config) modelExists(name string) bool {
	if _, ok := c.Models[name]; ok && !IsWildcard(name) {
		return true
	}
	for pattern := range c.Models {
		if IsWildcard(pattern) {
			prefix := strings.TrimSuffix(pattern, "*")
			if len(name) > len(prefix) && strings.HasPrefix(name, prefix) {
				return true
			}
		}
	}
	return false
}

// Policy is one `policies:` rule: when When (CEL) matches, exactly one of
// Target, Deny or AllowTargets applies. The rules are compiled, and their
// target names checked, when the gateway is built.
type Policy struct {
	When         string   `yaml:"when"`
	Target       string   `yaml:"target"`
	Deny         string   `yaml:"deny"`
	AllowTargets []string `yaml:"allow_targets"`
}
