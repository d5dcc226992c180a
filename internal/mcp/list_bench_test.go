package mcp

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/openapi"
)

// BenchmarkToolsList serves tools/list of a 500-operation spec in process.
func BenchmarkToolsList(b *testing.B) {
	var spec strings.Builder
	spec.WriteString("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n")
	for i := range 500 {
		fmt.Fprintf(&spec, "  /things/op%03d/{id}:\n    get:\n      operationId: op%03d\n      summary: Operation %d\n      parameters:\n        - {name: id, in: path, required: true, schema: {type: string}}\n        - {name: fields, in: query, schema: {type: array, items: {type: string}}}\n      responses: {'200': {description: ok, content: {application/json: {schema: {type: object, properties: {id: {type: integer}, item: {type: string}}}}}}}\n", i, i, i)
	}
	path := filepath.Join(b.TempDir(), "spec.yaml")
	if err := os.WriteFile(path, []byte(spec.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	api, err := openapi.Compile(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Options{Name: "bench", API: api, Upstream: "http://127.0.0.1:9"})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/mcp/bench", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "application/json, text/event-stream")
		r.Header.Set("MCP-Protocol-Version", "2025-11-25")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), []byte(`"op499"`)) {
			b.Fatalf("%d %.200s", w.Code, w.Body.String())
		}
	}
}
