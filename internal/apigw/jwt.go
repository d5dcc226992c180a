package apigw

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tidegate/tidegate/internal/govern"
	"github.com/tidegate/tidegate/internal/jwtauth"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/router"
)

// NewJWTGuard guards calls to api with bearer JWTs checked by v (auth:
// jwt). gate, when not nil, records every call (refusals included) in the
// usage log; it need not require keys. claimsHeader, when not "", carries
// the verified claims upstream as JSON.
func NewJWTGuard(v *jwtauth.Verifier, gate *govern.Gate, api, claimsHeader string) *Guard {
	return &Guard{gate: gate, api: api, jwt: v, claimsHeader: http.CanonicalHeaderKey(claimsHeader)}
}

// StripsCredentials reports whether the caller's credentials stay at the
// gateway: true for auth: keys (they are tidegate keys); false for
// passthrough and for jwt, where the bearer token is the caller's own
// credential and goes upstream unchanged.
func (g *Guard) StripsCredentials() bool { return g != nil && g.jwt == nil }

// admitJWT verifies the caller's token and, with a gate, opens the usage
// record. The caller's subject and claims go into the router input's User
// map (id: sub, claims: the map) and onto the Call.
func (g *Guard) admitJWT(ctx context.Context, h http.Header, model, requestID string) (*Call, error) {
	claims, err := g.verify(ctx, h)
	if err != nil {
		e := jwtError(err)
		if g.gate != nil {
			g.gate.RecordRefusal(nil, model, requestID, e.HTTPStatus(), e)
		}
		return nil, e
	}
	c := &Call{provider: "api:" + g.api, claims: map[string]any(claims), claimsHeader: g.claimsHeader}
	if g.gate == nil {
		return c, nil
	}
	sub, _ := claims["sub"].(string)
	in := &router.Input{Model: model, Header: h, User: map[string]any{"id": sub, "claims": map[string]any(claims)}}
	req := llm.NewLazyRequest(llm.OpChat, model, false, false, llm.Source{}, func(*llm.Request) error { return nil })
	t, err := g.gate.Admit(ctx, nil, in, &router.Route{}, req, requestID)
	if err != nil {
		return nil, err
	}
	c.ticket = t
	return c, nil
}

// verifiedKey is the context key of a token Authenticate verified.
type verifiedKey struct{}

type verifiedToken struct {
	by     *jwtauth.Verifier
	token  string
	claims jwt.MapClaims
}

// authenticateJWT verifies h's bearer token and returns ctx carrying it.
func (g *Guard) authenticateJWT(ctx context.Context, h http.Header, requestID string) (context.Context, error) {
	claims, err := g.jwt.VerifyHeader(ctx, h)
	if err != nil {
		e := jwtError(err)
		if g.gate != nil {
			g.gate.RecordRefusal(nil, "api:"+g.api, requestID, e.HTTPStatus(), e)
		}
		return ctx, e
	}
	return context.WithValue(ctx, verifiedKey{}, verifiedToken{by: g.jwt, token: jwtauth.Bearer(h), claims: claims}), nil
}

// verify returns the claims of h's bearer token: those Authenticate
// verified for this token with this verifier, else checked now.
func (g *Guard) verify(ctx context.Context, h http.Header) (jwt.MapClaims, error) {
	if v, ok := ctx.Value(verifiedKey{}).(verifiedToken); ok && v.by == g.jwt && v.token == jwtauth.Bearer(h) {
		return v.claims, nil
	}
	return g.jwt.VerifyHeader(ctx, h)
}

// Claims are the verified JWT claims of an auth: jwt call (nil otherwise).
func (c *Call) Claims() map[string]any {
	if c == nil {
		return nil
	}
	return c.claims
}

// SetClaimsHeader replaces h's claims header (when one is configured)
// with the call's verified claims, so a caller cannot forge it.
func (c *Call) SetClaimsHeader(h http.Header) {
	if c == nil || c.claimsHeader == "" {
		return
	}
	h.Del(c.claimsHeader)
	if b, err := json.Marshal(c.claims); err == nil {
		h.Set(c.claimsHeader, string(b))
	}
}

// jwtError maps a verification failure to the answer: 401 with the
// reason, or 503 when the JWKS cannot be fetched.
func jwtError(err error) *llm.Error {
	var e *jwtauth.Error
	if !errors.As(err, &e) {
		return llm.AsError(err)
	}
	if e.Reason == jwtauth.Unavailable {
		return &llm.Error{Kind: llm.KindOverloaded, Status: http.StatusServiceUnavailable, Code: "jwks_unavailable", Message: e.Message, Err: e}
	}
	code := map[jwtauth.Reason]string{
		jwtauth.Missing: "missing_token", jwtauth.Expired: "token_expired", jwtauth.NotYetValid: "token_not_yet_valid",
		jwtauth.BadSignature: "invalid_signature", jwtauth.BadAlgorithm: "invalid_algorithm", jwtauth.UnknownKey: "unknown_key",
		jwtauth.WrongIssuer: "invalid_issuer", jwtauth.WrongAudience: "invalid_audience",
	}[e.Reason]
	if code == "" {
		code = "invalid_token"
	}
	return &llm.Error{Kind: llm.KindAuthentication, Status: http.StatusUnauthorized, Code: code, Message: e.Message, Err: e}
}
