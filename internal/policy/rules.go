package policy

import (
	"fmt"
	"strings"
)

// Rule is one entry of `policies:`: when When matches, exactly one action
// applies — route to Target, Deny with a message, or let the caller pick one
// of AllowTargets with the x-tidegate-target header.
type Rule struct {
	When         string
	Target       string
	Deny         string
	AllowTargets []string
}

// Engine evaluates rules in order; the first match decides.
type Engine struct {
	rules []compiled
}

type compiled struct {
	Rule
	when *Expr
}

// NewEngine compiles rules; every problem is reported with its path.
// targetExists tells whether a named target is configured.
func NewEngine(c *Compiler, rules []Rule, targetExists func(string) bool) (*Engine, error) {
	var problems []string
	e := &Engine{}
	for i, r := range rules {
		path := fmt.Sprintf("policies[%d]", i)
		expr, err := c.Compile(r.When)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s.when: %v", path, err))
		}
		actions := 0
		if r.Target != "" {
			actions++
			if !targetExists(r.Target) {
				problems = append(problems, fmt.Sprintf("%s.target: unknown target %q", path, r.Target))
			}
		}
		if r.Deny != "" {
			actions++
		}
		if len(r.AllowTargets) > 0 {
			actions++
			for j, t := range r.AllowTargets {
				if !targetExists(t) {
					problems = append(problems, fmt.Sprintf("%s.allow_targets[%d]: unknown target %q", path, j, t))
				}
			}
		}
		if actions != 1 {
			problems = append(problems, fmt.Sprintf("%s: set exactly one of target, deny, allow_targets", path))
		}
		e.rules = append(e.rules, compiled{Rule: r, when: expr})
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("invalid policies:\n  %s", strings.Join(problems, "\n  "))
	}
	return e, nil
}

// Decision is the outcome of the rules for one request.
type Decision struct {
	Rule   int    // index of the matching rule, -1 if none matched
	Target string // route to this named target
	Deny   string // refuse with this message
	// AllowTargets are the targets the caller may pick with a header.
	AllowTargets []string
	// Errors are evaluation failures of rules that were skipped.
	Errors []error
}

// Decide runs the rules against v. A rule whose evaluation fails is skipped
// (and reported in Errors), never treated as a match.
func (e *Engine) Decide(v *Vars) Decision {
	d := Decision{Rule: -1}
	if e == nil {
		return d
	}
	for i, r := range e.rules {
		ok, err := r.when.Match(v)
		if err != nil {
			d.Errors = append(d.Errors, err)
			continue
		}
		if ok {
			d.Rule, d.Target, d.Deny, d.AllowTargets = i, r.Target, r.Deny, r.AllowTargets
			return d
		}
	}
	return d
}

// Empty reports whether there are no rules (so callers can skip building
// Vars at all).
func (e *Engine) Empty() bool { return e == nil || len(e.rules) == 0 }
