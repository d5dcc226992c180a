package jwtauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tidegate/tidegate/internal/jwtauth"
	"github.com/tidegate/tidegate/internal/jwtauth/jwtauthtest"
)

func TestVerify(t *testing.T) {
	rsaKey, ecKey := newRSA(t), newEC(t)
	jwks := jwtauthtest.New(t)
	jwks.Set(jwtauthtest.JWK("rsa-1", &rsaKey.PublicKey, ""), jwtauthtest.JWK("ec-1", &ecKey.PublicKey, "ES256"))
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	v := jwtauth.New(jwtauth.Options{JWKSURL: jwks.URL, Issuer: "https://idp", Audience: []string{"orders", "billing"}, Now: func() time.Time { return now }})
	base := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": "https://idp", "aud": "orders", "sub": "alice", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
	}
	with := func(k string, val any) jwt.MapClaims {
		c := base()
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
		return c
	}
	otherRSA := newRSA(t)
	pubPEM, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubPEM})
	cases := []struct {
		name   string
		token  string
		reason jwtauth.Reason
		msg    string
	}{
		{"rs256", sign(t, jwt.SigningMethodRS256, "rsa-1", rsaKey, base()), -1, ""},
		{"es256", sign(t, jwt.SigningMethodES256, "ec-1", ecKey, base()), -1, ""},
		{"aud list", sign(t, jwt.SigningMethodRS256, "rsa-1", rsaKey, with("aud", []string{"x", "billing"})), -1, ""},
		{"within leeway", sign(t, jwt.SigningMethodRS256, "rsa-1", rsaKey, with("exp", now.Add(-20*time.Second).Unix())), -1, ""},
		{"expired", sign(t, jwt.SigningMethodRS256, "rsa-1", rsaKey, with("exp", now.Add(-time.Minute).Unix())), jwtauth.Expired, "expired"},
		{"no exp", sign(t, jwt.SigningMethodRS256, "rsa-1", rsaKey, with("exp", nil)), jwtauth.Invalid, "exp"},
		{"nbf", sign(t, jwt.SigningMethodRS256, "rsa-1", rsaKey, with("nbf", now.Add(time.Minute).Unix())), jwtauth.NotYetValid, "not valid yet"},
		{"iat future", sign(t, jwt.SigningMethodRS256, "rsa-1", rsaKey, with("iat", now.Add(time.Minute).Unix())), jwtauth.NotYetValid, "not valid yet"},
		{"issuer", sign(t, jwt.SigningMethodRS256, "rsa-1", rsaKey, with("iss", "https://evil")), jwtauth.WrongIssuer, "issuer"},
		{"audience", sign(t, jwt.SigningMethodRS256, "rsa-1", rsaKey, with("aud", "payroll")), jwtauth.WrongAudience, "audience"},
		{"bad signature", sign(t, jwt.SigningMethodRS256, "rsa-1", otherRSA, base()), jwtauth.BadSignature, "signature"},
		{"tampered", tamper(sign(t, jwt.SigningMethodRS256, "rsa-1", rsaKey, base())), jwtauth.BadSignature, "signature"},
		{"alg none", sign(t, jwt.SigningMethodNone, "rsa-1", jwt.UnsafeAllowNoneSignatureType, base()), jwtauth.BadAlgorithm, `"none" is not allowed`},
		{"hs256 with the public key", sign(t, jwt.SigningMethodHS256, "rsa-1", pemBytes, base()), jwtauth.BadAlgorithm, `"HS256" is not allowed`},
		{"rs384 not allowed", sign(t, jwt.SigningMethodRS384, "rsa-1", rsaKey, base()), jwtauth.BadAlgorithm, "RS384"},
		{"es256 on the rsa kid", sign(t, jwt.SigningMethodES256, "rsa-1", ecKey, base()), jwtauth.BadAlgorithm, "cannot be used"},
		{"unknown kid", sign(t, jwt.SigningMethodRS256, "nope", rsaKey, base()), jwtauth.UnknownKey, `unknown signing key "nope"`},
		{"garbage", "abc.def", jwtauth.Malformed, "malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			claims, err := v.Verify(context.Background(), c.token)
			if c.reason == -1 {
				if err != nil || claims["sub"] != "alice" {
					t.Fatalf("want valid, got %v %v", claims, err)
				}
				return
			}
			var e *jwtauth.Error
			if !errors.As(err, &e) || e.Reason != c.reason || !strings.Contains(e.Message, c.msg) {
				t.Fatalf("want reason %d %q, got %v (%#v)", c.reason, c.msg, err, e)
			}
		})
	}
	h := http.Header{}
	if _, err := v.VerifyHeader(context.Background(), h); err == nil || !strings.Contains(err.Error(), "missing bearer token") {
		t.Fatalf("no header: %v", err)
	}
	h.Set("Authorization", "bearer "+cases[0].token)
	if _, err := v.VerifyHeader(context.Background(), h); err != nil {
		t.Fatal(err)
	}
}

