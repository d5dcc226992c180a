package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// dropHeaders are the caller's headers that never go upstream: hop-by-hop
// headers, and those that describe the caller's own request or response
// (the transport negotiates compression itself).
var dropHeaders = [...]string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
	"Host", "Content-Length", "Content-Type", "Content-Encoding", "Accept-Encoding",
}

// Request builds the HTTP request for validated args. Path parameters are
// escaped per segment (values that would be "." or ".." segments are
// refused, so a request never leaves baseURL's path), query and header
// parameters are serialised by their style (form with explode by default:
// arrays become repeated keys), and the body is JSON: the top-level
// arguments that are not parameters, or the "body" argument. h (forwarded
// credentials, say) is copied first, without hop-by-hop headers; Accept is
// application/json, and Content-Type the body's media type.
func (t *Tool) Request(ctx context.Context, baseURL string, args map[string]any, h http.Header) (*http.Request, error) {
	base, err := ParseBase(baseURL)
	if err != nil {
		return nil, err
	}
	return t.RequestAt(ctx, base, args, h)
}

// ParseBase parses an API's base URL for RequestAt: an absolute http(s)
// URL.
func ParseBase(baseURL string) (*url.URL, error) {
	base, err := url.Parse(baseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.Opaque != "" {
		return nil, fmt.Errorf("openapi: base URL %q: want an absolute http(s) URL", baseURL)
	}
	return base, nil
}

// RequestAt is Request with a base URL ParseBase parsed once, which a
// server sending every call to the same API spares parsing per call. It
// does not modify base.
func (t *Tool) RequestAt(ctx context.Context, base *url.URL, args map[string]any, h http.Header) (*http.Request, error) {
	if t.plan == nil || t.Operation == nil {
		return nil, errors.New("openapi: tool was not built by Compile")
	}
	var err error

	path, err := t.path(args)
	if err != nil {
		return nil, err
	}
	u := *base
	u.RawPath = strings.TrimRight(base.EscapedPath(), "/") + path
	if u.Path, err = url.PathUnescape(u.RawPath); err != nil {
		return nil, fmt.Errorf("openapi: path %q: %w", u.RawPath, err)
	}
	u.Fragment, u.RawFragment = "", ""

	hdr := h.Clone()
	if hdr == nil {
		hdr = http.Header{}
	}
	for _, k := range dropHeaders {
		hdr.Del(k)
	}
	q := base.Query()
	for _, p := range t.plan.params {
		v, ok := args[p.key]
		if !ok || v == nil || p.in == "path" {
			continue
		}
		switch p.in {
		case "query":
			addQuery(q, p, v)
		case "header":
			s := headerValue(p, v)
			if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
				return nil, fmt.Errorf("header parameter '%s': control characters are not allowed", p.name)
			}
			hdr.Set(p.name, s)
		}
	}
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}

	body, err := t.body(args)
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
		hdr.Set("Content-Type", t.plan.body.mediaType)
	}
	hdr.Set("Accept", "application/json")
	// The URL is built: set it rather than print it and parse it again
	// (an empty Host means the URL's).
	req, err := http.NewRequestWithContext(ctx, t.Operation.Method, "", rd)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	req.URL, req.Header = &u, hdr
	return req, nil
}

// path substitutes the path parameters into the template, escaped.
func (t *Tool) path(args map[string]any) (string, error) {
	tmpl := t.Operation.Path
	var b strings.Builder
	for {
		open := strings.IndexByte(tmpl, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(tmpl[open:], '}')
		if end < 0 {
			break
		}
		b.WriteString(escapeLiteral(tmpl[:open]))
		name := tmpl[open+1 : open+end]
		tmpl = tmpl[open+end+1:]
		p := t.pathParam(name)
		v, ok := args[p.key]
		if !ok || v == nil {
			return "", fmt.Errorf("missing required path parameter '%s'", p.key)
		}
		s := pathValue(p, v)
		if s == "" {
			return "", fmt.Errorf("path parameter '%s' must not be empty", p.key)
		}
		b.WriteString(s)
	}
	b.WriteString(escapeLiteral(tmpl))
	out := b.String()
	for _, seg := range strings.Split(out, "/") {
		if seg == "." || seg == ".." {
			return "", fmt.Errorf("path parameter value makes a %q path segment", seg)
		}
	}
	return out, nil
}

// pathParam finds the path parameter named name (a template variable the
// spec does not declare is taken as a plain argument of that name).
func (t *Tool) pathParam(name string) param {
	for _, p := range t.plan.params {
		if p.in == "path" && p.name == name {
			return p
		}
	}
	return param{key: name, name: name, in: "path", style: "simple"}
}

func escapeLiteral(s string) string {
	return (&url.URL{Path: s}).EscapedPath()
}

// body encodes the request body from args; nil when there is none.
func (t *Tool) body(args map[string]any) ([]byte, error) {
	bp := t.plan.body
	var v any
	switch bp.mode {
	case noBody:
		return nil, nil
	case nestedBody:
		b, ok := args[bp.key]
		if !ok {
			if bp.required {
				return nil, fmt.Errorf("missing required property '%s'", bp.key)
			}
			return nil, nil
		}
		v = b
	case flatBody:
		m := t.bodyArgs(args)
		if len(m) == 0 && !bp.required {
			return nil, nil
		}
		v = m
	}
	b, err := jsonBytes(v)
	if err != nil {
		return nil, fmt.Errorf("request body: %w", err)
	}
	return b, nil
}

// bodyArgs are the arguments that are not parameters (never nil): args
// itself when none is (the usual case, spared a copy).
func (t *Tool) bodyArgs(args map[string]any) map[string]any {
	if args == nil {
		return map[string]any{}
	}
	for k := range args {
		if !t.isParam(k) {
			continue
		}
		m := make(map[string]any, len(args))
		for k, a := range args {
			if !t.isParam(k) {
				m[k] = a
			}
		}
		return m
	}
	return args
}

func (t *Tool) isParam(key string) bool {
	for _, p := range t.plan.params {
		if p.key == key {
			return true
		}
	}
	return false
}

// jsonBytes encodes v without HTML escaping.
func jsonBytes(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func jsonText(v any) (string, error) {
	b, err := jsonBytes(v)
	return string(b), err
}

// scalar renders a primitive; arrays and objects inside a parameter value
// that OpenAPI styles cannot express are sent as JSON text.
func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32)
	case json.Number:
		return x.String()
	case nil:
		return ""
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x)
	}
	s, err := jsonText(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return s
}

