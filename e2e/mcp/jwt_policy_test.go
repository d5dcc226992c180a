package mcp_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tidegate/tidegate/internal/jwtauth/jwtauthtest"
	"github.com/tidegate/tidegate/internal/testgateway"
)

// teamsConfig is an auth: jwt API whose policies read the verified
// claims and whose listOrders limit is counted per subject.
const teamsConfig = `
providers:
  echo: {type: echo}
models:
  echo: {provider: echo, model: echo}
middlewares:
  per_user: {rate_limit: {rpm: 2, partition: jwt.sub}}
apis:
  teams:
    spec: teams.yaml
    upstream: "{{api}}/api"
    auth: jwt
    jwt: {jwks_url: "{{jwks}}", issuer: "https://idp.test", audience: orders-api}
    policies:
      - {when: 'has(jwt.claims.sub) && jwt.claims.sub == "root"', allow: true}
      - {when: 'operation == "createOrder" && !("writers" in jwt.claims.groups)', deny: "only writers may create orders"}
      - {when: 'method == "GET" && path == "/orders/{id}" && jwt.claims.tier != "gold"', deny: "order details are for gold customers"}
`

// TestJWTClaimsInPoliciesAndLimits: API policies see jwt.claims, and a
// partitioned rate limit gives each subject its own window, over HTTP and
// MCP alike.
func TestJWTClaimsInPoliciesAndLimits(t *testing.T) {
	a := newAPI(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwks := jwtauthtest.New(t)
	jwks.Set(jwtauthtest.JWK("k", &key.PublicKey, "ES256"))
	spec := strings.Replace(ordersSpec, "operationId: listOrders\n", "operationId: listOrders\n      x-tidegate-middlewares: [per_user]\n", 1)
	g := testgateway.StartFiles(t, strings.NewReplacer("{{api}}", a.URL, "{{jwks}}", jwks.URL).Replace(teamsConfig), map[string]string{"teams.yaml": spec})
	token := func(claims jwt.MapClaims) string {
		claims["iss"], claims["aud"], claims["exp"] = "https://idp.test", "orders-api", time.Now().Add(time.Hour).Unix()
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
		tok.Header["kid"] = "k"
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	alice := token(jwt.MapClaims{"sub": "alice", "groups": []string{"readers"}, "tier": "gold"})
	bob := token(jwt.MapClaims{"sub": "bob", "groups": []string{"writers"}, "tier": "silver"})
	nogroups := token(jwt.MapClaims{"sub": "carol"})
	nosub := token(jwt.MapClaims{"groups": []string{"writers"}})
	root := token(jwt.MapClaims{"sub": "root"})
	base := g.URL + "/apis/teams"
	mcpURL := g.URL + "/mcp/teams"
	bearer := func(tok string) map[string]string {
		return map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
	}
	session := func(tok string) interface {
		call(name string, args any) (bool, string)
	} {
		cs := connect(t, mcpURL, "", http.Header{"Authorization": {"Bearer " + tok}})
		return sessionCaller(func(name string, args any) (bool, string) {
			res := call(t, cs, name, args)
			return res.IsError, text(res)
		})
	}
	order := `{"item":"tea","quantity":1}`

	t.Run("policies", func(t *testing.T) {
		before := len(a.requests())
		for _, c := range []struct {
			tok, method, path, body string
			status                  int
			msg                     string
		}{
			{alice, "POST", "/orders", order, 403, "only writers may create orders"},
			{nogroups, "POST", "/orders", order, 403, "could not be evaluated"}, // no groups claim: fail closed
			{bob, "GET", "/orders/7", "", 403, "order details are for gold customers"},
		} {
			resp, body := post(t, c.method, base+c.path, c.body, bearer(c.tok))
			if resp.StatusCode != c.status || !strings.Contains(body, c.msg) || !strings.Contains(body, "policy_denied") {
				t.Errorf("%s %s: %d %s", c.method, c.path, resp.StatusCode, body)
			}
		}
		isErr, msg := session(alice).call("createOrder", map[string]any{"item": "tea", "quantity": 1})
		if !isErr || !strings.Contains(msg, "only writers may create orders") {
			t.Errorf("mcp createOrder as alice: %v %s", isErr, msg)
		}
		isErr, msg = session(bob).call("getOrder", map[string]any{"id": 7})
		if !isErr || !strings.Contains(msg, "order details are for gold customers") {
			t.Errorf("mcp getOrder as bob: %v %s", isErr, msg)
		}
		if n := len(a.requests()) - before; n != 0 {
			t.Fatalf("%d refused calls reached the API", n)
		}
		if resp, body := post(t, "POST", base+"/orders", order, bearer(bob)); resp.StatusCode != 201 {
			t.Fatalf("bob creates: %d %s", resp.StatusCode, body)
		}
		if isErr, msg := session(root).call("createOrder", map[string]any{"item": "tea", "quantity": 1}); isErr {
			t.Fatalf("root creates over MCP (allow rule first): %s", msg)
		}
		// alice passes the policy; the API itself wants its own token.
		if _, msg := session(alice).call("getOrder", map[string]any{"id": 7}); !strings.Contains(msg, "upstream answered 401") {
			t.Fatalf("alice reads an order: %s", msg)
		}
	})

	t.Run("per-subject limits", func(t *testing.T) {
		// rpm 2 per sub, shared by HTTP and MCP: alice's third call is
		// refused while bob still has his own window.
		if resp, body := post(t, "GET", base+"/orders", "", bearer(alice)); resp.StatusCode != 200 {
			t.Fatalf("alice 1: %d %s", resp.StatusCode, body)
		}
		if isErr, msg := session(alice).call("listOrders", nil); isErr {
			t.Fatalf("alice 2: %s", msg)
		}
		resp, body := post(t, "GET", base+"/orders", "", bearer(alice))
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("alice 3: %d %s", resp.StatusCode, body)
		}
		if isErr, msg := session(alice).call("listOrders", nil); !isErr || !strings.Contains(msg, "rate limit reached for listOrders") {
			t.Fatalf("alice 4 over MCP: %v %s", isErr, msg)
		}
		for i := range 2 {
			if resp, body := post(t, "GET", base+"/orders", "", bearer(bob)); resp.StatusCode != 200 {
				t.Fatalf("bob %d: %d %s", i, resp.StatusCode, body)
			}
		}
		if isErr, _ := session(bob).call("listOrders", nil); !isErr {
			t.Fatal("bob's third call passed")
		}
		// A token without the partition's claim cannot be counted: 403.
		resp, body = post(t, "GET", base+"/orders", "", bearer(nosub))
		if resp.StatusCode != 403 || !strings.Contains(body, "partition_missing") {
			t.Fatalf("no sub: %d %s", resp.StatusCode, body)
		}
	})
}

type sessionCaller func(name string, args any) (bool, string)

func (f sessionCaller) call(name string, args any) (bool, string) { return f(name, args) }
