package app

import (
	"context"
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
	"github.com/tidegate/tidegate/internal/jwtauth"
	"github.com/tidegate/tidegate/internal/mcp"
	"github.com/tidegate/tidegate/internal/openapi"
)

// apis are the inbound APIs: their handlers by mount pattern, the specs'
// lint warnings, and the upstream transports to release on Close.
type apis struct {
	mounts     map[string]http.Handler
	warnings   []string
	transports []*http.Transport
}

// buildAPIs compiles every spec of `apis:` and builds its HTTP proxy and
// MCP server. Every spec that does not compile is reported, with its path.
// gate checks the callers of APIs with auth: keys (nil in lint); usage,
// when not nil, records the calls of APIs with auth: jwt.
//
// ctr counts the operations' x-tidegate-middlewares rate limits (a memory
// counter when nil, as in lint); llmHandler serves their
// x-tidegate-dispatch operations (nil in lint).
func buildAPIs(ctx context.Context, cfg *config.Config, gate, usage *govern.Gate, ctr counter.Counter, llmHandler func(dialect, model string) http.Handler, logger *slog.Logger) (*apis, error) {
	out := &apis{mounts: map[string]http.Handler{}}
	var problems []string
	profiles := make(map[string]apigw.RateLimit, len(cfg.Middlewares))
	for name, m := range cfg.Middlewares {
		if m.RateLimit != nil {
			profiles[name] = apigw.RateLimit{RPM: m.RateLimit.RPM, RPH: m.RateLimit.RPH}
		}
	}
	if ctr == nil {
		ctr = counter.NewMemory(time.Now)
	}
	for _, name := range sortedNames(cfg.APIs) {
		a := cfg.APIs[name]
		path := "apis." + name
		api, err := openapi.Compile(ctx, a.Spec)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s.spec: %v", path, err))
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
		limits, err := apigw.NewLimits(name, api, profiles, ctr, cfg.Counters.FailOpen, logger)
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
		transport := apigw.NewTransport()
		out.transports = append(out.transports, transport)
		proxy, err := apigw.New(apigw.Options{
			Name: name, API: api, Doc: api.Doc, Upstream: a.Upstream, BasePath: a.BasePath,
			Timeout: a.Timeout.D(config.DefaultAPITimeout), Headers: a.Headers, Guard: guard,
			MaxBodyBytes: cfg.Server.MaxBodyBytes, Transport: transport, Logger: logger,
			Limits: limits, LLM: llmHandler,
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
		srv, err := mcp.New(mcp.Options{
			Name: name, API: api, Upstream: a.Upstream, Timeout: a.Timeout.D(config.DefaultAPITimeout),
			Headers: a.Headers, Guard: guard, ServerName: a.MCP.ServerName, ServerVersion: a.MCP.ServerVersion,
			AllowedOrigins: a.MCP.AllowedOrigins, Transport: transport, MaxBodyBytes: cfg.Server.MaxBodyBytes, Logger: logger,
			Limits: limits,
		})
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s.spec: %v", path, err))
			continue
		}
		out.mounts[a.MCP.Path] = srv
	}
	if len(problems) > 0 {
		out.close()
		return nil, &config.ValidationError{Problems: problems}
	}
	return out, nil
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

func sortedNames(m map[string]config.API) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