// items returns v's elements as strings when v is an array.
func items(v any, esc func(string) string) ([]string, bool) {
	a, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, len(a))
	for i, e := range a {
		out[i] = esc(scalar(e))
	}
	return out, true
}

// fields returns v's members as sorted key, value pairs when v is an object.
func fields(v any, esc func(string) string) ([][2]string, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	keys := sortedKeys(m)
	out := make([][2]string, len(keys))
	for i, k := range keys {
		out[i] = [2]string{esc(k), esc(scalar(m[k]))}
	}
	return out, true
}

// joinFields writes pairs as k=v (explode) or k,v, separated by sep.
func joinFields(kv [][2]string, explode bool, sep string) string {
	parts := make([]string, 0, 2*len(kv))
	for _, f := range kv {
		if explode {
			parts = append(parts, f[0]+"="+f[1])
		} else {
			parts = append(parts, f[0], f[1])
		}
	}
	if explode {
		return strings.Join(parts, sep)
	}
	return strings.Join(parts, ",")
}

// pathValue serialises a path parameter (simple, label or matrix style),
// each value escaped as a path segment.
func pathValue(p param, v any) string {
	esc := url.PathEscape
	if p.asJSON {
		s, _ := jsonText(v)
		return esc(s)
	}
	sep, prefix := ",", ""
	switch p.style {
	case "label":
		prefix = "."
		if p.explode {
			sep = "."
		}
	case "matrix":
		prefix = ";" + esc(p.name) + "="
		if p.explode {
			sep = ";" + esc(p.name) + "="
		}
	}
	if a, ok := items(v, esc); ok {
		if len(a) == 0 {
			return prefix
		}
		return prefix + strings.Join(a, sep)
	}
	if kv, ok := fields(v, esc); ok {
		switch {
		case p.style == "matrix" && p.explode:
			return ";" + joinFields(kv, true, ";")
		case p.style == "label" && p.explode:
			return "." + joinFields(kv, true, ".")
		}
		return prefix + joinFields(kv, p.explode, ",")
	}
	return prefix + esc(scalar(v))
}

// headerValue serialises a header parameter (simple style).
func headerValue(p param, v any) string {
	keep := func(s string) string { return s }
	if p.asJSON {
		s, _ := jsonText(v)
		return s
	}
	if a, ok := items(v, keep); ok {
		return strings.Join(a, ",")
	}
	if kv, ok := fields(v, keep); ok {
		return joinFields(kv, p.explode, ",")
	}
	return scalar(v)
}

// addQuery serialises a query parameter by its style: form (arrays as
// repeated keys with explode, comma-joined without), spaceDelimited,
// pipeDelimited, deepObject.
func addQuery(q url.Values, p param, v any) {
	keep := func(s string) string { return s }
	if p.asJSON {
		s, _ := jsonText(v)
		q.Add(p.name, s)
		return
	}
	if a, ok := items(v, keep); ok {
		sep := ","
		switch p.style {
		case "spaceDelimited":
			sep = " "
		case "pipeDelimited":
			sep = "|"
		}
		if p.explode {
			for _, s := range a {
				q.Add(p.name, s)
			}
		} else if len(a) > 0 {
			q.Add(p.name, strings.Join(a, sep))
		}
		return
	}
	if kv, ok := fields(v, keep); ok {
		switch {
		case p.style == "deepObject":
			for _, f := range kv {
				q.Add(p.name+"["+f[0]+"]", f[1])
			}
		case p.explode:
			for _, f := range kv {
				q.Add(f[0], f[1])
			}
		default:
			q.Add(p.name, joinFields(kv, false, ","))
		}
		return
	}
	q.Add(p.name, scalar(v))
}
