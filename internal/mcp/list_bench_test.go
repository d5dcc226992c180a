package mcp

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkToolsList serves tools/list of a 500-operation spec in process.
func BenchmarkToolsList(b *testing.B) {
	s := specServer(b, 500, 0)
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

// BenchmarkToolsCall serves tools/call in process against a local
// upstream: what the MCP layer costs on top of the HTTP call.
func BenchmarkToolsCall(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id": 7, "item": "tea"}`))
	}))
	defer up.Close()
	s := specServer(b, 1, 0)
	s.opt.Upstream = up.URL
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"op000","arguments":{"id":"7"}}}`)
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/mcp/bench", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "application/json, text/event-stream")
		r.Header.Set("MCP-Protocol-Version", "2025-11-25")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), []byte(`"structuredContent"`)) {
			b.Fatalf("%d %.300s", w.Code, w.Body.String())
		}
	}
}
