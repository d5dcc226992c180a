package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/tidegate/tidegate/internal/apigw"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/counter"
	"github.com/tidegate/tidegate/internal/govern"
	"github.com/tidegate/tidegate/internal/guard"
	"github.com/tidegate/tidegate/internal/jwtauth"
	"github.com/tidegate/tidegate/internal/mcp"
	"github.com/tidegate/tidegate/internal/metrics"
	"github.com/tidegate/tidegate/internal/openapi"
	"github.com/tidegate/tidegate/internal/policy"
)

// apis are the inbound APIs: their handlers by mount pattern, the specs'
// lint warnings, and the upstream transports to release on Close.
type apis struct {
	mounts     map[string]http.Handler
	warnings   []string
	transports []*http.Transport
	// servers are the APIs' MCP servers by API name (tool_loops offer
	// their tools in process).
	servers map[string]*mcp.Server
}

// buildAPIs compiles every spec of `apis:` and builds its HTTP proxy and
// MCP server. Every spec that does not compile is reported, with its path.
// gate checks the callers of APIs with auth: keys (nil in lint); usage,
// when not nil, records the calls of APIs with auth: jwt.
//
// ctr counts the operations' x-tidegate-middlewares rate limits (a memory
// counter when nil, as in lint); llmHandler serves their
// x-tidegate-dispatch operations (nil in lint).
func buildAPIs(ctx context.Context, cfg *config.Config, guards *guard.Set, gate, usage *govern.Gate, ctr counter.Counter, llmHandler func(dialect, model string) http.Handler, logger *slog.Logger, mtr *metrics.Metrics) (*apis, error) {
	out := &apis{mounts: map[string]http.Handler{}, servers: map[string]*mcp.Server{}}
	var problems []string
	profiles := make(map[string]apigw.RateLimit, len(cfg.Middlewares))
	bodyGuards := map[string]apigw.BodyGuard{}
	for _, name := range sortedNames(cfg.Middlewares) {
		m := cfg.Middlewares[name]
		profiles[name] = apigw.RateLimit{} // known, maybe without a limit
		if m.RateLimit != nil {
			profiles[name] = apigw.RateLimit{RPM: m.RateLimit.RPM, RPH: m.RateLimit.RPH, Partition: m.RateLimit.Partition}
		}
		if m.Guard != nil {
			bg, err := bodyGuard(guards, m.Guard)
			if err != nil {
				problems = append(problems, fmt.Sprintf("middlewares.%s.guard.%v", name, err))
				continue
			}
			bodyGuards[name] = bg
		}
	}
	if ctr == nil {
		ctr = counter.NewMemory(time.Now)
	}
	comp, err := policy.NewCompiler()
	if err != nil {
		return nil, err
	}
	for _, name := range sortedNames(cfg.APIs) {
		a := cfg.APIs[name]
		path := "apis." + name
		api, err := openapi.Compile(ctx, a.Spec)
		if err != nil {
			for _, e := range unjoin(err) {
				problems = append(problems, fmt.Sprintf("%s.spec: %v", path, e))
			}
			continue
		}
		for _, w := range api.Warnings {
			out.warnings = append(out.warnings, fmt.Sprintf("%s.spec: %s", path, w))
		}
		var guard *apigw.Guard
		if a.Auth == config.APIAuthKeys && gate != nil {
			guard = apigw.NewGuard(gate, name)
		}
		if a.Auth == config.APIAuthJWT {
			j := a.JWT
			v := jwtauth.New(jwtauth.Options{
				JWKSURL: j.JWKSURL, Issuer: j.Issuer, Audience: j.Audience, Algorithms: j.Algorithms,
				Leeway: j.Leeway.D(jwtauth.DefaultLeeway), CacheTTL: j.CacheTTL.D(jwtauth.DefaultCacheTTL),
			})
			guard = apigw.NewJWTGuard(v, usage, name, j.ClaimsHeader)
		}
		rules, err := policy.NewAccess(comp, accessRules(a.Policies), path+".policies")
		if err != nil {
			problems = append(problems, err.Error())
		}
		limits, err := apigw.NewLimits(name, api, profiles, a.Auth, ctr, cfg.Counters.FailOpen, logger)
		if err != nil {
			var pe *apigw.ProfileError
			if errors.As(err, &pe) {
				for _, p := range pe.Problems {
					problems = append(problems, fmt.Sprintf("%s.spec: %s", path, p))
				}
			} else {
				problems = append(problems, fmt.Sprintf("%s: %v", path, err))
			}
			continue
		}
		bodies := apigw.NewBodyGuards(api, bodyGuards)
		if rules == nil && len(a.Policies) > 0 {
			continue // reported above
		}
		access := apigw.NewAccess(name, rules, logger)
		transport := apigw.NewTransport()
		out.transports = append(out.transports, transport)
		proxy, err := apigw.New(apigw.Options{
			Name: name, API: api, Doc: api.Doc, Upstream: a.Upstream, BasePath: a.BasePath,
			Timeout: a.Timeout.D(config.DefaultAPITimeout), Headers: a.Headers, Guard: guard,
			MaxBodyBytes: cfg.Server.MaxBodyBytes, Transport: transport, Logger: logger,
			Limits: limits, Guards: bodies, Access: access, LLM: llmHandler,
		})
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s.spec: %v", path, err))
			continue
		}
		out.mounts[a.BasePath] = proxy
		out.mounts[a.BasePath+"/"] = proxy
		if !a.MCP.On() {
			continue
		}
		resource := protectedResource(name, a)
		srv, err := mcp.New(mcp.Options{
			Name: name, API: api, Upstream: a.Upstream, Timeout: a.Timeout.D(config.DefaultAPITimeout),
			Headers: a.Headers, Guard: guard, ServerName: a.MCP.ServerName, ServerVersion: a.MCP.ServerVersion,
			AllowedOrigins: a.MCP.AllowedOrigins, Transport: transport, MaxBodyBytes: cfg.Server.MaxBodyBytes, Logger: logger,
			Limits: limits, Guards: bodies, Access: access, AnonymousDiscovery: a.MCP.AnonymousDiscovery, Metrics: mtr,
			Resource: resource,
		})
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s.spec: %v", path, err))
			continue
		}
		out.mounts[a.MCP.Path] = srv
		if resource != nil {
			out.mounts[resource.MetadataPath()] = resource.MetadataHandler()
		}
		out.servers[name] = srv
	}
	if len(problems) > 0 {
		out.close()
		return nil, &config.ValidationError{Problems: problems}
	}
	return out, nil
}

