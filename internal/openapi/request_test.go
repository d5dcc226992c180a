package openapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

type wantReq struct {
	method, url string
	header      map[string]string // "" value: absent
	body        string            // "" = no body
}

func checkRequest(t *testing.T, req *http.Request, want wantReq) {
	t.Helper()
	if req.Method != want.method {
		t.Errorf("method = %s, want %s", req.Method, want.method)
	}
	if got := req.URL.String(); got != want.url {
		t.Errorf("url = %s\n     want %s", got, want.url)
	}
	for k, v := range want.header {
		if got := req.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	var body string
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			t.Fatal(err)
		}
		body = string(b)
		if req.ContentLength != int64(len(b)) || req.GetBody == nil {
			t.Errorf("ContentLength %d for %d bytes (GetBody set: %v)", req.ContentLength, len(b), req.GetBody != nil)
		}
	}
	if body != want.body {
		t.Errorf("body = %s\n     want %s", body, want.body)
	}
}

func TestRequest(t *testing.T) {
	orders := compileFile(t, "testdata/orders.yaml")
	inventory := compileFile(t, "testdata/inventory31.yaml")
	pets := compileFile(t, "testdata/petstore3.json")
	styles := compileFile(t, "testdata/styles.yaml")
	item := map[string]any{"sku": "A-1", "quantity": 2.0}
	fwd := http.Header{
		"Authorization":   {"Bearer caller"},
		"Accept":          {"application/json, text/event-stream"},
		"Content-Type":    {"application/json"},
		"Content-Length":  {"123"},
		"Accept-Encoding": {"gzip"},
		"Connection":      {"keep-alive"},
		"Mcp-Session-Id":  {"s1"},
	}
	tests := []struct {
		name string
		tool *Tool
		base string
		args map[string]any
		h    http.Header
		want wantReq
	}{
		{"path escaping and forwarded headers", tool(t, orders, "getOrder"), "http://up.internal/api/",
			map[string]any{"id": "a/b c?d#e%"}, fwd,
			wantReq{"GET", "http://up.internal/api/orders/a%2Fb%20c%3Fd%23e%25", map[string]string{
				"Authorization": "Bearer caller", "Accept": "application/json", "Content-Type": "",
				"Content-Length": "", "Accept-Encoding": "", "Connection": "", "Mcp-Session-Id": "s1",
			}, ""}},
		{"base without path", tool(t, orders, "getOrder"), "https://up.internal", map[string]any{"id": "7"}, nil,
			wantReq{"GET", "https://up.internal/orders/7", nil, ""}},
		{"base with double slash and query", tool(t, orders, "getOrder"), "http://up.internal/v1//?api-version=2", map[string]any{"id": "7"}, nil,
			wantReq{"GET", "http://up.internal/v1/orders/7?api-version=2", nil, ""}},
		{"base with escaped prefix", tool(t, orders, "getOrder"), "http://up.internal/my%20api", map[string]any{"id": "é"}, nil,
			wantReq{"GET", "http://up.internal/my%20api/orders/%C3%A9", nil, ""}},
		{"query arrays both styles, deepObject, header", tool(t, orders, "listOrders"), "http://up/api",
			map[string]any{
				"X-Tenant": "acme", "limit": 5.0, "status": []any{"paid", "shipped"}, "tag": []any{"a", "b c"},
				"filter": map[string]any{"customer": "c1", "minTotal": 10.5},
			}, nil,
			wantReq{"GET", "http://up/api/orders?filter%5Bcustomer%5D=c1&filter%5BminTotal%5D=10.5&limit=5&status=paid&status=shipped&tag=a%2Cb+c",
				map[string]string{"X-Tenant": "acme"}, ""}},
		{"null and absent optional parameters are left out", tool(t, orders, "listOrders"), "http://up/api",
			map[string]any{"X-Tenant": "acme", "limit": nil}, nil,
			wantReq{"GET", "http://up/api/orders", nil, ""}},
		{"flattened body gathered back", tool(t, orders, "createOrder"), "http://up/api",
			map[string]any{"Idempotency-Key": "k1", "customer": "c<1>", "items": []any{item}, "note": nil}, http.Header{"Authorization": {"Bearer x"}},
			wantReq{"POST", "http://up/api/orders", map[string]string{
				"Idempotency-Key": "k1", "Content-Type": "application/json", "Authorization": "Bearer x",
			}, `{"customer":"c<1>","items":[{"quantity":2,"sku":"A-1"}],"note":null}`}},
		{"nested body", tool(t, orders, "replaceOrder"), "http://up/api",
			map[string]any{"id": "o 1", "body": map[string]any{"id": "o 1", "customer": "c", "items": []any{item}}}, nil,
			wantReq{"PUT", "http://up/api/orders/o%201", map[string]string{"Content-Type": "application/json"},
				`{"customer":"c","id":"o 1","items":[{"quantity":2,"sku":"A-1"}]}`}},
		{"optional body absent", tool(t, orders, "ask"), "http://up/api", map[string]any{}, nil,
			wantReq{"POST", "http://up/api/ask", map[string]string{"Content-Type": ""}, ""}},
		{"optional body present", tool(t, orders, "ask"), "http://up/api", map[string]any{"body": map[string]any{"q": "hi"}}, nil,
			wantReq{"POST", "http://up/api/ask", map[string]string{"Content-Type": "application/json"}, `{"q":"hi"}`}},
		{"query enum on delete", tool(t, orders, "cancelOrder"), "http://up/api", map[string]any{"id": "1", "reason": "fraud"}, nil,
			wantReq{"DELETE", "http://up/api/orders/1?reason=fraud", nil, ""}},
		{"form explode=false, 3.1", tool(t, inventory, "getItem"), "http://inv", map[string]any{"sku": "S 1", "fields": []any{"a", "b"}}, nil,
			wantReq{"GET", "http://inv/items/S%201?fields=a%2Cb", nil, ""}},
		{"vendor JSON media type", tool(t, inventory, "updateItem"), "http://inv", map[string]any{"sku": "S1", "price": nil}, nil,
			wantReq{"PATCH", "http://inv/items/S1", map[string]string{"Content-Type": "application/merge-patch+json"}, `{"price":null}`}},
		{"required flattened body with no properties sent as {}", tool(t, inventory, "updateItem"), "http://inv", map[string]any{"sku": "S1"}, nil,
			wantReq{"PATCH", "http://inv/items/S1", nil, `{}`}},
		{"integer path parameter and header", tool(t, pets, "deletePet"), "http://pets/api/v3", map[string]any{"petId": 10.0, "api_key": "k"}, nil,
			wantReq{"DELETE", "http://pets/api/v3/pet/10", map[string]string{"api_key": "k"}, ""}},
		{"big integers keep their digits", tool(t, pets, "getPetById"), "http://pets", map[string]any{"petId": json.Number("9007199254740993")}, nil,
			wantReq{"GET", "http://pets/pet/9007199254740993", nil, ""}},
		{"petstore flattened body", tool(t, pets, "addPet"), "http://pets", map[string]any{"name": "rex", "photoUrls": []any{}}, nil,
			wantReq{"POST", "http://pets/pet", nil, `{"name":"rex","photoUrls":[]}`}},
		{"path styles", tool(t, styles, "pathStyles"), "http://s",
			map[string]any{"simple": []any{"a", "b/c"}, "label": []any{"x", "y"}, "matrix": []any{"1", "2"}, "matrixx": []any{"1", "2"}}, nil,
			wantReq{"GET", "http://s/s/a,b%2Fc/.x,y/;matrix=1,2/;matrixx=1;matrixx=2", nil, ""}},
		{"object styles", tool(t, styles, "objectStyles"), "http://s",
			map[string]any{
				"obj": map[string]any{"b": 2.0, "a": "x y"}, "objx": map[string]any{"k": "v"},
				"form": map[string]any{"f1": "1", "f2": true}, "flat": map[string]any{"a": "1", "b": "2"},
				"space": []any{1.0, 2.0}, "pipe": []any{"p", "q"}, "where": map[string]any{"a": 1.0},
				"X-List": []any{"l1", "l2"}, "X-Obj": map[string]any{"a": "1", "b": "2"}, "X-Flag": false,
			}, nil,
			wantReq{"GET", "http://s/o/a,x%20y,b,2/k=v?f1=1&f2=true&flat=a%2C1%2Cb%2C2&pipe=p%7Cq&space=1+2&where=%7B%22a%22%3A1%7D",
				map[string]string{"X-List": "l1,l2", "X-Obj": "a=1,b=2", "X-Flag": "false"}, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.tool.Validate(tt.args); err != nil && !strings.HasPrefix(tt.name, "null") {
				t.Fatalf("Validate: %v", err)
			}
			var before http.Header
			if tt.h != nil {
				before = tt.h.Clone()
			}
			ctx := context.WithValue(context.Background(), struct{}{}, 1)
			req, err := tt.tool.Request(ctx, tt.base, tt.args, tt.h)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if req.Context() != ctx {
				t.Error("request does not carry the context")
			}
			checkRequest(t, req, tt.want)
			if tt.h != nil && len(tt.h) != len(before) {
				t.Error("Request modified the caller's header")
			}
		})
	}
}

