package config

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Middleware is a named profile of `middlewares:` that API operations
// attach with x-tidegate-middlewares: a rate limit and/or a guard on the
// request body.
type Middleware struct {
	RateLimit *OperationRateLimit `yaml:"rate_limit"`
	Guard     *BodyGuard          `yaml:"guard"`
}

// BodyGuard checks an operation's JSON request body (HTTP) or tool
// arguments (MCP): a guardrails profile applied to every string in it
// (deny, allow, words, injection, detectors: block refuses, redact
// rewrites) and/or a JSON Schema it must match besides the spec's.
type BodyGuard struct {
	Profile string `yaml:"profile"`
	// Schema is a JSON Schema written as YAML (or JSON).
	Schema map[string]any `yaml:"schema"`
}

// OperationRateLimit is a sliding-window limit on one operation, shared by
// every caller (and, with Redis, every replica): requests per minute and
// per hour; zero means no limit on that window.
type OperationRateLimit struct {
	RPM int64 `yaml:"rpm"`
	RPH int64 `yaml:"rph"`
	// Partition counts the windows per caller instead of for everyone:
	// "jwt.<claim>" (a claim of the verified token, e.g. jwt.sub; the API
	// needs auth: jwt) or "key" (the virtual key; auth: keys).
	Partition string `yaml:"partition"`
}

var (
	middlewareKeys = []string{"rate_limit", "guard"}
	subKeys        = map[string][]string{"rate_limit": {"rpm", "rph", "partition"}, "guard": {"profile", "schema"}}
)

// UnmarshalYAML rejects the keys a profile does not support yet with a
// message that says so.
func (m *Middleware) UnmarshalYAML(n *yaml.Node) error {
	// A node's Decode is not strict: check the keys here.
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if !slices.Contains(middlewareKeys, k.Value) {
				return fmt.Errorf("line %d: middleware key %q is not supported (supported: %s)", k.Line, k.Value, strings.Join(middlewareKeys, ", "))
			}
			if v.Kind != yaml.MappingNode {
				continue
			}
			keys := subKeys[k.Value]
			for j := 0; j+1 < len(v.Content); j += 2 {
				if kk := v.Content[j]; !slices.Contains(keys, kk.Value) {
					return fmt.Errorf("line %d: %s key %q is not supported (supported: %s)", kk.Line, k.Value, kk.Value, strings.Join(keys, ", "))
				}
			}
		}
	}
	type plain Middleware
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*m = Middleware(p)
	return nil
}

// validateMiddlewares checks the middlewares: section. Which profiles the
// specs reference is checked by the app, which compiles them.
func (c *Config) validateMiddlewares(add func(path, format string, args ...any)) {
	for _, name := range sortedKeys(c.Middlewares) {
		m := c.Middlewares[name]
		path := "middlewares." + name
		if !apiName.MatchString(name) {
			add(path, "a middleware name is letters, digits, _, . and -")
		}
		if m.RateLimit == nil && m.Guard == nil {
			add(path, "empty profile: set rate_limit: {rpm, rph} or guard: {profile, schema}")
			continue
		}
		if g := m.Guard; g != nil {
			if g.Profile == "" && g.Schema == nil {
				add(path+".guard", "set profile (a guardrails: name) or schema")
			}
			if _, ok := c.Guardrails[g.Profile]; g.Profile != "" && !ok {
				add(path+".guard.profile", "unknown guardrail profile %q", g.Profile)
			}
		}
		if m.RateLimit == nil {
			continue
		}
		rl := m.RateLimit
		if rl.RPM < 0 || rl.RPH < 0 {
			add(path+".rate_limit", "rpm and rph must not be negative")
		}
		if rl.RPM == 0 && rl.RPH == 0 {
			add(path+".rate_limit", "set rpm or rph (requests per minute or per hour)")
		}
		if p := rl.Partition; p != "" && p != "key" && (!strings.HasPrefix(p, "jwt.") || len(p) == len("jwt.")) {
			add(path+".rate_limit.partition", `must be "key" or "jwt.<claim>" (e.g. jwt.sub), got %q`, p)
		}
	}
}
