package mcp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/tidegate/tidegate/internal/apigw"
	"github.com/tidegate/tidegate/internal/jwtauth"
	"github.com/tidegate/tidegate/internal/jwtauth/jwtauthtest"
	"github.com/tidegate/tidegate/internal/openapi"
)

func ordersResource(url string) *Resource {
	return &Resource{URL: url, Path: "/mcp/orders", AuthorizationServers: []string{"https://idp.test/tenant"},
		Scopes: []string{"orders:read", "orders:write"}, Name: "Orders API"}
}

// The document names the endpoint the client dialled (or the configured
// URL), and is public and cacheable.
func TestResourceMetadataDocument(t *testing.T) {
	for _, c := range []struct {
		configured, request, resource string
	}{
		{"", "http://gw.test:8080" + wellKnown + "/mcp/orders", "http://gw.test:8080/mcp/orders"},
		{"", "https://gw.test" + wellKnown + "/mcp/orders", "https://gw.test/mcp/orders"},
		{"https://public.example/mcp/orders", "http://10.0.0.7:8080" + wellKnown + "/mcp/orders", "https://public.example/mcp/orders"},
	} {
		w := httptest.NewRecorder()
		ordersResource(c.configured).MetadataHandler().ServeHTTP(w, httptest.NewRequest("GET", c.request, nil))
		var doc map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || w.Code != 200 {
			t.Fatalf("%s: %d %s", c.request, w.Code, w.Body)
		}
		want := map[string]any{
			"resource":                 c.resource,
			"authorization_servers":    []any{"https://idp.test/tenant"},
			"scopes_supported":         []any{"orders:read", "orders:write"},
			"bearer_methods_supported": []any{"header"},
			"resource_name":            "Orders API",
		}
		if !reflect.DeepEqual(doc, want) {
			t.Errorf("%s:\n got %v\nwant %v", c.request, doc, want)
		}
		h := w.Header()
		if h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "public, max-age=300" || h.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("headers: %v", h)
		}
	}
	w := httptest.NewRecorder()
	ordersResource("").MetadataHandler().ServeHTTP(w, httptest.NewRequest("POST", "http://gw.test"+wellKnown+"/mcp/orders", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", w.Code)
	}
	w = httptest.NewRecorder()
	pre := httptest.NewRequest("OPTIONS", "http://gw.test"+wellKnown+"/mcp/orders", nil)
	pre.Header.Set("Origin", "http://localhost:6274")
	pre.Header.Set("Access-Control-Request-Headers", "mcp-protocol-version")
	ordersResource("").MetadataHandler().ServeHTTP(w, pre)
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "MCP-Protocol-Version") {
		t.Errorf("preflight: %d %v", w.Code, w.Header())
	}
}

// A 401 from the endpoint points to the metadata, with the scopes, and
// says invalid_token only when a token was presented; a 503 (the JWKS is
// down) carries no challenge.
func TestResourceChallenge(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwks := jwtauthtest.New(t)
	jwks.Set(jwtauthtest.JWK("k", &key.PublicKey, "ES256"))
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": "https://evil.test", "exp": time.Now().Add(time.Minute).Unix()})
	tok.Header["kid"] = "k"
	wrongIssuer, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	const meta = `resource_metadata="http://example.com/.well-known/oauth-protected-resource/mcp/orders"`
	for _, c := range []struct {
		name     string
		resource *Resource
		header   map[string]string
		want     string
	}{
		{"missing", ordersResource(""), nil, `Bearer realm="tidegate", ` + meta + `, scope="orders:read orders:write"`},
		{"invalid", ordersResource(""), map[string]string{"Authorization": "Bearer " + wrongIssuer},
			`Bearer realm="tidegate", ` + meta + `, scope="orders:read orders:write", error="invalid_token"`},
		{"configured URL", ordersResource("https://public.example/mcp/orders"), nil,
			`Bearer realm="tidegate", resource_metadata="https://public.example/.well-known/oauth-protected-resource/mcp/orders", scope="orders:read orders:write"`},
		{"no scopes", &Resource{Path: "/mcp/orders", AuthorizationServers: []string{"https://idp.test"}}, nil, `Bearer realm="tidegate", ` + meta},
		{"no resource", nil, nil, `Bearer realm="tidegate"`},
		{"no resource, invalid", nil, map[string]string{"Authorization": "Bearer " + wrongIssuer}, `Bearer realm="tidegate", error="invalid_token"`},
	} {
		s := jwtServer(t, jwks.URL, c.resource)
		w := post(s, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, c.header)
		if got := w.Header().Get("WWW-Authenticate"); w.Code != http.StatusUnauthorized || got != c.want {
			t.Errorf("%s: %d\n got %s\nwant %s", c.name, w.Code, got, c.want)
		}
		// The SDK's client reads it back.
		ch, err := oauthex.ParseWWWAuthenticate(w.Header().Values("WWW-Authenticate"))
		if err != nil || len(ch) != 1 || ch[0].Scheme != "bearer" || ch[0].Params["realm"] != "tidegate" {
			t.Errorf("%s: parsed %+v %v", c.name, ch, err)
		}
	}

	down := jwtauthtest.New(t)
	down.Down(true)
	w := post(jwtServer(t, down.URL, ordersResource("")), `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, map[string]string{"Authorization": "Bearer " + wrongIssuer})
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("WWW-Authenticate") != "" {
		t.Errorf("JWKS down: %d %v", w.Code, w.Header())
	}
}

// jwtServer is an MCP server of one tool behind a JWT guard.
func jwtServer(t *testing.T, jwksURL string, r *Resource) *Server {
	t.Helper()
	path := filepath.Join(t.TempDir(), "spec.yaml")
	spec := "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /orders:\n    get: {operationId: listOrders, responses: {'200': {description: ok}}}\n"
	if err := os.WriteFile(path, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	api, err := openapi.Compile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	guard := apigw.NewJWTGuard(jwtauth.New(jwtauth.Options{JWKSURL: jwksURL, Issuer: "https://idp.test"}), nil, "orders", "")
	s, err := New(Options{Name: "orders", API: api, Upstream: "http://127.0.0.1:9", Guard: guard, Resource: r})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