// A required flat body is an object even without arguments; arguments
// that are all body properties are sent as they are.
func TestFlatBody(t *testing.T) {
	update := tool(t, compileFile(t, "testdata/inventory31.yaml"), "updateItem")
	for _, args := range []map[string]any{nil, {}} {
		if b, err := update.body(args); err != nil || string(b) != `{}` {
			t.Errorf("%v: %s %v", args, b, err)
		}
	}
	create := tool(t, compileFile(t, "testdata/orders.yaml"), "createOrder")
	args := map[string]any{"customer": "c<&>", "note": "n"}
	if b, err := create.body(args); err != nil || string(b) != `{"customer":"c<&>","note":"n"}` {
		t.Errorf("%s %v", b, err)
	}
}

func TestRequestErrors(t *testing.T) {
	orders := compileFile(t, "testdata/orders.yaml")
	get := tool(t, orders, "getOrder")
	tests := []struct {
		name string
		tool *Tool
		base string
		args map[string]any
		want string
	}{
		{"missing path parameter", get, "http://up", map[string]any{}, "missing required path parameter 'id'"},
		{"null path parameter", get, "http://up", map[string]any{"id": nil}, "missing required path parameter 'id'"},
		{"empty path parameter", get, "http://up", map[string]any{"id": ""}, "path parameter 'id' must not be empty"},
		{"dot-dot segment", get, "http://up/api", map[string]any{"id": ".."}, `makes a ".." path segment`},
		{"dot segment", get, "http://up/api", map[string]any{"id": "."}, `makes a "." path segment`},
		{"header injection", tool(t, orders, "listOrders"), "http://up", map[string]any{"X-Tenant": "a\r\nX-Evil: 1"}, "header parameter 'X-Tenant': control characters are not allowed"},
		{"missing required nested body", tool(t, orders, "replaceOrder"), "http://up", map[string]any{"id": "1"}, "missing required property 'body'"},
		{"relative base", get, "/api", map[string]any{"id": "1"}, "want an absolute http(s) URL"},
		{"empty base", get, "", map[string]any{"id": "1"}, "want an absolute http(s) URL"},
		{"other scheme", get, "file:///etc", map[string]any{"id": "1"}, "want an absolute http(s) URL"},
		{"no host", get, "http:///x", map[string]any{"id": "1"}, "want an absolute http(s) URL"},
		{"bare tool", &Tool{}, "http://up", nil, "not built by Compile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.tool.Request(context.Background(), tt.base, tt.args, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// BenchmarkCall is the per-call work of a tools/call: validate the
// arguments, build the request.
func BenchmarkCall(b *testing.B) {
	api := compileFile(b, "testdata/orders.yaml")
	tl := tool(b, api, "createOrder")
	args := map[string]any{
		"Idempotency-Key": "k", "customer": "c", "note": "leave at the door",
		"items": []any{map[string]any{"sku": "A-1", "quantity": 2.0, "price": map[string]any{"amount": 9.5, "currency": "EUR"}}},
	}
	h := http.Header{"Authorization": {"Bearer x"}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := tl.Validate(args); err != nil {
			b.Fatal(err)
		}
		if _, err := tl.Request(ctx, "http://up/api", args, h); err != nil {
			b.Fatal(err)
		}
	}
}
