package config

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// API is one inbound API: an OpenAPI spec served as an MCP tool server
// and as a validated HTTP proxy in front of its upstream.
type API struct {
	// Spec is the OpenAPI 3.0/3.1 document (YAML or JSON), relative to the
	// config file's directory.
	Spec string `yaml:"spec"`
	// Upstream is the API's base URL; operation paths are appended to it.
	Upstream string `yaml:"upstream"`
	// BasePath mounts the HTTP proxy (default /apis/<name>).
	BasePath string `yaml:"base_path"`
	// Timeout bounds one upstream call, response included (default 30s).
	Timeout Duration `yaml:"timeout"`
	// Headers are sent upstream with every call (an upstream service
	// credential, for example).
	Headers map[string]string `yaml:"headers"`
	// Auth is how callers are checked: passthrough (default: the upstream
	// checks the forwarded Authorization) or keys (tidegate virtual keys).
	Auth string `yaml:"auth"`
	// JWT configures auth: jwt.
	JWT APIJWT `yaml:"jwt"`
	MCP APIMCP `yaml:"mcp"`
	// Policies are ordered CEL rules run on every call of the API's
	// operations (HTTP and MCP) after authentication: the first that
	// matches denies or allows; none matching allows.
	Policies []APIPolicy `yaml:"policies"`
}

// APIPolicy is one rule of an API's policies: when When (CEL) holds, the
// call is refused with Deny (403) or let through (Allow: true).
type APIPolicy struct {
	When  string `yaml:"when"`
	Deny  string `yaml:"deny"`
	Allow bool   `yaml:"allow"`
}

// APIJWT checks callers' bearer JWTs against a JWKS (auth: jwt).
type APIJWT struct {
	JWKSURL    string     `yaml:"jwks_url"`
	Issuer     string     `yaml:"issuer"`
	Audience   StringList `yaml:"audience"`   // one string or a list; one must match
	Algorithms []string   `yaml:"algorithms"` // default RS256, ES256
	Leeway     Duration   `yaml:"leeway"`     // clock skew (default 30s)
	CacheTTL   Duration   `yaml:"cache_ttl"`  // JWKS cache (default 10m)
	// ClaimsHeader, when set, carries the verified claims upstream (JSON);
	// any value the caller sends in it is dropped.
	ClaimsHeader string `yaml:"claims_header"`
	// MCP authorization discovery: the MCP endpoint publishes OAuth 2.0
	// Protected Resource Metadata (RFC 9728) and its 401s point to it.
	// AuthorizationServers are the issuers MCP clients get tokens from
	// (default: [issuer] when it is an http(s) URL; none: no metadata).
	AuthorizationServers []string `yaml:"authorization_servers"`
	// Scopes are advertised (scopes_supported and the 401's scope), not
	// enforced: API policies can check jwt.claims.scope.
	Scopes []string `yaml:"scopes"`
	// Resource is the MCP endpoint's canonical URL, its path mcp.path
	// (default: the request's scheme and Host + mcp.path; set it behind a
	// proxy that terminates TLS or changes the host).
	Resource string `yaml:"resource"`
}

// StringList is a YAML string or list of strings.
type StringList []string

// UnmarshalYAML accepts a scalar or a sequence.
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = StringList{n.Value}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*l = list
	return nil
}

// APIMCP configures an API's MCP server.
type APIMCP struct {
	// Enabled defaults to true.
	Enabled *bool `yaml:"enabled"`
	// Path mounts the Streamable HTTP endpoint (default /mcp/<name>).
	Path          string `yaml:"path"`
	ServerName    string `yaml:"server_name"`
	ServerVersion string `yaml:"server_version"`
	// AllowedOrigins are the browser origins allowed to call the endpoint
	// (DNS-rebinding protection). Requests without Origin always pass;
	// by default only http(s)://localhost and loopback origins do.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// AnonymousDiscovery (auth: keys) lets callers without a key
	// initialize and list tools; by default every MCP request needs a
	// valid key and gets a 401 without one. tools/call always needs one.
	AnonymousDiscovery bool `yaml:"anonymous_discovery"`
}

