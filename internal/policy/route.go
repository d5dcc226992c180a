package policy

import (
	"fmt"
	"log/slog"
	"slices"

	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/router"
)

// TargetHeader lets a caller ask for a named target, when a policy allows.
const TargetHeader = "x-tidegate-target"

// Condition adapts an Expr to a conditional routing target's `when`.
type Condition struct{ *Expr }

// Match evaluates the expression against the routing input.
func (c Condition) Match(in *router.Input) (bool, error) {
	v := VarsOf(in)
	return c.Expr.Match(&v)
}

// VarsOf maps the router's cheap request view to expression variables.
func VarsOf(in *router.Input) Vars {
	return Vars{Model: in.Model, Path: in.Path, Dialect: string(in.Dialect), Header: in.Header,
		Stream: in.Stream, Tokens: in.EstimatedTokens, MaxTokens: in.MaxTokens,
		Key: in.Key, User: in.User, Team: in.Team}
}

// Router applies the policy rules to each request's route. It implements
// router.Policy.
type Router struct {
	engine *Engine
	named  func(string) (*router.Route, bool)
	logger *slog.Logger
}

// NewRouter builds the policy step; named looks up `targets:` routes.
func NewRouter(engine *Engine, named func(string) (*router.Route, bool), logger *slog.Logger) *Router {
	return &Router{engine: engine, named: named, logger: logger}
}

// Route runs the rules: a deny refuses (403), a target replaces the route,
// and x-tidegate-target is honoured only when the matching rule allows that
// target. Without rules and without the header, the route is unchanged.
func (p *Router) Route(in *router.Input, rt *router.Route) (*router.Route, error) {
	asked := in.Header.Get(TargetHeader)
	if p.engine.Empty() && asked == "" {
		return rt, nil
	}
	d := Decision{Rule: -1}
	if !p.engine.Empty() {
		v := VarsOf(in)
		d = p.engine.Decide(&v)
		for _, err := range d.Errors {
			p.logger.Warn("policy rule skipped", "error", err)
		}
	}
	switch {
	case d.Deny != "":
		return nil, &llm.Error{Kind: llm.KindPermission, Code: "policy_denied", Message: d.Deny}
	case d.Target != "":
		return p.target(d.Target)
	case asked != "":
		if !slices.Contains(d.AllowTargets, asked) {
			return nil, &llm.Error{Kind: llm.KindPermission, Code: "target_not_allowed",
				Message: fmt.Sprintf("%s %q is not allowed for this request: no policy allows it", TargetHeader, asked)}
		}
		return p.target(asked)
	}
	return rt, nil
}

func (p *Router) target(name string) (*router.Route, error) {
	rt, ok := p.named(name)
	if !ok { // names are checked at load; this is a defect, not a caller error
		return nil, &llm.Error{Kind: llm.KindInternal, Message: fmt.Sprintf("policy target %q is not configured", name)}
	}
	return rt, nil
}
