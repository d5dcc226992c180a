package mcp_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkToolCall compares a tools/call through the gateway with the
// same HTTP request sent to the API directly; the difference is what the
// gateway adds (JSON-RPC, validation, request building, one more hop).
func BenchmarkToolCall(b *testing.B) {
	a := newAPI(b)
	g := startGateway(b, a, "")
	b.Run("direct", func(b *testing.B) {
		client := &http.Client{}
		req, _ := http.NewRequest("GET", a.URL+"/api/orders/7", nil)
		req.Header.Set("Authorization", userToken)
		b.ReportAllocs()
		for b.Loop() {
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatal(resp.Status)
			}
		}
	})
	b.Run("gateway", func(b *testing.B) {
		cs := connect(b, g.URL+"/mcp/orders", "2025-11-25", http.Header{"Authorization": {userToken}})
		params := &mcp.CallToolParams{Name: "getOrder", Arguments: map[string]any{"id": 7}}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			res, err := cs.CallTool(ctx, params)
			if err != nil || res.IsError {
				b.Fatal(err, res)
			}
		}
	})
	// The same tools/call as raw JSON-RPC over HTTP: the gateway's cost
	// without the client SDK's.
	b.Run("gateway-raw", func(b *testing.B) {
		client := &http.Client{}
		body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"getOrder","arguments":{"id":7}}}`)
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequest("POST", g.URL+"/mcp/orders", bytes.NewReader(body))
			req.Header.Set("Authorization", userToken)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("MCP-Protocol-Version", "2025-11-25")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !bytes.Contains(out, []byte(`"structuredContent"`)) {
				b.Fatal(resp.Status, string(out))
			}
		}
	})
	b.Run("http-proxy", func(b *testing.B) {
		client := &http.Client{}
		req, _ := http.NewRequest("GET", g.URL+"/apis/orders/orders/7", nil)
		req.Header.Set("Authorization", userToken)
		b.ReportAllocs()
		for b.Loop() {
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatal(resp.Status)
			}
		}
	})
}
