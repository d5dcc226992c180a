package apigw

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tidegate/tidegate/internal/govern"
	"github.com/tidegate/tidegate/internal/jwtauth"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/router"
)

// Guard checks an API's callers with tidegate virtual keys (auth: keys):
// the key's limits apply and each call is recorded in the usage log as
// model "api:<api>/<operation>" (so key allowlists may name "api:orders/*").
// A nil Guard admits everyone (auth: passthrough).
type Guard struct {
	gate *govern.Gate
	api  string
	// auth: jwt (see jwt.go); gate is then optional.
	jwt          *jwtauth.Verifier
	claimsHeader string
}

// NewGuard guards calls to api with gate, which must require keys.
func NewGuard(gate *govern.Gate, api string) *Guard { return &Guard{gate: gate, api: api} }

// Call is an admitted call; Finish records how it ended.
type Call struct {
	ticket       *govern.Ticket
	provider     string
	claims       map[string]any // auth: jwt: the verified claims
	claimsHeader string
	// auth: keys: the caller's key, user and team as policies see them.
	key, user, team map[string]any
}

// Model is the usage log's model name for an operation of the API.
func (g *Guard) Model(operation string) string { return "api:" + g.api + "/" + operation }

// Admit identifies the caller from h and takes its rate-limit
// reservations. The error is an *llm.Error with the status to answer
// (401, 403, 429, 503). A nil Guard returns a nil Call.
func (g *Guard) Admit(ctx context.Context, h http.Header, operation, requestID string) (*Call, error) {
	if g == nil {
		return nil, nil
	}
	model := g.Model(operation)
	if g.jwt != nil {
		return g.admitJWT(ctx, h, model, requestID)
	}
	id, err := g.gate.Identify(ctx, h)
	if err != nil {
		g.gate.RecordRefusal(nil, model, requestID, llm.AsError(err).HTTPStatus(), err)
		return nil, err
	}
	in := &router.Input{Model: model, Header: h}
	in.Key, in.User, in.Team = id.Vars()
	// An API call has no prompt: the request is only a carrier for the
	// gate's accounting, and decoding it is a no-op.
	req := llm.NewLazyRequest(llm.OpChat, model, false, false, llm.Source{}, func(*llm.Request) error { return nil })
	t, err := g.gate.Admit(ctx, id, in, &router.Route{}, req, requestID)
	if err != nil {
		return nil, err
	}
	return &Call{ticket: t, provider: "api:" + g.api, key: in.Key, user: in.User, team: in.Team}, nil
}

// Finish records the call: the upstream's status (or the gateway's own
// when sent is false: nothing reached the upstream). Safe on a nil Call.
func (c *Call) Finish(status int, sent bool, err error) {
	if c == nil || c.ticket == nil {
		return
	}
	c.ticket.Finish(govern.Outcome{Sent: sent, Status: status, Err: err, UsageKnown: true, Provider: c.provider})
}

// Credentials are the headers a caller's tidegate key may arrive in; with
// auth: keys they are the gateway's and never go upstream.
var Credentials = []string{"Authorization", "X-Api-Key", "Api-Key"}

// Authenticate checks only that the caller presents valid credentials: a
// valid key (auth: keys) or bearer token (auth: jwt); passthrough passes.
// The MCP endpoint asks it of every request, so that tools are not listed
// to anonymous callers and an MCP client gets the 401 its authorization
// flow expects. The context returned carries a verified token for Admit,
// which then does not verify it again. A refusal is recorded as model
// "api:<api>" and returned as an *llm.Error (401, or 503 when keys or the
// JWKS cannot be checked).
func (g *Guard) Authenticate(ctx context.Context, h http.Header, requestID string) (context.Context, error) {
	switch {
	case g == nil:
		return ctx, nil
	case g.jwt != nil:
		return g.authenticateJWT(ctx, h, requestID)
	}
	if _, err := g.gate.Identify(ctx, h); err != nil {
		g.gate.RecordRefusal(nil, "api:"+g.api, requestID, llm.AsError(err).HTTPStatus(), err)
		return ctx, err
	}
	return ctx, nil
}

// WriteError answers err as {"error": {"type", "code", "message"}} with
// its status (and Retry-After, and for a 401 the Bearer WWW-Authenticate
// challenge of Challenge(err) unless w already carries one).
func WriteError(w http.ResponseWriter, err error) { writeError(w, err) }

// Challenge is the WWW-Authenticate value of a 401 (RFC 6750 §3): Bearer,
// the realm, params (name, value pairs; empty values left out), and
// error="invalid_token" when err refused a bearer JWT that was presented
// (none when it was missing, §3.1).
func Challenge(err error, params ...string) string {
	var b strings.Builder
	b.WriteString(`Bearer realm="tidegate"`)
	for i := 0; i+1 < len(params); i += 2 {
		if params[i+1] != "" {
			fmt.Fprintf(&b, `, %s="%s"`, params[i], quotedPair.Replace(params[i+1]))
		}
	}
	var e *jwtauth.Error
	if errors.As(err, &e) && e.Reason != jwtauth.Missing {
		b.WriteString(`, error="invalid_token"`)
	}
	return b.String()
}

// quotedPair escapes a quoted-string's value (RFC 9110 §5.6.4).
var quotedPair = strings.NewReplacer(`\`, `\\`, `"`, `\"`)