func TestRotationCacheAndOutage(t *testing.T) {
	old, next, third := newRSA(t), newEC(t), newRSA(t)
	jwks := jwtauthtest.New(t)
	jwks.Set(jwtauthtest.JWK("old", &old.PublicKey, "RS256"))
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	v := jwtauth.New(jwtauth.Options{JWKSURL: jwks.URL, Issuer: "i", Audience: []string{"a"}, CacheTTL: 10 * time.Minute, Now: clock})
	tok := func(m jwt.SigningMethod, kid string, key any) string {
		return sign(t, m, kid, key, jwt.MapClaims{"iss": "i", "aud": "a", "exp": clock().Add(time.Hour).Unix()})
	}
	verify := func(tok string) error { _, err := v.Verify(context.Background(), tok); return err }
	wantFetches := func(n int) {
		t.Helper()
		if v.Fetches() != n || jwks.Hits() != n {
			t.Fatalf("fetches %d, hits %d, want %d", v.Fetches(), jwks.Hits(), n)
		}
	}

	// Fetched on first use, then cached.
	for range 5 {
		if err := verify(tok(jwt.SigningMethodRS256, "old", old)); err != nil {
			t.Fatal(err)
		}
	}
	wantFetches(1)

	// Rotation: a new kid triggers a refetch, and is accepted.
	jwks.Set(jwtauthtest.JWK("old", &old.PublicKey, "RS256"), jwtauthtest.JWK("next", &next.PublicKey, "ES256"))
	if err := verify(tok(jwt.SigningMethodES256, "next", next)); err != nil {
		t.Fatal(err)
	}
	wantFetches(2)
	// Another unknown kid within 30s: no refetch (rate limit), refused.
	jwks.Set(jwtauthtest.JWK("third", &third.PublicKey, "RS256"))
	for range 3 {
		if err := verify(tok(jwt.SigningMethodRS256, "third", third)); err == nil || !strings.Contains(err.Error(), "unknown signing key") {
			t.Fatalf("third within the rate limit: %v", err)
		}
	}
	wantFetches(2)
	// After 30s it is fetched.
	advance(31 * time.Second)
	if err := verify(tok(jwt.SigningMethodRS256, "third", third)); err != nil {
		t.Fatal(err)
	}
	wantFetches(3)
	// The removed key is gone from the set once refetched.
	if err := verify(tok(jwt.SigningMethodRS256, "old", old)); err == nil {
		t.Fatal("a key removed from the JWKS still verifies")
	}

	// Cache expiry: the set is refetched; if the JWKS is down, the stale
	// keys keep serving.
	jwks.Down(true)
	advance(11 * time.Minute)
	if err := verify(tok(jwt.SigningMethodRS256, "third", third)); err != nil {
		t.Fatalf("stale key while the JWKS is down: %v", err)
	}
	fetches := v.Fetches()
	var e *jwtauth.Error
	if err := verify(tok(jwt.SigningMethodRS256, "old", old)); !errors.As(err, &e) || e.Reason != jwtauth.Unavailable || !strings.Contains(e.Message, "cannot fetch the JWKS") {
		t.Fatalf("unknown kid while down: %v", err)
	}
	if v.Fetches() != fetches {
		t.Fatal("a failed fetch was retried at once")
	}
	jwks.Down(false)
	advance(6 * time.Second)
	if err := verify(tok(jwt.SigningMethodRS256, "third", third)); err != nil {
		t.Fatal(err)
	}
	if v.Fetches() != fetches+1 {
		t.Fatalf("fetches %d, want %d", v.Fetches(), fetches+1)
	}

	// A JWKS that is down from the start: 503-class error.
	down := jwtauthtest.New(t)
	down.Down(true)
	v2 := jwtauth.New(jwtauth.Options{JWKSURL: down.URL, Issuer: "i", Audience: []string{"a"}, Now: clock})
	if _, err := v2.Verify(context.Background(), tok(jwt.SigningMethodRS256, "old", old)); !errors.As(err, &e) || e.Reason != jwtauth.Unavailable || !strings.Contains(err.Error(), "503") {
		t.Fatalf("down: %v", err)
	}
}

func TestConcurrentFirstUse(t *testing.T) {
	k := newRSA(t)
	jwks := jwtauthtest.New(t)
	jwks.Set(jwtauthtest.JWK("k", &k.PublicKey, ""))
	v := jwtauth.New(jwtauth.Options{JWKSURL: jwks.URL})
	tok := sign(t, jwt.SigningMethodRS256, "k", k, jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix()})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := v.Verify(context.Background(), tok); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if jwks.Hits() != 1 {
		t.Fatalf("hits %d", jwks.Hits())
	}
}

func newRSA(t *testing.T) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newEC(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sign(t *testing.T, m jwt.SigningMethod, kid string, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tamper swaps the payload for another (sub: mallory), keeping the signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), "alice", "mallory", 1)))
	return strings.Join(parts, ".")
}
