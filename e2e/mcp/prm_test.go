package mcp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/tidegate/tidegate/internal/jwtauth/jwtauthtest"
)

// discoveryAPI is an auth: jwt API whose authorization server is the fake
// one (the issuer), advertising one scope.
const discoveryAPI = `
  secure:
    spec: orders.yaml
    upstream: "{{api}}/api"
    auth: jwt
    mcp: {server_name: Secure Orders}
    jwt: {jwks_url: "{{jwks}}", issuer: "{{as}}", audience: orders-api, scopes: ["orders:read"]}
`

// An MCP client that knows nothing but the endpoint's URL finds the
// authorization server from the 401 and the protected resource metadata
// (RFC 9728, MCP authorization 2025-06-18 / 2025-11-25), gets a token
// bound to the endpoint and calls a tool.
func TestMCPAuthorizationDiscovery(t *testing.T) {
	a := newAPI(t)
	as := newAuthServer(t)
	cfg := strings.NewReplacer("{{jwks}}", as.jwks.URL, "{{as}}", as.URL).Replace(discoveryAPI)
	g := startGateway(t, a, cfg)
	endpoint := g.URL + "/mcp/secure"
	metaURL := g.URL + "/.well-known/oauth-protected-resource/mcp/secure"
	as.resource = endpoint

	t.Run("challenge and document", func(t *testing.T) {
		h := map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
		resp, _ := post(t, "POST", endpoint, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, h)
		challenge := resp.Header.Get("WWW-Authenticate")
		want := `Bearer realm="tidegate", resource_metadata="` + metaURL + `", scope="orders:read"`
		if resp.StatusCode != http.StatusUnauthorized || challenge != want {
			t.Fatalf("no token: %d %q", resp.StatusCode, challenge)
		}
		h["Authorization"] = "Bearer not-a-jwt"
		if resp, _ := post(t, "POST", endpoint, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, h); resp.Header.Get("WWW-Authenticate") != want+`, error="invalid_token"` {
			t.Fatalf("bad token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
		// Follow the header, with the SDK's own checks (the document names
		// the URL the client dialled; the servers are https or loopback).
		ch, err := oauthex.ParseWWWAuthenticate([]string{challenge})
		if err != nil || len(ch) != 1 {
			t.Fatalf("parse %q: %v", challenge, err)
		}
		prm, err := oauthex.GetProtectedResourceMetadata(t.Context(), ch[0].Params["resource_metadata"], endpoint, http.DefaultClient)
		if err != nil {
			t.Fatal(err)
		}
		if len(prm.AuthorizationServers) != 1 || prm.AuthorizationServers[0] != as.URL || strings.Join(prm.ScopesSupported, " ") != "orders:read" ||
			strings.Join(prm.BearerMethodsSupported, " ") != "header" || prm.ResourceName != "Secure Orders" {
			t.Fatalf("metadata: %+v", prm)
		}
		resp, body := post(t, "GET", metaURL, "", nil)
		if resp.Header.Get("Cache-Control") != "public, max-age=300" || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("metadata response: %v %s", resp.Header, body)
		}
		// The HTTP proxy's operations are not one resource: a plain challenge.
		if resp, _ := post(t, "GET", g.URL+"/apis/secure/orders", "", nil); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Bearer realm="tidegate"` {
			t.Fatalf("HTTP proxy: %d %v", resp.StatusCode, resp.Header)
		}
		// The other APIs (passthrough) publish nothing.
		if resp, _ := post(t, "GET", g.URL+"/.well-known/oauth-protected-resource/mcp/orders", "", nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("passthrough API's metadata: %d", resp.StatusCode)
		}
	})

	t.Run("go-sdk client", func(t *testing.T) {
		oauth, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
			PreregisteredClient:      &oauthex.ClientCredentials{ClientID: "e2e-client"},
			RedirectURL:              "http://127.0.0.1/callback",
			AuthorizationCodeFetcher: as.approve,
		})
		if err != nil {
			t.Fatal(err)
		}
		client := mcp.NewClient(&mcp.Implementation{Name: "discovering", Version: "1"}, nil)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, OAuthHandler: oauth, DisableStandaloneSSE: true}, nil)
		if err != nil {
			t.Fatalf("connect with discovery: %v", err)
		}
		defer cs.Close()
		wantOK(t, call(t, cs, "listOrders", nil))
		if got := a.last(t).Header.Get("Authorization"); got != "Bearer "+as.issued() {
			t.Fatalf("upstream got %q, the authorization server issued %q", got, as.issued())
		}
		if as.scope() != "orders:read" {
			t.Fatalf("the client asked for scope %q", as.scope())
		}
	})
}

// authServer is a minimal OAuth 2.1 authorization server: RFC 8414
// metadata, an authorize endpoint that approves at once, and a token
// endpoint that checks PKCE and the resource indicator (RFC 8707) and signs
// a JWT with the key its JWKS serves.
type authServer struct {
	*httptest.Server
	jwks     *jwtauthtest.JWKS
	key      *ecdsa.PrivateKey
	resource string // the MCP endpoint tokens are for

	mu        sync.Mutex
	challenge string // PKCE code_challenge of the pending code
	scopes    string
	token     string
}

func newAuthServer(t *testing.T) *authServer {
	as := &authServer{jwks: jwtauthtest.New(t)}
	as.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	as.jwks.Set(jwtauthtest.JWK("as-1", &as.key.PublicKey, "ES256"))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"issuer":"`+as.URL+`","authorization_endpoint":"`+as.URL+`/authorize","token_endpoint":"`+as.URL+`/token",`+
			`"response_types_supported":["code"],"grant_types_supported":["authorization_code"],"code_challenge_methods_supported":["S256"],`+
			`"token_endpoint_auth_methods_supported":["none"]}`)
	})
	mux.HandleFunc("GET /authorize", as.authorize)
	mux.HandleFunc("POST /token", as.issue(t))
	as.Server = httptest.NewServer(mux)
	t.Cleanup(as.Close)
	return as
}

