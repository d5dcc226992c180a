package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

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
	var edits []edit
	walkScalars(doc, nil, func(path []string, n *yaml.Node) {
		if !isSecret(path) {
			return
		}
		if m := maskValue(path, n.Value); m != n.Value {
			edits = append(edits, editOf(text, n, quote(m, n.Style)))
			n.Value = m
		}
	})
	return rewrite(text, doc, edits)
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
	old := map[string]*yaml.Node{}
	if prev, err := parseDoc(previous); err == nil {
		walkScalars(prev, nil, func(path []string, n *yaml.Node) {
			if isSecret(path) {
				old[strings.Join(path, "\x00")] = n
			}
		})
	}
	var problems []string
	var edits []edit
	walkScalars(doc, nil, func(path []string, n *yaml.Node) {
		if !isSecret(path) || !strings.Contains(n.Value, Mask) {
			return
		}
		if was, ok := old[strings.Join(path, "\x00")]; ok && maskValue(path, was.Value) == n.Value {
			// As it was written, quotes included, so that an unchanged
			// config comes back byte for byte.
			raw, ok := rawScalar(previous, was)
			if !ok {
				raw = quote(was.Value, was.Style)
			}
			edits = append(edits, editOf(text, n, raw))
			n.Value, n.Tag, n.Style = was.Value, was.Tag, was.Style
			return
		}
		problems = append(problems, strings.Join(path, ".")+": is masked but the current config has no such secret to keep; send the real value")
	})
	if len(problems) > 0 {
		return "", &ValidationError{Problems: problems}
	}
	return rewrite(text, doc, edits)
}

// edit replaces the bytes [start, end) of a text with raw YAML; ok is
// false when the scalar it replaces was not found exactly in the text.
type edit struct {
	start, end int
	raw        string
	ok         bool
}

// editOf replaces the scalar n, parsed from text and not yet changed, with
// raw.
func editOf(text string, n *yaml.Node, raw string) edit {
	start, end, ok := scalarSpan(text, n)
	return edit{start, end, raw, ok}
}

// rewrite applies edits to text in place, so that everything else (blank
// lines, comments, quotes, indentation) stays as written. doc is text's
// tree with the edits' values already set; when a scalar was not found
// exactly in text (block scalars, tags, anchors, multi-line plain
// scalars) or the result does not read back as doc, doc is encoded
// instead.
func rewrite(text string, doc *yaml.Node, edits []edit) (string, error) {
	if len(edits) == 0 {
		return text, nil
	}
	slices.SortFunc(edits, func(a, b edit) int { return b.start - a.start })
	out := text
	for i, e := range edits {
		if !e.ok || i > 0 && e.end > edits[i-1].start {
			return encodeDoc(doc, text)
		}
		out = out[:e.start] + e.raw + out[e.end:]
	}
	if back, err := parseDoc(out); err != nil || !sameScalars(back, doc) {
		return encodeDoc(doc, text)
	}
	return out, nil
}

// sameScalars reports whether two trees have the same scalars at the same
// paths (the check that an in-place rewrite meant what was intended).
func sameScalars(a, b *yaml.Node) bool {
	var va, vb []string
	collect := func(dst *[]string) func([]string, *yaml.Node) {
		return func(path []string, n *yaml.Node) {
			*dst = append(*dst, strings.Join(path, "\x00")+"\x00"+n.ShortTag()+"\x00"+n.Value)
		}
	}
	walkScalars(a, nil, collect(&va))
	walkScalars(b, nil, collect(&vb))
	return slices.Equal(va, vb)
}

// rawScalar returns the scalar n as written in text.
func rawScalar(text string, n *yaml.Node) (string, bool) {
	start, end, ok := scalarSpan(text, n)
	if !ok {
		return "", false
	}
	return text[start:end], true
}

// scalarSpan finds the bytes of the scalar n (parsed from text) in text:
// a quoted scalar up to its closing quote, a plain one exactly its value.
func scalarSpan(text string, n *yaml.Node) (start, end int, ok bool) {
	start, ok = offset(text, n.Line, n.Column)
	if !ok {
		return 0, 0, false
	}
	rest := text[start:]
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0 && strings.HasPrefix(rest, `"`):
		for i := 1; i < len(rest); i++ {
			switch rest[i] {
			case '\\':
				i++
			case '"':
				return start, start + i + 1, true
			}
		}
	case n.Style&yaml.SingleQuotedStyle != 0 && strings.HasPrefix(rest, "'"):
		for i := 1; i < len(rest); i++ {
			if rest[i] == '\'' {
				if i+1 < len(rest) && rest[i+1] == '\'' {
					i++
					continue
				}
				return start, start + i + 1, true
			}
		}
	case n.Style&^yaml.FlowStyle == 0 && n.Value != "" && !strings.ContainsAny(n.Value, "\n\r") && strings.HasPrefix(rest, n.Value):
		return start, start + len(n.Value), true
	}
	return 0, 0, false
}

// offset is the byte offset of line and column (1-based; columns count
// characters, as the YAML parser does) in text.
func offset(text string, line, column int) (int, bool) {
	if line < 1 || column < 1 || strings.Contains(text, "\r") {
		return 0, false
	}
	off := 0
	for range line - 1 {
		i := strings.IndexByte(text[off:], '\n')
		if i < 0 {
			return 0, false
		}
		off += i + 1
	}
	for range column - 1 {
		if off >= len(text) || text[off] == '\n' {
			return 0, false
		}
		_, size := utf8.DecodeRuneInString(text[off:])
		off += size
	}
	return off, true
}

// quote writes v as a YAML scalar: double-quoted when the original was,
// else single-quoted (a mask starts with '*', which plain YAML reads as
// an alias).
func quote(v string, style yaml.Style) string {
	if style&yaml.DoubleQuotedStyle != 0 {
		b, _ := json.Marshal(v) // a JSON string is a YAML double-quoted scalar
		return string(b)
	}
	return "'" + strings.ReplaceAll(v, "'", "''") + "'"
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
