// Package jwtauth verifies bearer JWTs against a JWKS URL: RSA and EC keys,
// cached for a TTL, refetched on an unknown kid (key rotation) at most once
// per MinRefetch, with issuer, audience and time checks.
package jwtauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults.
const (
	DefaultLeeway         = 30 * time.Second
	DefaultCacheTTL       = 10 * time.Minute
	DefaultMinRefetch     = 30 * time.Second
	DefaultFailureBackoff = 5 * time.Second
)

// DefaultAlgorithms are accepted when none are configured.
var DefaultAlgorithms = []string{"RS256", "ES256"}

// Supported are the algorithms a JWKS public key can verify.
var Supported = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

// Options configure a Verifier.
type Options struct {
	JWKSURL    string
	Issuer     string   // required iss ("" skips the check)
	Audience   []string // one of them must be in aud ("" skips the check)
	Algorithms []string // default RS256, ES256
	Leeway     time.Duration
	CacheTTL   time.Duration
	MinRefetch time.Duration // between two JWKS fetches triggered by an unknown kid (default 30s)
	// FailureBackoff is the pause after a failed fetch (default 5s); the
	// stale keys, if any, serve meanwhile.
	FailureBackoff time.Duration
	Client         *http.Client
	Now            func() time.Time
}

// Reason classifies a failure.
type Reason int

// Failure reasons.
const (
	Missing     Reason = iota // no bearer token
	Malformed                 // not a JWT
	Expired                   // exp passed
	NotYetValid               // nbf or iat in the future
	BadSignature
	BadAlgorithm // alg not allowed (none, HS*, unlisted)
	UnknownKey   // kid not in the JWKS, even after a refetch
	WrongIssuer
	WrongAudience
	Invalid     // other claim problems
	Unavailable // the JWKS cannot be fetched (the gateway's problem: 503)
)

// Error is a verification failure with a message for the caller.
type Error struct {
	Reason  Reason
	Message string
	Err     error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

func fail(r Reason, err error, format string, args ...any) *Error {
	return &Error{Reason: r, Message: fmt.Sprintf(format, args...), Err: err}
}

// Verifier checks tokens. It is safe for concurrent use.
type Verifier struct {
	opt    Options
	parser *jwt.Parser

	fetchMu   sync.Mutex // one fetch at a time
	mu        sync.Mutex
	keys      map[string]any // kid → *rsa.PublicKey | *ecdsa.PublicKey
	algs      map[string]string
	fetched   time.Time // last successful fetch
	tried     time.Time // last attempt
	refetched time.Time // last fetch for an unknown kid
	lastErr   error
	fetches   int
}

// New builds a Verifier; zero options take their defaults.
func New(opt Options) *Verifier {
	if len(opt.Algorithms) == 0 {
		opt.Algorithms = DefaultAlgorithms
	}
	if opt.Leeway == 0 {
		opt.Leeway = DefaultLeeway
	}
	if opt.CacheTTL == 0 {
		opt.CacheTTL = DefaultCacheTTL
	}
	if opt.MinRefetch == 0 {
		opt.MinRefetch = DefaultMinRefetch
	}
	if opt.FailureBackoff == 0 {
		opt.FailureBackoff = DefaultFailureBackoff
	}
	if opt.Client == nil {
		opt.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	popts := []jwt.ParserOption{
		jwt.WithValidMethods(opt.Algorithms), jwt.WithLeeway(opt.Leeway), jwt.WithTimeFunc(opt.Now),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
	}
	if opt.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(opt.Issuer))
	}
	if len(opt.Audience) > 0 {
		popts = append(popts, jwt.WithAudience(opt.Audience...))
	}
	return &Verifier{opt: opt, parser: jwt.NewParser(popts...)}
}

// Fetches is how many times the JWKS was requested (for tests).
func (v *Verifier) Fetches() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.fetches
}

