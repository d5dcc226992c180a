package mcp_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tidegate/tidegate/internal/jwtauth/jwtauthtest"
)

// jwtAPIs adds three auth: jwt APIs, each with its own JWKS: secure (the
// checks), rotating (key rotation) and dark (its JWKS is down).
const jwtAPIs = `
  secure:
    spec: orders.yaml
    upstream: "{{api}}/api"
    auth: jwt
    jwt: {jwks_url: "{{jwks}}", issuer: "https://idp.test", audience: [orders-api, other], claims_header: X-Caller-Claims}
  rotating:
    spec: orders.yaml
    upstream: "{{api}}/api"
    auth: jwt
    jwt: {jwks_url: "{{jwks2}}", issuer: "https://idp.test", audience: orders-api, algorithms: [ES256, RS256]}
  dark:
    spec: orders.yaml
    upstream: "{{api}}/api"
    auth: jwt
    jwt: {jwks_url: "{{jwks3}}", issuer: "https://idp.test", audience: orders-api}
`

func TestJWTAuth(t *testing.T) {
	a := newAPI(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	jwks, jwks2, jwks3 := jwtauthtest.New(t), jwtauthtest.New(t), jwtauthtest.New(t)
	jwks.Set(jwtauthtest.JWK("rsa-1", &rsaKey.PublicKey, "RS256"), jwtauthtest.JWK("ec-1", &ecKey.PublicKey, ""))
	jwks2.Set(jwtauthtest.JWK("rsa-1", &rsaKey.PublicKey, "RS256"))
	jwks3.Down(true)
	db := filepath.Join(t.TempDir(), "tidegate.db")
	cfg := strings.NewReplacer("{{jwks}}", jwks.URL, "{{jwks2}}", jwks2.URL, "{{jwks3}}", jwks3.URL).Replace(jwtAPIs) + strings.ReplaceAll(keysConfig, "{{db}}", db)
	g := startGateway(t, a, cfg)

	now := time.Now()
	claims := func(edit ...any) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "https://idp.test", "aud": "orders-api", "sub": "alice", "scope": "orders:read", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
		for i := 0; i < len(edit); i += 2 {
			c[edit[i].(string)] = edit[i+1]
		}
		return c
	}
	sign := func(m jwt.SigningMethod, kid string, key any, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(m, c)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	der, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	valid := sign(jwt.SigningMethodRS256, "rsa-1", rsaKey, claims())
	validEC := sign(jwt.SigningMethodES256, "ec-1", ecKey, claims("aud", []string{"x", "other"}))

	refused := []struct {
		name, token, code, msg string
	}{
		{"missing", "", "missing_token", "missing bearer token"},
		{"expired", sign(jwt.SigningMethodRS256, "rsa-1", rsaKey, claims("exp", now.Add(-time.Hour).Unix())), "token_expired", "token has expired"},
		{"not yet valid", sign(jwt.SigningMethodRS256, "rsa-1", rsaKey, claims("nbf", now.Add(time.Hour).Unix())), "token_not_yet_valid", "not valid yet"},
		{"wrong issuer", sign(jwt.SigningMethodRS256, "rsa-1", rsaKey, claims("iss", "https://evil.test")), "invalid_issuer", `issuer is not "https://idp.test"`},
		{"wrong audience", sign(jwt.SigningMethodRS256, "rsa-1", rsaKey, claims("aud", "payroll")), "invalid_audience", "audience is not orders-api or other"},
		{"bad signature", sign(jwt.SigningMethodRS256, "rsa-1", otherKey, claims()), "invalid_signature", "invalid token signature"},
		{"alg none", sign(jwt.SigningMethodNone, "rsa-1", jwt.UnsafeAllowNoneSignatureType, claims()), "invalid_algorithm", `"none" is not allowed`},
		{"hs256 with the public key", sign(jwt.SigningMethodHS256, "rsa-1", pubPEM, claims()), "invalid_algorithm", `"HS256" is not allowed`},
		{"unknown kid", sign(jwt.SigningMethodRS256, "nope", otherKey, claims()), "unknown_key", `unknown signing key "nope"`},
	}
	bearer := func(tok string) map[string]string {
		if tok == "" {
			return nil
		}
		return map[string]string{"Authorization": "Bearer " + tok}
	}

	t.Run("mcp", func(t *testing.T) {
		url := g.URL + "/mcp/secure"
		before := len(a.requests())
		// Without a valid token nothing is served, not even tools/list: a
		// 401 with a Bearer challenge at the HTTP level, as for HTTP callers
		// (the MCP authorization spec's answer to a missing or bad token).
		for _, c := range refused {
			for _, body := range []string{
				`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
				`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"listOrders","arguments":{}}}`,
			} {
				h := bearer(c.token)
				if h == nil {
					h = map[string]string{}
				}
				h["Content-Type"], h["Accept"], h["Mcp-Protocol-Version"] = "application/json", "application/json, text/event-stream", "2025-06-18"
				resp, got := post(t, "POST", url, body, h)
				var e struct {
					Error struct{ Code, Message string }
				}
				// The challenge points MCP clients to the endpoint's
				// protected resource metadata (prm_test.go).
				challenge := `Bearer realm="tidegate", resource_metadata="` + g.URL + `/.well-known/oauth-protected-resource/mcp/secure"`
				if c.token != "" {
					challenge += `, error="invalid_token"`
				}
				if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != challenge ||
					json.Unmarshal([]byte(got), &e) != nil || e.Error.Code != c.code || !strings.Contains(e.Error.Message, c.msg) {
					t.Errorf("%s %s: %d %v %s", c.name, body, resp.StatusCode, resp.Header, got)
				}
			}
		}
		client := mcp.NewClient(&mcp.Implementation{Name: "anon", Version: "1"}, nil)
		if _, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: url, DisableStandaloneSSE: true}, nil); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
			t.Fatalf("an anonymous go-sdk client connected: %v", err)
		}
		if len(a.requests()) != before {
			t.Fatal("a refused call reached the API")
		}
		for _, tok := range []string{valid, validEC} {
			cs := connect(t, url, "", http.Header{"Authorization": {"Bearer " + tok}, "X-Caller-Claims": {`{"sub":"admin"}`}})
			wantOK(t, call(t, cs, "listOrders", nil))
			got := a.last(t)
			if got.Header.Get("Authorization") != "Bearer "+tok {
				t.Fatalf("the token did not go upstream unchanged: %v", got.Header)
			}
			var fwd map[string]any
			if err := json.Unmarshal([]byte(got.Header.Get("X-Caller-Claims")), &fwd); err != nil || fwd["sub"] != "alice" || len(got.Header.Values("X-Caller-Claims")) != 1 {
				t.Fatalf("claims header: %v", got.Header.Values("X-Caller-Claims"))
			}
		}
	})

	t.Run("http", func(t *testing.T) {
		before := len(a.requests())
		for _, c := range refused {
			resp, body := post(t, "GET", g.URL+"/apis/secure/orders", "", bearer(c.token))
			var e struct {
				Error struct{ Type, Code, Message string }
			}
			if resp.StatusCode != 401 || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != c.code || !strings.Contains(e.Error.Message, c.msg) ||
				e.Error.Type != "authentication" || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s: %d %s", c.name, resp.StatusCode, body)
			}
		}
		if len(a.requests()) != before {
			t.Fatal("a refused call reached the API")
		}
		h := bearer(valid)
		h["X-Caller-Claims"] = `{"sub":"admin"}`
		if resp, body := post(t, "GET", g.URL+"/apis/secure/orders", "", h); resp.StatusCode != 200 {
			t.Fatalf("valid: %d %s", resp.StatusCode, body)
		}
		got := a.last(t)
		var fwd map[string]any
		if got.Header.Get("Authorization") != "Bearer "+valid || json.Unmarshal([]byte(got.Header.Get("X-Caller-Claims")), &fwd) != nil || fwd["sub"] != "alice" || fwd["scope"] != "orders:read" {
			t.Fatalf("upstream headers: %v", got.Header)
		}
	})

	t.Run("rotation", func(t *testing.T) {
		ok := sign(jwt.SigningMethodRS256, "rsa-1", rsaKey, claims())
		if resp, body := post(t, "GET", g.URL+"/apis/rotating/orders", "", bearer(ok)); resp.StatusCode != 200 {
			t.Fatalf("before rotation: %d %s", resp.StatusCode, body)
		}
		if jwks2.Hits() != 1 {
			t.Fatalf("JWKS fetched %d times", jwks2.Hits())
		}
		// The IdP rotates to an EC key: the new kid makes the gateway refetch.
		jwks2.Set(jwtauthtest.JWK("ec-2", &ecKey.PublicKey, "ES256"))
		rotated := sign(jwt.SigningMethodES256, "ec-2", ecKey, claims())
		if resp, body := post(t, "GET", g.URL+"/apis/rotating/orders", "", bearer(rotated)); resp.StatusCode != 200 {
			t.Fatalf("after rotation: %d %s", resp.StatusCode, body)
		}
		wantOK(t, call(t, connect(t, g.URL+"/mcp/rotating", "", http.Header{"Authorization": {"Bearer " + rotated}}), "listOrders", nil))
		if jwks2.Hits() != 2 {
			t.Fatalf("JWKS fetched %d times, want 2", jwks2.Hits())
		}
		// The old key left the set.
		if resp, body := post(t, "GET", g.URL+"/apis/rotating/orders", "", bearer(ok)); resp.StatusCode != 401 || !strings.Contains(body, "unknown signing key") {
			t.Fatalf("old key after rotation: %d %s", resp.StatusCode, body)
		}
		// Another rotation within 30 s: no refetch (rate limit), refused.
		jwks2.Set(jwtauthtest.JWK("rsa-3", &otherKey.PublicKey, "RS256"))
		third := sign(jwt.SigningMethodRS256, "rsa-3", otherKey, claims())
		for range 3 {
			if resp, body := post(t, "GET", g.URL+"/apis/rotating/orders", "", bearer(third)); resp.StatusCode != 401 || !strings.Contains(body, `unknown signing key \"rsa-3\"`) {
				t.Fatalf("third key within the rate limit: %d %s", resp.StatusCode, body)
			}
		}
		if jwks2.Hits() != 2 {
			t.Fatalf("JWKS fetched %d times within the rate limit, want 2", jwks2.Hits())
		}
	})

	t.Run("jwks down", func(t *testing.T) {
		resp, body := post(t, "GET", g.URL+"/apis/dark/orders", "", bearer(valid))
		if resp.StatusCode != 503 || !strings.Contains(body, "cannot fetch the JWKS") || !strings.Contains(body, "jwks_unavailable") {
			t.Fatalf("JWKS down: %d %s", resp.StatusCode, body)
		}
		h := map[string]string{"Authorization": "Bearer " + valid, "Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
		if resp, body := post(t, "POST", g.URL+"/mcp/dark", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, h); resp.StatusCode != 503 || !strings.Contains(body, "cannot fetch the JWKS") {
			t.Fatalf("MCP, JWKS down: %d %s", resp.StatusCode, body)
		}
		if resp, _ := post(t, "GET", g.URL+"/apis/dark/orders", "", nil); resp.StatusCode != 401 {
			t.Fatalf("no token, JWKS down: %d", resp.StatusCode)
		}
	})

	// Every call is in the usage log; refusals flagged.
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, body := post(t, "GET", g.URL+"/admin/logs?limit=200", "", map[string]string{"Authorization": "Bearer " + adminKey})
		var logs struct {
			Data []struct {
				Model, Provider string
				Status          int
				Refused         bool
			}
		}
		if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &logs) != nil {
			t.Fatalf("logs: %d %s", resp.StatusCode, body)
		}
		count := map[string]int{}
		for _, r := range logs.Data {
			count[r.Model+" "+http.StatusText(r.Status)+map[bool]string{true: " refused"}[r.Refused]]++
		}
		// MCP refusals come before any tool is known: model api:<name>.
		if count["api:secure/listOrders OK"] == 3 && count["api:secure/listOrders Unauthorized refused"] == len(refused) &&
			count["api:secure Unauthorized refused"] >= 2*len(refused)+1 && count["api:rotating/listOrders OK"] == 3 &&
			count["api:dark/listOrders Service Unavailable refused"] == 1 && count["api:dark Service Unavailable refused"] == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("usage log: %v", count)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Without a store, auth: jwt needs nothing else (no usage log).
