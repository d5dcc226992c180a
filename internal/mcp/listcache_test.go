package mcp

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// specServer is a Server over a spec of n GET operations (pageSize 0:
// the SDK's default).
func specServer(t testing.TB, n, pageSize int) *Server {
	t.Helper()
	var spec strings.Builder
	spec.WriteString("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n")
	for i := range n {
		fmt.Fprintf(&spec, "  /things/op%03d/{id}:\n    get:\n      operationId: op%03d\n      summary: Operation %d\n      parameters:\n        - {name: id, in: path, required: true, schema: {type: string}}\n        - {name: fields, in: query, schema: {type: array, items: {type: string}}}\n      responses: {'200': {description: ok, content: {application/json: {schema: {type: object, properties: {id: {type: integer}, item: {type: string}}}}}}}\n", i, i, i)
	}
	return serverFor(t, spec.String(), Options{Upstream: "http://127.0.0.1:9", PageSize: pageSize})
}

func post(s *Server, body string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "/mcp/t", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func TestToolsListCache(t *testing.T) {
	s := specServer(t, 2, 2) // one page of 2
	v := map[string]string{"Mcp-Protocol-Version": "2025-11-25"}
	first := post(s, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, v)
	if first.Code != 200 || len(s.list.results) != 1 {
		t.Fatalf("first: %d %s (cached %d)", first.Code, first.Body, len(s.list.results))
	}
	second := post(s, `{"jsonrpc":"2.0","id":"abc","method":"tools/list","params":{}}`, v)
	if second.Code != 200 || gjson.Get(second.Body.String(), "id").Raw != `"abc"` ||
		gjson.Get(second.Body.String(), "result").Raw != gjson.Get(first.Body.String(), "result").Raw {
		t.Fatalf("cached answer differs:\n%s\n%s", first.Body, second.Body)
	}
	// Not plain tools/list: the SDK answers (and nothing new is cached).
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"cursor":"x"}}`,
		`[{"jsonrpc":"2.0","id":3,"method":"tools/list"}]`,
		`{"jsonrpc":"2.0","id":4,"method":"ping"}`,
		`{"id":5,"method":"tools/list"}`,
	} {
		post(s, body, v)
	}
	if w := post(s, `{"jsonrpc":"2.0","id":6,"method":"tools/list"}`, map[string]string{"Accept": "application/json"}); w.Code != http.StatusBadRequest {
		t.Fatalf("the SDK's Accept check is bypassed: %d", w.Code)
	}
	if len(s.list.results) != 1 {
		t.Fatalf("cached: %v", s.list.results)
	}

	// A list of several pages is never cached.
	s = specServer(t, 3, 2)
	for range 2 {
		w := post(s, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, v)
		if w.Code != 200 || !gjson.Get(w.Body.String(), "result.nextCursor").Exists() {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	if len(s.list.results) != 0 {
		t.Fatal("a paged list was cached")
	}
}

func FuzzPlainToolsList(f *testing.F) {
	for _, s := range []string{`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, `{"jsonrpc":"2.0","id":"x","method":"tools/list","params":null}`, `[]`, `{"id":{}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		id, ok := plainToolsList(body)
		if !ok {
			return
		}
		// Whatever is accepted is one valid tools/list with a scalar id.
		r := gjson.ParseBytes(body)
		if r.Get("method").Str != "tools/list" || r.Get("jsonrpc").Str != "2.0" || !bytes.Contains(body, []byte(id)) || r.Get("params.cursor").Exists() {
			t.Fatalf("accepted %q (id %q)", body, id)
		}
	})
}
