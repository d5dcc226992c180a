package policy

import (
	"errors"
	"fmt"
	"strings"
)

// AccessRule is one entry of an API's `policies:`: when When matches,
// the call is refused with Deny, or let through when Allow is set.
type AccessRule struct {
	When  string
	Deny  string
	Allow bool
}

// Access decides whether an API call may proceed. Unlike routing
// policies, it fails closed: a rule that cannot be evaluated (a claim the
// token does not carry, say) refuses the call, because skipping a deny
// rule would let through exactly the calls it was written to stop.
type Access struct {
	rules []accessRule
}

type accessRule struct {
	AccessRule
	when *Expr
}

// NewAccess compiles rules; every problem is reported with its path below
// prefix (e.g. "apis.orders.policies").
func NewAccess(c *Compiler, rules []AccessRule, prefix string) (*Access, error) {
	if len(rules) == 0 {
		return nil, nil
	}
	var problems []string
	a := &Access{}
	for i, r := range rules {
		path := fmt.Sprintf("%s[%d]", prefix, i)
		expr, err := c.Compile(r.When)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s.when: %v", path, err))
		}
		if (r.Deny != "") == r.Allow {
			problems = append(problems, fmt.Sprintf("%s: set exactly one of deny (a message) or allow: true", path))
		}
		a.rules = append(a.rules, accessRule{AccessRule: r, when: expr})
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return a, nil
}

// AccessDecision is the outcome of an API's rules for one call.
type AccessDecision struct {
	Rule    int    // the deciding rule, -1 when none matched (allowed)
	Allowed bool   // false: refuse with Message
	Message string // the rule's deny message, or why evaluation failed
	Err     error  // the evaluation failure that refused the call
}

// Decide runs the rules in order; the first that matches decides, and no
// match allows the call. A nil Access allows everything.
func (a *Access) Decide(v *Vars) AccessDecision {
	if a == nil {
		return AccessDecision{Rule: -1, Allowed: true}
	}
	for i, r := range a.rules {
		ok, err := r.when.Match(v)
		if err != nil {
			return AccessDecision{Rule: i, Message: fmt.Sprintf("access policy %d could not be evaluated for this call", i), Err: err}
		}
		if ok {
			return AccessDecision{Rule: i, Allowed: r.Allow, Message: r.Deny}
		}
	}
	return AccessDecision{Rule: -1, Allowed: true}
}
