package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Mask replaces secrets in what the admin API shows.
const Mask = "********"

// isSecret reports whether the value at path (keys and list indexes, as
// strings) is a secret: provider keys, header values (they often carry
// credentials), admin keys, and the passwords in the store and Redis URLs.
func isSecret(path []string) bool {
	switch {
	case len(path) == 1:
		return path[0] == "store" || path[0] == "redis"
	case len(path) == 3 && path[0] == "providers":
		switch path[2] {
		case "api_key", "token", "secret_access_key", "session_token":
			return true
		}
	case len(path) == 3 && path[0] == "admin_keys" && path[2] == "key":
		return true
	case len(path) == 4 && (path[0] == "providers" || path[0] == "apis" || path[0] == "mcp_servers") && path[2] == "headers":
		return true
	case len(path) == 3 && path[0] == "telemetry" && path[1] == "metrics" && path[2] == "bearer_token":
		return true
	case len(path) == 4 && path[0] == "telemetry" && path[1] == "tracing" && path[2] == "headers":
		return true
	}
	return false
}

// maskValue hides a secret. A value that only references the environment
// (${VAR}) is no secret and is shown; a URL keeps everything but its
// password.
func maskValue(path []string, v string) string {
	if v == "" || envRef.ReplaceAllString(v, "") == "" {
		return v
	}
	if len(path) == 1 { // store, redis: URLs
		u, err := url.Parse(v)
		if err != nil || u.User == nil {
			return v
		}
		if _, ok := u.User.Password(); !ok {
			return v
		}
		return strings.Replace(v, ":"+passwordOf(u)+"@", ":"+Mask+"@", 1)
	}
	return Mask
}

func passwordOf(u *url.URL) string {
	p, _ := u.User.Password()
	if e := url.UserPassword("x", p).String(); strings.HasPrefix(e, "x:") {
		return e[2:] // as written in the URL (escaped)
	}
	return p
}

// MaskYAML returns the config text with every secret masked; comments and
// layout are kept.
func MaskYAML(text string) (string, error) {
	doc, err := parseDoc(text)
	if err != nil {
		return "", err
	}
	walkScalars(doc, nil, func(path []string, n *yaml.Node) {
		if isSecret(path) {
			n.Value = maskValue(path, n.Value)
		}
	})
	return encodeDoc(doc, text)
}

// Unmask puts back the secrets of previous that text shows masked (as the
// admin API returned them), so a config read, edited and written back keeps
// its secrets. A masked value with no matching one in previous is an error.
func Unmask(text, previous string) (string, error) {
	if !strings.Contains(text, Mask) {
		return text, nil
	}
	doc, err := parseDoc(text)
	if err != nil {
		return "", err
	}
	old := map[string]string{}
	if prev, err := parseDoc(previous); err == nil {
		walkScalars(prev, nil, func(path []string, n *yaml.Node) {
			if isSecret(path) {
				old[strings.Join(path, "\x00")] = n.Value
			}
		})
	}
	var problems []string
	walkScalars(doc, nil, func(path []string, n *yaml.Node) {
		if !isSecret(path) || !strings.Contains(n.Value, Mask) {
			return
		}
		if was, ok := old[strings.Join(path, "\x00")]; ok && maskValue(path, was) == n.Value {
			n.Value = was
			return
		}
		problems = append(problems, strings.Join(path, ".")+": is masked but the current config has no such secret to keep; send the real value")
	})
	if len(problems) > 0 {
		return "", &ValidationError{Problems: problems}
	}
	return encodeDoc(doc, text)
}

func parseDoc(text string) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(strings.NewReader(text)).Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse: %w", err)
	}
	return &doc, nil
}

func encodeDoc(doc *yaml.Node, text string) (string, error) {
	if doc.Kind == 0 {
		return text, nil // empty document
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return "", fmt.Errorf("encode: %w", err)
	}
	return buf.String(), nil
}

// walkScalars calls fn for every scalar value with its path.
func walkScalars(n *yaml.Node, path []string, fn func([]string, *yaml.Node)) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			walkScalars(c, path, fn)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			walkScalars(n.Content[i+1], append(path[:len(path):len(path)], n.Content[i].Value), fn)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			walkScalars(c, append(path[:len(path):len(path)], fmt.Sprint(i)), fn)
		}
	case yaml.ScalarNode:
		fn(path, n)
	}
}

// Masked returns a copy of the config with every secret masked, for
// display (GET /admin/config, lint).
func (c *Config) Masked() *Config {
	m := *c
	m.Store = maskValue([]string{"store"}, c.Store)
	m.Redis = maskValue([]string{"redis"}, c.Redis)
	m.Providers = make(map[string]Provider, len(c.Providers))
	for k, p := range c.Providers {
		for _, f := range []struct {
			name string
			v    *string
		}{{"api_key", &p.APIKey}, {"token", &p.Token}, {"secret_access_key", &p.SecretAccessKey}, {"session_token", &p.SessionToken}} {
			*f.v = maskValue([]string{"providers", k, f.name}, *f.v)
		}
		p.Headers = maskMap(p.Headers)
		m.Providers[k] = p
	}
	m.APIs = make(map[string]API, len(c.APIs))
	for k, a := range c.APIs {
		a.Headers = maskMap(a.Headers)
		m.APIs[k] = a
	}
	m.MCPServers = make(map[string]MCPServer, len(c.MCPServers))
	for k, s := range c.MCPServers {
		s.Headers = maskMap(s.Headers)
		m.MCPServers[k] = s
	}
	m.Telemetry.Metrics.BearerToken = maskValue([]string{"telemetry", "metrics", "bearer_token"}, c.Telemetry.Metrics.BearerToken)
	m.Telemetry.Tracing.Headers = maskMap(c.Telemetry.Tracing.Headers)
	m.AdminKeys = make([]AdminKey, len(c.AdminKeys))
	for i, k := range c.AdminKeys {
		k.Key = Mask
		m.AdminKeys[i] = k
	}
	return &m
}

func maskMap(h map[string]string) map[string]string {
	if len(h) == 0 {
		return h
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = maskValue([]string{"", "", "", k}, v)
	}
	return out
}
