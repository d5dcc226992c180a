package config

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
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
	MCP  APIMCP `yaml:"mcp"`
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
}

// On reports whether the MCP server is enabled.
func (m APIMCP) On() bool { return m.Enabled == nil || *m.Enabled }

// API caller authentication modes.
const (
	APIAuthPassthrough = "passthrough"
	APIAuthKeys        = "keys"
)

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
		if u, err := url.Parse(a.Upstream); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(path+".upstream", "must be an http(s) URL, got %q", a.Upstream)
		}
		switch a.Auth {
		case APIAuthPassthrough, APIAuthKeys:
		case "jwt":
			add(path+".auth", "jwt is not supported yet (passthrough or keys)")
		default:
			add(path+".auth", "unknown mode %q (passthrough or keys)", a.Auth)
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
		for i, o := range a.MCP.AllowedOrigins {
			if u, err := url.Parse(o); o != "*" && (err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/")) {
				add(fmt.Sprintf("%s.mcp.allowed_origins[%d]", path, i), "must be an origin (scheme://host[:port]) or *, got %q", o)
			}
		}
	}
}

// reserved reports whether p would shadow the gateway's own routes.
func reserved(p string) bool {
	for _, r := range []string{"/v1", "/health", "/admin"} {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}
