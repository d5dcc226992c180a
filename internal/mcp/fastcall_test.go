package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/openapi"
)

// The fast path answers a plain tools/call exactly as the SDK does; calls
// it does not handle (with _meta, unknown tools, other versions) reach the
// SDK.
func TestFastCallMatchesTheSDK(t *testing.T) {
	var calls int
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.URL.Path == "/things/missing" {
			http.Error(w, `{"error":"no such thing"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":7,"item":"` + strings.TrimPrefix(r.URL.Path, "/things/") + `"}`))
	}))
	defer up.Close()
	spec := "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /things/{id}:\n    get:\n      operationId: getThing\n" +
		"      parameters: [{name: id, in: path, required: true, schema: {type: string}}]\n" +
		"      responses: {'200': {description: ok, content: {application/json: {schema: {type: object, properties: {id: {type: integer}, item: {type: string}}}}}}}\n"
	s := serverFor(t, spec, Options{Upstream: up.URL})
	v := map[string]string{"Mcp-Protocol-Version": "2025-11-25"}
	result := func(body string, header map[string]string) map[string]any {
		t.Helper()
		w := post(s, body, header)
		var rpc struct {
			ID     any            `json:"id"`
			Result map[string]any `json:"result"`
			Error  any            `json:"error"`
		}
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &rpc) != nil || rpc.Result == nil || rpc.ID != "x1" {
			t.Fatalf("%s: %d %s", body, w.Code, w.Body)
		}
		return rpc.Result
	}
	for _, args := range []string{`{"id":"abc"}`, `{"id":"missing"}`, `{}`, `{"id":3}`} {
		fast := result(`{"jsonrpc":"2.0","id":"x1","method":"tools/call","params":{"name":"getThing","arguments":`+args+`}}`, v)
		sdk := result(`{"jsonrpc":"2.0","id":"x1","method":"tools/call","params":{"name":"getThing","arguments":`+args+`,"_meta":{}}}`, v)
		if !reflect.DeepEqual(fast, sdk) {
			t.Errorf("arguments %s:\nfast %v\n sdk %v", args, fast, sdk)
		}
	}
	if calls != 4 { // abc and missing, each twice; the invalid ones never reach the upstream
		t.Errorf("upstream called %d times, want 4", calls)
	}
	if r := result(`{"jsonrpc":"2.0","id":"x1","method":"tools/call","params":{"name":"getThing","arguments":{"id":"abc"}}}`, v); r["structuredContent"] == nil {
		t.Errorf("no structuredContent: %v", r)
	}
	// Unknown tools and unknown versions are the SDK's to answer.
	w := post(s, `{"jsonrpc":"2.0","id":"x1","method":"tools/call","params":{"name":"nope","arguments":{}}}`, v)
	if !strings.Contains(w.Body.String(), `"error"`) && !strings.Contains(w.Body.String(), `"isError":true`) {
		t.Errorf("unknown tool: %d %s", w.Code, w.Body)
	}
	if w := post(s, `{"jsonrpc":"2.0","id":"x1","method":"tools/call","params":{"name":"getThing","arguments":{"id":"abc"}}}`,
		map[string]string{"Mcp-Protocol-Version": "1999-01-01"}); w.Code != http.StatusBadRequest {
		t.Errorf("unsupported protocol version: %d %s", w.Code, w.Body)
	}
}

func FuzzPlainToolsCall(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"x":1}}}`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":"s","method":"tools/call","params":{"name":"a","arguments":null,"_meta":{}}}`))
	f.Add([]byte(`[{"jsonrpc":"2.0"}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		id, name, args, ok := plainToolsCall(body)
		if !ok {
			return
		}
		if !json.Valid([]byte(id)) || name == "" || (args != nil && !json.Valid(args)) {
			t.Fatalf("accepted %q: id %q name %q args %q", body, id, name, args)
		}
	})
}

// The fast path's encoder gives the bytes the SDK's result types give.
func FuzzOutcomeEncodesAsTheSDK(f *testing.F) {
	f.Add("plain", []byte(nil), false)
	f.Add("<b>&amp;</b> \u2028 \xff", []byte(nil), true)
	f.Add(`{"a": [1, 2.50, "x<y"]}`, []byte("{\n  \"a\": [1, 2.50, \"x<y\u2029\"]\n}"), false)
	f.Add("", []byte(`{}`), false)
	f.Fuzz(func(t *testing.T, text string, structured []byte, isError bool) {
		compacted, ok := compactObject(structured)
		if !ok {
			structured, compacted = nil, nil // result keeps only JSON objects
		}
		// The SDK is given the upstream's bytes as they came.
		want, err := json.Marshal(outcome{text: text, structured: structured, isError: isError}.sdkResult())
		o := outcome{text: text, structured: compacted, isError: isError}
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := o.encode(&got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("encode:\n got %s\nwant %s", got.Bytes(), want)
		}
	})
}

// Integers beyond 2^53 reach the API with all their digits, on the fast
// path and through the SDK.
func TestBigIntegersKeepTheirDigits(t *testing.T) {
	var got []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.URL.Path+" "+string(b))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer up.Close()
	spec := "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /orders/{shard}:\n    post:\n      operationId: lookup\n" +
		"      parameters: [{name: shard, in: path, required: true, schema: {type: integer}}]\n" +
		"      requestBody: {required: true, content: {application/json: {schema: {type: object, required: [id], properties: {id: {type: integer}, price: {type: number}}}}}}\n" +
		"      responses: {'200': {description: ok}}\n"
	s := serverFor(t, spec, Options{Upstream: up.URL})
	args := `{"shard":9007199254740995,"id":9007199254740993,"price":0.10000000000000001}`
	for _, meta := range []string{"", `,"_meta":{}`} { // the fast path, then the SDK
		w := post(s, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"lookup","arguments":`+args+meta+`}}`,
			map[string]string{"Mcp-Protocol-Version": "2025-11-25"})
		if w.Code != 200 || strings.Contains(w.Body.String(), `"isError":true`) {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	want := `/orders/9007199254740995 {"id":9007199254740993,"price":0.10000000000000001}`
	if len(got) != 2 || got[0] != want || got[1] != want {
		t.Errorf("upstream got %q, want %q twice", got, want)
	}
}

// serverFor is a Server named t for the OpenAPI spec (YAML) with opt.
func serverFor(t testing.TB, spec string, opt Options) *Server {
	t.Helper()
	opt.Name, opt.API = "t", compileSpec(t, spec)
	s, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewRefusesABadUpstream(t *testing.T) {
	api := compileSpec(t, "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n")
	if _, err := New(Options{Name: "t", API: api, Upstream: "ftp://x"}); err == nil || !strings.Contains(err.Error(), "absolute http(s) URL") {
		t.Fatalf("New with an ftp upstream: %v", err)
	}
}

// compileSpec compiles the OpenAPI spec (YAML).
func compileSpec(t testing.TB, spec string) *openapi.API {
	t.Helper()
	path := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(path, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	api, err := openapi.Compile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return api
}
