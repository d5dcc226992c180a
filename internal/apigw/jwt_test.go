package apigw

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tidegate/tidegate/internal/jwtauth"
	"github.com/tidegate/tidegate/internal/jwtauth/jwtauthtest"
	"github.com/tidegate/tidegate/internal/llm"
)

// Authenticate refuses a request without a valid token with a 401, and
// Admit takes the token it verified from the context only for that very
// token: another one is verified again.
func TestJWTAuthenticate(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwks := jwtauthtest.New(t)
	jwks.Set(jwtauthtest.JWK("k", &key.PublicKey, "ES256"))
	g := NewJWTGuard(jwtauth.New(jwtauth.Options{JWKSURL: jwks.URL, Issuer: "https://idp.test"}), nil, "orders", "")
	sign := func(iss string) http.Header {
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": iss, "sub": "ann", "exp": time.Now().Add(time.Minute).Unix()})
		tok.Header["kid"] = "k"
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return http.Header{"Authorization": {"Bearer " + s}}
	}
	for _, h := range []http.Header{{}, sign("https://evil.test")} {
		if _, err := g.Authenticate(context.Background(), h, "r1"); llm.AsError(err).HTTPStatus() != http.StatusUnauthorized {
			t.Fatalf("%v: %v", h, err)
		}
	}
	valid := sign("https://idp.test")
	ctx, err := g.Authenticate(context.Background(), valid, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := g.Admit(ctx, valid, "listOrders", "r1"); err != nil || c.Claims()["sub"] != "ann" {
		t.Fatalf("admit the verified token: %v %v", c.Claims(), err)
	}
	if _, err := g.Admit(ctx, sign("https://evil.test"), "listOrders", "r1"); err == nil {
		t.Fatal("a token other than the verified one was admitted unchecked")
	}
}

// The challenge quotes its values, leaves empty ones out, and says
// invalid_token only for a bearer JWT that was presented and refused.
func TestChallenge(t *testing.T) {
	if got := Challenge(nil, "a", `x"y\z`, "b", ""); got != `Bearer realm="tidegate", a="x\"y\\z"` {
		t.Fatal(got)
	}
	if got := Challenge(jwtError(&jwtauth.Error{Reason: jwtauth.Missing})); got != `Bearer realm="tidegate"` {
		t.Fatal(got)
	}
	if got := Challenge(jwtError(&jwtauth.Error{Reason: jwtauth.Expired})); got != `Bearer realm="tidegate", error="invalid_token"` {
		t.Fatal(got)
	}
	// auth: keys refusals keep the plain challenge.
	if got := Challenge(&llm.Error{Kind: llm.KindAuthentication, Code: "invalid_api_key"}); got != `Bearer realm="tidegate"` {
		t.Fatal(got)
	}
}