// On reports whether the MCP server is enabled.
func (m APIMCP) On() bool { return m.Enabled == nil || *m.Enabled }

// API caller authentication modes.
const (
	APIAuthPassthrough = "passthrough"
	APIAuthKeys        = "keys"
	APIAuthJWT         = "jwt"
)

var jwtAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

// DefaultAPITimeout bounds one upstream call of an API.
const DefaultAPITimeout = 30 * time.Second

var apiName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// applyAPIDefaults fills paths and timeouts, and makes relative spec paths
// relative to dir (the config file's directory; "" keeps them relative to
// the working directory).
func (c *Config) applyAPIDefaults(dir string) {
	keys := false
	for name, a := range c.APIs {
		if a.BasePath == "" {
			a.BasePath = "/apis/" + name
		}
		a.BasePath = strings.TrimRight(a.BasePath, "/")
		if a.MCP.Path == "" {
			a.MCP.Path = "/mcp/" + name
		}
		if a.Timeout == 0 {
			a.Timeout = Duration(DefaultAPITimeout)
		}
		if a.Auth == "" {
			a.Auth = APIAuthPassthrough
		}
		if a.Spec != "" && dir != "" && !filepath.IsAbs(a.Spec) {
			a.Spec = filepath.Join(dir, a.Spec)
		}
		a.Upstream = strings.TrimRight(a.Upstream, "/")
		if a.Auth == APIAuthJWT && a.JWT.AuthorizationServers == nil && httpURL(a.JWT.Issuer) {
			a.JWT.AuthorizationServers = []string{a.JWT.Issuer}
		}
		keys = keys || a.Auth == APIAuthKeys
		c.APIs[name] = a
	}
	if keys && c.Store == "" {
		c.Store = "sqlite://tidegate.db"
	}
}

