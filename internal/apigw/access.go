package apigw

import (
	"log/slog"
	"net/http"

	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/policy"
)

// Access runs an API's `policies:` (CEL over the operation, the headers
// and the caller: its verified JWT claims or its key, user and team)
// after the Guard and before anything else. A nil *Access allows all.
type Access struct {
	api    string
	rules  *policy.Access
	logger *slog.Logger
}

// NewAccess wraps api's compiled rules; nil rules give a nil *Access.
func NewAccess(api string, rules *policy.Access, logger *slog.Logger) *Access {
	if rules == nil {
		return nil
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Access{api: api, rules: rules, logger: logger}
}

// Check decides one call of operation (method and path are the spec's);
// a refusal is a 403 *llm.Error with code policy_denied.
func (a *Access) Check(c *Call, operation, method, path string, h http.Header) error {
	if a == nil {
		return nil
	}
	v := policy.Vars{API: a.api, Operation: operation, Method: method, Path: path, Header: h, Model: "api:" + a.api + "/" + operation}
	if c != nil {
		v.Key, v.User, v.Team, v.Claims = c.key, c.user, c.team, c.claims
	}
	d := a.rules.Decide(&v)
	if d.Allowed {
		return nil
	}
	if d.Err != nil {
		a.logger.Warn("api policy could not be evaluated: call refused", "api", a.api, "operation", operation, "rule", d.Rule, "error", d.Err)
	}
	return &llm.Error{Kind: llm.KindPermission, Status: http.StatusForbidden, Code: "policy_denied", Message: d.Message, Err: d.Err}
}