// Bearer is the token of an "Authorization: Bearer" header, "" if none.
func Bearer(h http.Header) string {
	a := strings.TrimSpace(h.Get("Authorization"))
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// VerifyHeader verifies the bearer token of h.
func (v *Verifier) VerifyHeader(ctx context.Context, h http.Header) (jwt.MapClaims, error) {
	tok := Bearer(h)
	if tok == "" {
		return nil, fail(Missing, nil, "missing bearer token: send a JWT as Authorization: Bearer <token>")
	}
	return v.Verify(ctx, tok)
}

// Verify checks the token's signature, algorithm, times, issuer and
// audience and returns its claims. Errors are *Error.
func (v *Verifier) Verify(ctx context.Context, token string) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		alg, _ := t.Header["alg"].(string)
		kid, _ := t.Header["kid"].(string)
		return v.key(ctx, kid, alg)
	})
	if err == nil {
		return claims, nil
	}
	var e *Error
	alg, allowed := "", false
	if p, _, perr := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{}); perr == nil {
		alg, _ = p.Header["alg"].(string)
		allowed = slices.Contains(v.opt.Algorithms, alg)
	}
	switch {
	case errors.As(err, &e):
		return nil, e
	case errors.Is(err, jwt.ErrTokenMalformed):
		return nil, fail(Malformed, err, "malformed token: %v", err)
	case !allowed:
		return nil, fail(BadAlgorithm, err, "token algorithm %q is not allowed (allowed: %s)", alg, strings.Join(v.opt.Algorithms, ", "))
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return nil, fail(BadSignature, err, "invalid token signature")
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, fail(Expired, err, "token has expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return nil, fail(NotYetValid, err, "token is not valid yet")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return nil, fail(WrongIssuer, err, "token issuer is not %q", v.opt.Issuer)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return nil, fail(WrongAudience, err, "token audience is not %s", strings.Join(v.opt.Audience, " or "))
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return nil, fail(Invalid, err, "token lacks a required claim: %v", err)
	default:
		return nil, fail(Invalid, err, "invalid token: %v", err)
	}
}

// key finds the public key for kid, fetching the JWKS on first use, when
// the cache has expired, or (rate-limited) when kid is unknown.
func (v *Verifier) key(ctx context.Context, kid, alg string) (any, error) {
	if k, ok, fresh := v.lookup(kid); ok && fresh {
		return v.check(k, kid, alg)
	}
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	k, ok, fresh := v.lookup(kid)
	if ok && fresh {
		return v.check(k, kid, alg)
	}
	now := v.opt.Now()
	v.mu.Lock()
	var allowed, unknownKid bool
	switch {
	case v.lastErr != nil: // the last fetch failed: retry after a pause
		allowed = now.Sub(v.tried) >= v.opt.FailureBackoff
	case v.fetched.IsZero() || !fresh: // first use, or the cache expired
		allowed = true
	default: // fresh set, unknown kid: a rotation? refetch, rate-limited
		unknownKid = true
		allowed = v.refetched.IsZero() || now.Sub(v.refetched) >= v.opt.MinRefetch
	}
	if allowed && unknownKid {
		v.refetched = now
	}
	everFetched := !v.fetched.IsZero()
	lastErr := v.lastErr
	v.mu.Unlock()
	if !allowed {
		switch {
		case ok: // stale, but the JWKS cannot be refetched yet
			return v.check(k, kid, alg)
		case lastErr != nil && (!everFetched || !fresh):
			return nil, fail(Unavailable, lastErr, "cannot fetch the JWKS to check the token: %v", lastErr)
		default:
			return nil, fail(UnknownKey, nil, "unknown signing key %q", kid)
		}
	}
	err := v.fetch(ctx, now)
	if err != nil {
		if ok {
			return v.check(k, kid, alg) // serve the stale key while the JWKS is down
		}
		return nil, fail(Unavailable, err, "cannot fetch the JWKS to check the token: %v", err)
	}
	if k, ok, _ = v.lookup(kid); ok {
		return v.check(k, kid, alg)
	}
	return nil, fail(UnknownKey, nil, "unknown signing key %q", kid)
}