func TestJWTWithoutStore(t *testing.T) {
	a := newAPI(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwks := jwtauthtest.New(t)
	jwks.Set(jwtauthtest.JWK("k", &key.PublicKey, "ES256"))
	g := startGateway(t, a, `
  secure:
    spec: orders.yaml
    upstream: "{{api}}/api"
    auth: jwt
    jwt: {jwks_url: "`+jwks.URL+`", issuer: "https://idp.test", audience: orders-api}
`)
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": "https://idp.test", "aud": "orders-api", "sub": "bob", "exp": time.Now().Add(time.Minute).Unix()})
	tok.Header["kid"] = "k"
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := post(t, "GET", g.URL+"/apis/secure/orders", "", map[string]string{"Authorization": "Bearer " + s}); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if resp, body := post(t, "GET", g.URL+"/apis/secure/orders", "", nil); resp.StatusCode != 401 || !strings.Contains(body, "missing bearer token") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	cs := connect(t, g.URL+"/mcp/secure", "", http.Header{"Authorization": {"Bearer " + s}})
	wantOK(t, call(t, cs, "listOrders", nil))
	h := map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
	if resp, body := post(t, "POST", g.URL+"/mcp/secure", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, h); resp.StatusCode != 401 || !strings.Contains(body, "missing bearer token") {
		t.Fatalf("anonymous tools/list: %d %s", resp.StatusCode, body)
	}
}
