package openapi

import (
	"context"
	"encoding/json"
	"net/url"
	"path"
	"strings"
	"testing"
)

// FuzzRequest feeds arbitrary argument JSON to Validate and Request of the
// test specs' tools: neither may panic, and a built request never leaves
// the base URL (same scheme and host, path under the base path, no dot
// segments).
func FuzzRequest(f *testing.F) {
	var tools []*Tool
	for _, spec := range []string{"testdata/orders.yaml", "testdata/styles.yaml", "testdata/petstore3.json", "testdata/inventory31.yaml"} {
		tools = append(tools, compileFile(f, spec).Tools...)
	}
	seeds := []string{
		`{"id":"o-1"}`,
		`{"id":"../../admin"}`,
		`{"id":".."}`,
		`{"id":"%2e%2e"}`,
		`{"id":"//evil.example/x"}`,
		`{"id":"http://evil.example/"}`,
		`{"id":"a@evil.example"}`,
		`{"id":["..",".."],"simple":["..","x"],"label":[".."],"matrix":[],"matrixx":[".."]}`,
		`{"obj":{"..":".."},"objx":{"a":"/"}}`,
		`{"X-Tenant":"t\r\nHost: evil","limit":5,"status":["paid"],"tag":["a,b"],"filter":{"customer":"?#"}}`,
		`{"customer":"c","items":[{"sku":"s","quantity":1}],"body":{"x":1}}`,
		`{"id":"1","body":null}`,
		`{"petId":1e308,"username":"\u0000"}`,
		`{"sku":"S","fields":[{"a":[1,2]},null,true]}`,
		`{}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	const base = "http://upstream.internal:8080/api/v1"
	baseURL, _ := url.Parse(base)
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		var args map[string]any
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.UseNumber()
		if dec.Decode(&args) != nil {
			return
		}
		tl := tools[int(which)%len(tools)]
		_ = tl.Validate(args)
		req, err := tl.Request(context.Background(), base, args, nil)
		if err != nil {
			return
		}
		u := req.URL
		if u.Scheme != baseURL.Scheme || u.Host != baseURL.Host || u.User != nil {
			t.Fatalf("%s: request to %s leaves %s", tl.Name, u, base)
		}
		escaped := u.EscapedPath()
		if !strings.HasPrefix(escaped, "/api/v1/") || !strings.HasPrefix(path.Clean(escaped), "/api/v1/") {
			t.Fatalf("%s: path %s is not under /api/v1/", tl.Name, escaped)
		}
		for _, seg := range strings.Split(escaped, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("%s: dot segment in %s", tl.Name, escaped)
			}
		}
		// What goes on the wire parses back to the same place.
		again, err := url.Parse(u.String())
		if err != nil || again.Host != baseURL.Host || again.EscapedPath() != escaped {
			t.Fatalf("%s: %s reparses to %v (%v)", tl.Name, u, again, err)
		}
		for k, vs := range req.Header {
			for _, v := range vs {
				if strings.ContainsAny(v, "\r\n\x00") {
					t.Fatalf("%s: header %s: %q", tl.Name, k, v)
				}
			}
		}
	})
}