// validateAPIs checks the apis: section. The specs themselves are
// compiled by the app (the config package does not know OpenAPI).
func (c *Config) validateAPIs(add func(path, format string, args ...any)) {
	mounts := map[string]string{}
	mount := func(path, p, what string) {
		switch {
		case !strings.HasPrefix(p, "/") || strings.ContainsAny(p, " {}?#") || p == "/":
			add(path, "must be an absolute path below / without spaces, braces, ? or #, got %q", p)
		case reserved(p):
			add(path, "%s is a gateway route", p)
		case mounts[p] != "":
			add(path, "%s is already mounted by %s", p, mounts[p])
		default:
			mounts[p] = what
		}
	}
	for _, name := range sortedKeys(c.APIs) {
		a := c.APIs[name]
		path := "apis." + name
		if !apiName.MatchString(name) {
			add(path, "an API name is letters, digits, _, . and - (it names its default paths)")
		}
		if a.Spec == "" {
			add(path+".spec", "required (an OpenAPI 3.0 or 3.1 file)")
		} else if st, err := os.Stat(a.Spec); err != nil {
			add(path+".spec", "%v", err)
		} else if st.IsDir() {
			add(path+".spec", "%s is a directory", a.Spec)
		}
		if !httpURL(a.Upstream) {
			add(path+".upstream", "must be an http(s) URL, got %q", a.Upstream)
		}
		switch a.Auth {
		case APIAuthPassthrough, APIAuthKeys:
		case APIAuthJWT:
			j := a.JWT
			if !httpURL(j.JWKSURL) {
				add(path+".jwt.jwks_url", "must be an http(s) URL, got %q", j.JWKSURL)
			}
			if j.Issuer == "" {
				add(path+".jwt.issuer", "required with auth: jwt (the iss tokens must carry)")
			}
			if len(j.Audience) == 0 {
				add(path+".jwt.audience", "required with auth: jwt (a string or a list; the token's aud must contain one)")
			}
			for i, alg := range j.Algorithms {
				if !slices.Contains(jwtAlgorithms, alg) {
					add(fmt.Sprintf("%s.jwt.algorithms[%d]", path, i), "unsupported %q (%s)", alg, strings.Join(jwtAlgorithms, ", "))
				}
			}
			if j.Leeway < 0 || j.CacheTTL < 0 {
				add(path+".jwt", "leeway and cache_ttl must not be negative")
			}
			if h := j.ClaimsHeader; h != "" && (strings.ContainsAny(h, "\r\n: ") || strings.EqualFold(h, "Authorization")) {
				add(path+".jwt.claims_header", "invalid header name %q", h)
			}
			validateDiscovery(path+".jwt", j, a.MCP.Path, add)
		default:
			add(path+".auth", "unknown mode %q (passthrough, keys or jwt)", a.Auth)
		}
		if a.Auth != APIAuthJWT && !reflect.ValueOf(a.JWT).IsZero() {
			add(path+".jwt", "set, but auth is %q (use auth: jwt)", a.Auth)
		}
		for i, p := range a.Policies {
			if (p.Deny != "") == p.Allow {
				add(fmt.Sprintf("%s.policies[%d]", path, i), "set exactly one of deny (a message) or allow: true")
			}
		}
		mount(path+".base_path", a.BasePath, path)
		if a.MCP.On() {
			mount(path+".mcp.path", a.MCP.Path, path)
		}
		for h, v := range a.Headers {
			if strings.ContainsAny(h, "\r\n: ") || h == "" {
				add(path+".headers", "invalid header name %q", h)
			}
			if strings.ContainsAny(v, "\r\n") {
				add(path+".headers."+h, "header value must not contain line breaks")
			}
		}
		if a.MCP.AnonymousDiscovery && a.Auth != APIAuthKeys {
			add(path+".mcp.anonymous_discovery", "only applies to auth: keys (auth is %q)", a.Auth)
		}
		for i, o := range a.MCP.AllowedOrigins {
			if u, err := url.Parse(o); o != "*" && (err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/")) {
				add(fmt.Sprintf("%s.mcp.allowed_origins[%d]", path, i), "must be an origin (scheme://host[:port]) or *, got %q", o)
			}
		}
	}
}

// validateDiscovery checks the MCP authorization discovery fields of an
// auth: jwt API whose MCP endpoint is mounted at mcpPath.
func validateDiscovery(path string, j APIJWT, mcpPath string, add func(path, format string, args ...any)) {
	for i, s := range j.AuthorizationServers {
		if u, _ := url.Parse(s); !httpURL(s) || u.RawQuery != "" || u.Fragment != "" {
			add(fmt.Sprintf("%s.authorization_servers[%d]", path, i), "must be an issuer URL (http(s), no query or fragment), got %q", s)
		}
	}
	for i, s := range j.Scopes {
		if !scopeToken.MatchString(s) {
			add(fmt.Sprintf("%s.scopes[%d]", path, i), "must be a scope token (printable ASCII without spaces, quotes or backslashes), got %q", s)
		}
	}
	if j.Resource == "" {
		return
	}
	u, _ := url.Parse(j.Resource)
	switch {
	case !httpURL(j.Resource) || u.RawQuery != "" || u.Fragment != "":
		add(path+".resource", "must be an http(s) URL without query or fragment, got %q", j.Resource)
	case u.Path != mcpPath:
		add(path+".resource", "its path must be mcp.path (%s), got %q", mcpPath, u.Path)
	}
}

// scopeToken is an OAuth scope token (RFC 6749 §3.3).
var scopeToken = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`)

// httpURL reports whether s is an absolute http(s) URL with a host.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// reserved reports whether p would shadow the gateway's own routes.
func reserved(p string) bool {
	for _, r := range []string{"/v1", "/health", "/admin", "/dashboard", "/.well-known"} {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}
