package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAPIsDefaultsAndRelativeSpec(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "orders.yaml"), []byte("openapi: 3.0.3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tidegate.yaml")
	if err := os.WriteFile(path, []byte(`
apis:
  orders:
    spec: orders.yaml
    upstream: http://127.0.0.1:9/api/
  billing:
    spec: orders.yaml
    upstream: https://billing.example
    base_path: /billing/
    auth: keys
    timeout: 5s
    mcp: {enabled: false}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.APIs["orders"]
	if o.Spec != filepath.Join(dir, "orders.yaml") || o.Upstream != "http://127.0.0.1:9/api" || o.BasePath != "/apis/orders" ||
		o.MCP.Path != "/mcp/orders" || !o.MCP.On() || o.Auth != APIAuthPassthrough || o.Timeout.D(0) != DefaultAPITimeout {
		t.Fatalf("orders defaults: %+v", o)
	}
	b := cfg.APIs["billing"]
	if b.BasePath != "/billing" || b.MCP.On() || b.Timeout.D(0) != 5*time.Second {
		t.Fatalf("billing: %+v", b)
	}
	if cfg.Store != "sqlite://tidegate.db" {
		t.Fatalf("auth: keys needs a store; got %q", cfg.Store)
	}
}

func TestAPIsValidation(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(spec, []byte("openapi: 3.0.3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Parse([]byte(`
apis:
  a:
    upstream: ftp://x
    auth: jwt
    jwt: {jwks_url: "file:///jwks", algorithms: [HS256]}
  b:
    spec: /nonexistent/spec.yaml
    upstream: http://127.0.0.1:9
    base_path: /v1/b
    mcp: {allowed_origins: ["localhost:3000"]}
  c:
    spec: `+spec+`
    upstream: http://127.0.0.1:9
    base_path: /mcp/d
    headers: {"X-Bad": "a\nb"}
    mcp: {anonymous_discovery: true}
  d:
    spec: `+spec+`
    upstream: http://127.0.0.1:9
    base_path: /dashboard
    policies:
      - {when: "true", allow: true}
      - {when: "true"}
      - {when: "true", deny: no, allow: true}
`), env(nil))
	if err == nil {
		t.Fatal("expected errors")
	}
	for _, want := range []string{
		"apis.a.spec: required",
		`apis.a.upstream: must be an http(s) URL, got "ftp://x"`,
		`apis.a.jwt.jwks_url: must be an http(s) URL, got "file:///jwks"`,
		"apis.a.jwt.issuer: required with auth: jwt",
		"apis.a.jwt.audience: required with auth: jwt",
		`apis.a.jwt.algorithms[0]: unsupported "HS256"`,
		"apis.b.spec: stat /nonexistent/spec.yaml",
		"apis.b.base_path: /v1/b is a gateway route",
		`apis.b.mcp.allowed_origins[0]: must be an origin`,
		"apis.c.headers.X-Bad: header value must not contain line breaks",
		"apis.d.mcp.path: /mcp/d is already mounted by apis.c",
		"apis.d.base_path: /dashboard is a gateway route",
		`apis.c.mcp.anonymous_discovery: only applies to auth: keys (auth is "passthrough")`,
		"apis.d.policies[1]: set exactly one of deny (a message) or allow: true",
		"apis.d.policies[2]: set exactly one of",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestAPIHeadersRedacted(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(spec, []byte("openapi: 3.0.3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse([]byte(`
apis:
  a: {spec: `+spec+`, upstream: "http://127.0.0.1:9", headers: {Authorization: "Bearer upstream-secret"}}
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if out := string(cfg.Marshal()); strings.Contains(out, "upstream-secret") {
		t.Fatalf("secret in:\n%s", out)
	}
}

func TestAPIJWTConfig(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(spec, []byte("openapi: 3.0.3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse([]byte(`
apis:
  one:
    spec: `+spec+`
    upstream: http://127.0.0.1:9
    auth: jwt
    jwt: {jwks_url: "https://idp.example/jwks", issuer: https://idp.example/, audience: orders, leeway: 5s, cache_ttl: 1m, claims_header: X-Claims}
  two:
    spec: `+spec+`
    upstream: http://127.0.0.1:9
    auth: jwt
    jwt: {jwks_url: "https://idp.example/jwks", issuer: https://idp.example/, audience: [a, b], algorithms: [ES384]}
  three:
    spec: `+spec+`
    upstream: http://127.0.0.1:9
    auth: jwt
    mcp: {path: /tools/three}
    jwt:
      jwks_url: "https://idp.example/jwks"
      issuer: orders-idp
      audience: https://gw.example/tools/three
      authorization_servers: [https://login.example/tenant]
      scopes: ["orders:read", "orders:write"]
      resource: https://gw.example/tools/three
  four:
    spec: `+spec+`
    upstream: http://127.0.0.1:9
    auth: jwt
    jwt: {jwks_url: "https://idp.example/jwks", issuer: orders-idp, audience: a}
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	one, two := cfg.APIs["one"].JWT, cfg.APIs["two"].JWT
	if len(one.Audience) != 1 || one.Audience[0] != "orders" || one.Leeway.D(0) != 5*time.Second || one.CacheTTL.D(0) != time.Minute || one.ClaimsHeader != "X-Claims" {
		t.Errorf("one: %+v", one)
	}
	if len(two.Audience) != 2 || two.Audience[1] != "b" || two.Algorithms[0] != "ES384" {
		t.Errorf("two: %+v", two)
	}
	// The authorization server defaults to the issuer when it is a URL.
	if len(one.AuthorizationServers) != 1 || one.AuthorizationServers[0] != "https://idp.example/" || one.Resource != "" || one.Scopes != nil {
		t.Errorf("one's discovery defaults: %+v", one)
	}
	three, four := cfg.APIs["three"].JWT, cfg.APIs["four"].JWT
	if len(three.AuthorizationServers) != 1 || three.AuthorizationServers[0] != "https://login.example/tenant" ||
		len(three.Scopes) != 2 || three.Resource != "https://gw.example/tools/three" {
		t.Errorf("three: %+v", three)
	}
	if four.AuthorizationServers != nil {
		t.Errorf("four's issuer is not a URL, yet: %+v", four.AuthorizationServers)
	}
}

func TestAPIJWTDiscoveryValidation(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(spec, []byte("openapi: 3.0.3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Parse([]byte(`
apis:
  a:
    spec: `+spec+`
    upstream: http://127.0.0.1:9
    auth: jwt
    jwt:
      jwks_url: "https://idp.example/jwks"
      issuer: https://idp.example
      audience: a
      authorization_servers: [idp.example, "https://idp.example/?tenant=1", "ftp://idp.example"]
      scopes: ["orders read", 'say"hi', ""]
      resource: https://gw.example/mcp/other
  b:
    spec: `+spec+`
    upstream: http://127.0.0.1:9
    auth: jwt
    jwt: {jwks_url: "https://idp.example/jwks", issuer: https://idp.example, audience: b, resource: "https://gw.example/mcp/b#frag"}
  c:
    spec: `+spec+`
    upstream: http://127.0.0.1:9
    base_path: /.well-known/oauth-protected-resource/x
    jwt: {scopes: [orders:read]}
`), env(nil))
	if err == nil {
		t.Fatal("expected errors")
	}
	for _, want := range []string{
		`apis.a.jwt.authorization_servers[0]: must be an issuer URL (http(s), no query or fragment), got "idp.example"`,
		`apis.a.jwt.authorization_servers[1]: must be an issuer URL`,
		`apis.a.jwt.authorization_servers[2]: must be an issuer URL`,
		`apis.a.jwt.scopes[0]: must be a scope token`,
		`apis.a.jwt.scopes[1]: must be a scope token`,
		`apis.a.jwt.scopes[2]: must be a scope token`,
		`apis.a.jwt.resource: its path must be mcp.path (/mcp/a), got "/mcp/other"`,
		`apis.b.jwt.resource: must be an http(s) URL without query or fragment, got "https://gw.example/mcp/b#frag"`,
		"apis.c.base_path: /.well-known/oauth-protected-resource/x is a gateway route",
		`apis.c.jwt: set, but auth is "passthrough" (use auth: jwt)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