// authorize approves a request for the MCP endpoint (the resource
// parameter) and redirects with a code.
func (as *authServer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("resource") != as.resource || q.Get("code_challenge_method") != "S256" || q.Get("client_id") != "e2e-client" {
		http.Error(w, "unexpected authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
		return
	}
	as.mu.Lock()
	as.challenge, as.scopes = q.Get("code_challenge"), q.Get("scope")
	as.mu.Unlock()
	back := q.Get("redirect_uri") + "?" + url.Values{"code": {"code-1"}, "state": {q.Get("state")}}.Encode()
	http.Redirect(w, r, back, http.StatusFound)
}

// issue exchanges the code for a JWT the gateway accepts (aud: the API's
// audience, which the server maps the resource to).
func (as *authServer) issue(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		as.mu.Lock()
		defer as.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		if r.PostFormValue("code") != "code-1" || r.PostFormValue("resource") != as.resource || base64.RawURLEncoding.EncodeToString(sum[:]) != as.challenge {
			writeJSON(w, 400, `{"error":"invalid_grant"}`)
			return
		}
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
			"iss": as.URL, "aud": "orders-api", "sub": "alice", "scope": as.scopes, "exp": time.Now().Add(time.Hour).Unix(),
		})
		tok.Header["kid"] = "as-1"
		signed, err := tok.SignedString(as.key)
		if err != nil {
			t.Error(err)
		}
		as.token = signed
		body, _ := json.Marshal(map[string]any{"access_token": signed, "token_type": "Bearer", "expires_in": 3600})
		writeJSON(w, 200, string(body))
	}
}

// approve is the user's browser: it opens the authorization URL and reads
// the code from the redirect.
func (as *authServer) approve(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", args.URL, nil)
	if err != nil {
		return nil, err
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("authorize %s: %s", args.URL, resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return nil, err
	}
	return &auth.AuthorizationResult{Code: loc.Query().Get("code"), State: loc.Query().Get("state")}, nil
}

func (as *authServer) issued() string {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.token
}

func (as *authServer) scope() string {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.scopes
}