// protectedResource is the MCP endpoint of an auth: jwt API with
// authorization servers as an OAuth protected resource; nil otherwise.
func protectedResource(name string, a config.API) *mcp.Resource {
	j := a.JWT
	if a.Auth != config.APIAuthJWT || len(j.AuthorizationServers) == 0 {
		return nil
	}
	display := a.MCP.ServerName
	if display == "" {
		display = name
	}
	return &mcp.Resource{URL: j.Resource, Path: a.MCP.Path, AuthorizationServers: j.AuthorizationServers, Scopes: j.Scopes, Name: display}
}

// close releases the idle upstream connections.
func (a *apis) close() {
	if a == nil {
		return
	}
	for _, t := range a.transports {
		t.CloseIdleConnections()
	}
}

// unjoin lists the errors of an errors.Join, each one problem.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func accessRules(ps []config.APIPolicy) []policy.AccessRule {
	out := make([]policy.AccessRule, len(ps))
	for i, p := range ps {
		out[i] = policy.AccessRule{When: p.When, Deny: p.Deny, Allow: p.Allow}
	}
	return out
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// bodyGuard compiles a middleware's guard; the error starts with the
// field it is about (profile: or schema:).
func bodyGuard(guards *guard.Set, g *config.BodyGuard) (apigw.BodyGuard, error) {
	var bg apigw.BodyGuard
	if g.Profile != "" {
		p, err := guards.Named(g.Profile)
		if err != nil {
			return bg, fmt.Errorf("profile: %w", err)
		}
		bg.Policy = p
	}
	if g.Schema != nil {
		raw, err := json.Marshal(g.Schema)
		if err != nil {
			return bg, fmt.Errorf("schema: %w", err)
		}
		if bg.Schema, err = guard.CompileSchema(raw); err != nil {
			return bg, fmt.Errorf("schema: invalid JSON Schema: %w", err)
		}
	}
	return bg, nil
}
