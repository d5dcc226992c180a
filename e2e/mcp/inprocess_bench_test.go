package mcp_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/benchspec"
	"github.com/tidegate/tidegate/internal/cputime"
	"github.com/tidegate/tidegate/internal/testgateway"
)

// BenchmarkToolCallInProcess is the in-process counterpart of the load
// benchmark's scenario h: one tools/call POST (the headers a Streamable
// HTTP client sends, protocol 2025-06-18) served by the whole gateway's
// handler against an httptest API, next to the same request sent to the
// API directly. gateway minus direct is what the gateway adds, without
// the network hop to it; cpu-ns/op is the process's CPU per call.
func BenchmarkToolCallInProcess(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(lookupOrder))
	defer up.Close()
	b.Run("direct", func(b *testing.B) {
		client := &http.Client{}
		measure(b, func() {
			resp, err := client.Post(up.URL+"/api/orders/lookup", "application/json", strings.NewReader(`{"id":7}`))
			if err != nil {
				b.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !bytes.Contains(out, []byte("tidewater")) {
				b.Fatal(resp.Status, string(out))
			}
		})
	})
	h := benchGateway(b, "apis:\n  bench: {spec: bench.yaml, upstream: "+up.URL+"/api}\n")
	b.Run("gateway", func(b *testing.B) {
		measure(b, func() {
			r := httptest.NewRequest("POST", "/mcp/bench", bytes.NewReader(toolsCallBody))
			setMCPHeaders(r.Header)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			checkToolResult(b, w.Code, w.Body.Bytes())
		})
	})
	// The gateway behind a real listener: its CPU per call minus direct's
	// is the load benchmark's "gateway CPU per call" (scenario h).
	b.Run("gateway-http", func(b *testing.B) {
		gw := httptest.NewServer(h)
		defer gw.Close()
		client := &http.Client{}
		measure(b, func() {
			r, _ := http.NewRequest("POST", gw.URL+"/mcp/bench", bytes.NewReader(toolsCallBody))
			setMCPHeaders(r.Header)
			resp, err := client.Do(r)
			if err != nil {
				b.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			checkToolResult(b, resp.StatusCode, out)
		})
	})
}

var toolsCallBody = []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"lookupOrder","arguments":{"id":7}}}`)

// setMCPHeaders sets what a Streamable HTTP client sends with a POST.
func setMCPHeaders(h http.Header) {
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json, text/event-stream")
	h.Set("Mcp-Protocol-Version", "2025-06-18")
}

func checkToolResult(b *testing.B, status int, body []byte) {
	if status != http.StatusOK || !bytes.Contains(body, []byte(`"structuredContent"`)) || !bytes.Contains(body, []byte("tidewater")) {
		b.Fatalf("%d %s", status, body)
	}
}

// lookupOrder answers {"id": N} with an order, as the load benchmark's
// fake upstream does.
func lookupOrder(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ID *int64 `json:"id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ID == nil {
		http.Error(w, `{"error":"want {\"id\": N}"}`, http.StatusBadRequest)
		return
	}
	out, _ := json.Marshal(map[string]any{"id": *in.ID, "item": "tidewater tide table", "quantity": 2})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// benchGateway builds the whole gateway's handler from the config (which
// names bench.yaml: the load benchmark's spec with its lookup operation
// only).
func benchGateway(b *testing.B, apis string) http.Handler {
	var spec bytes.Buffer
	if err := benchspec.Write(&spec, 1); err != nil {
		b.Fatal(err)
	}
	yaml := "providers:\n  echo: {type: echo}\nmodels:\n  echo: {provider: echo, model: echo}\n" + apis
	return testgateway.App(b, yaml, map[string]string{"bench.yaml": spec.String()}).Handler()
}

// measure runs one serial call per iteration and reports the process's
// CPU per call beside the wall clock (which other work on the machine
// inflates).
func measure(b *testing.B, call func()) {
	call() // warm: connections, caches
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Process()
	for b.Loop() {
		call()
	}
	cputime.Report(b, cpu0)
}