// lookup returns kid's key, whether it exists and whether the cache is
// fresh. An empty kid matches the only key of a one-key set.
func (v *Verifier) lookup(kid string) (key any, ok, fresh bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	fresh = !v.fetched.IsZero() && v.opt.Now().Sub(v.fetched) < v.opt.CacheTTL
	if kid == "" && len(v.keys) == 1 {
		for _, k := range v.keys {
			return k, true, fresh
		}
	}
	key, ok = v.keys[kid]
	return key, ok, fresh
}

// check refuses a key whose type or declared alg does not match the
// token's alg (an HS token against an RSA key, for instance).
func (v *Verifier) check(k any, kid, alg string) (any, error) {
	v.mu.Lock()
	want := v.algs[kid]
	v.mu.Unlock()
	if want != "" && want != alg {
		return nil, fail(BadAlgorithm, nil, "token algorithm %q does not match key %q (%s)", alg, kid, want)
	}
	switch k.(type) {
	case *rsa.PublicKey:
		if strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS") {
			return k, nil
		}
	case *ecdsa.PublicKey:
		if strings.HasPrefix(alg, "ES") {
			return k, nil
		}
	}
	return nil, fail(BadAlgorithm, nil, "token algorithm %q cannot be used with key %q", alg, kid)
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// fetch replaces the key set with the JWKS's. Keys it cannot use
// (encryption keys, symmetric keys, unknown curves) are skipped.
func (v *Verifier) fetch(ctx context.Context, now time.Time) error {
	keys, algs, err := v.download(ctx)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.tried = now
	v.fetches++
	v.lastErr = err
	if err != nil {
		return err
	}
	v.keys, v.algs, v.fetched = keys, algs, now
	return nil
}

func (v *Verifier) download(ctx context.Context) (map[string]any, map[string]string, error) {
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodGet, v.opt.JWKSURL, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.opt.Client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("%s answered %s", v.opt.JWKSURL, resp.Status)
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, nil, fmt.Errorf("%s: not a JWKS: %w", v.opt.JWKSURL, err)
	}
	keys, algs := map[string]any{}, map[string]string{}
	for _, j := range set.Keys {
		if j.Use != "" && j.Use != "sig" {
			continue
		}
		k, err := j.public()
		if err != nil {
			continue
		}
		keys[j.Kid] = k
		algs[j.Kid] = j.Alg
	}
	return keys, algs, nil
}

func (j jwk) public() (any, error) {
	b := func(s string) (*big.Int, error) {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil || len(raw) == 0 {
			return nil, fmt.Errorf("bad base64url value")
		}
		return new(big.Int).SetBytes(raw), nil
	}
	switch j.Kty {
	case "RSA":
		n, err := b(j.N)
		if err != nil {
			return nil, err
		}
		e, err := b(j.E)
		if err != nil || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31 {
			return nil, fmt.Errorf("bad exponent")
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
	case "EC":
		var c elliptic.Curve
		switch j.Crv {
		case "P-256":
			c = elliptic.P256()
		case "P-384":
			c = elliptic.P384()
		case "P-521":
			c = elliptic.P521()
		default:
			return nil, fmt.Errorf("unsupported curve %q", j.Crv)
		}
		x, err := b(j.X)
		if err != nil {
			return nil, err
		}
		y, err := b(j.Y)
		if err != nil {
			return nil, err
		}
		if !c.IsOnCurve(x, y) { //nolint:staticcheck // the point must be validated
			return nil, fmt.Errorf("point not on curve")
		}
		return &ecdsa.PublicKey{Curve: c, X: x, Y: y}, nil
	}
	return nil, fmt.Errorf("unsupported key type %q", j.Kty)
}
