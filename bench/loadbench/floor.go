package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// floor is the least a JSON-aware proxy must do: decode the body, swap
// the model, encode it again, forward it over a pooled client and copy the
// response back, flushing stream chunks as they arrive. It is the baseline
// the gateway is measured against.
type floor struct {
	upstream string            // http://127.0.0.1:PORT
	apiKey   string            // sent upstream
	models   map[string]string // public name -> upstream model
	client   *http.Client
}

func runFloor(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	listen := fs.String("listen", loopback+":18081", "address (127.0.0.1 only)")
	upstreamURL := fs.String("upstream", "http://"+loopback+":18080", "upstream base URL (127.0.0.1 only)")
	apiKey := fs.String("api-key", "bench", "API key sent upstream")
	models := fs.String("models", "bench-openai=gpt-mock,bench-anthropic=claude-mock", "public=upstream model names, comma separated")
	lifetime := fs.Duration("lifetime", 15*time.Minute, "exit after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := newFloor(*upstreamURL, *apiKey, *models)
	if err != nil {
		return err
	}
	return serve(ctx, *listen, f, *lifetime)
}

func newFloor(upstreamURL, apiKey, models string) (*floor, error) {
	base, err := checkURL(upstreamURL)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	m := map[string]string{}
	for _, pair := range strings.Split(models, ",") {
		public, private, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || public == "" || private == "" {
			return nil, fmt.Errorf("models: %q is not public=upstream", pair)
		}
		m[public] = private
	}
	return &floor{
		upstream: base,
		apiKey:   apiKey,
		models:   m,
		client:   &http.Client{Transport: newTransport(256), Timeout: 2 * time.Minute},
	}, nil
}

func (f *floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == floorMCPPath {
		f.toolCall(w, r)
		return
	}
	if r.Method != http.MethodPost || (r.URL.Path != "/v1/chat/completions" && r.URL.Path != "/v1/messages") {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	body, err = f.rewriteModel(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out, err := http.NewRequestWithContext(r.Context(), http.MethodPost, f.upstream+r.URL.Path, bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	out.Header.Set("Content-Type", "application/json")
	if r.URL.Path == "/v1/messages" {
		out.Header.Set("x-api-key", f.apiKey)
		out.Header.Set("anthropic-version", "2023-06-01")
	} else {
		out.Header.Set("Authorization", "Bearer "+f.apiKey)
	}
	resp, err := f.client.Do(out)
	if err != nil {
		http.Error(w, "upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	copyResponse(w, resp)
}

// rewriteModel decodes the body fully, swaps "model" and encodes it again.
func (f *floor) rewriteModel(body []byte) ([]byte, error) {
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("decode request: %w", err)
	}
	public, _ := req["model"].(string)
	model, ok := f.models[public]
	if !ok {
		return nil, fmt.Errorf("unknown model %q", public)
	}
	req["model"] = model
	out, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return out, nil
}

// copyResponse copies status, headers and body; every chunk read is
// flushed at once so streams reach the caller as they are produced.
func copyResponse(w http.ResponseWriter, resp *http.Response) {
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	for _, k := range []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Trailer", "Te"} {
		h.Del(k) // hop-by-hop
	}
	w.WriteHeader(resp.StatusCode)
	flusher, _ := w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if err != nil { // io.EOF at the end
			return
		}
	}
}

// floorMCPPath is where the floor answers MCP tools/call (scenario h).
const floorMCPPath = "/mcp/bench"

// toolCall is the least an MCP-to-HTTP proxy must do for scenario h's
// lookupOrder: decode the JSON-RPC request, send its arguments as the
// API's JSON body over a pooled client, and wrap the answer as a tool
// result (text content and structuredContent), as the gateway does.
func (f *floor) toolCall(w http.ResponseWriter, r *http.Request) {
	var call struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		} `json:"params"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxRequestBody)).Decode(&call); err != nil || call.Method != "tools/call" || call.Params.Name != mcpTool {
		http.Error(w, "the floor answers tools/call of "+mcpTool+" only", http.StatusBadRequest)
		return
	}
	out, err := http.NewRequestWithContext(r.Context(), http.MethodPost, f.upstream+mcpLookupURL, bytes.NewReader(call.Params.Arguments))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	out.Header.Set("Content-Type", "application/json")
	resp, err := f.client.Do(out)
	if err != nil {
		http.Error(w, "upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		http.Error(w, "upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	text, _ := json.Marshal(string(body))
	var b bytes.Buffer
	b.WriteString(`{"jsonrpc":"2.0","id":`)
	b.Write(call.ID)
	b.WriteString(`,"result":{"content":[{"type":"text","text":`)
	b.Write(text)
	b.WriteString(`}],"structuredContent":`)
	b.Write(body)
	b.WriteString(`}}`)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b.Bytes())
}
