package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func compileFile(t testing.TB, path string) *API {
	t.Helper()
	api, err := Compile(context.Background(), path)
	if err != nil {
		t.Fatalf("Compile(%s): %v", path, err)
	}
	return api
}

// writeSpec writes a spec into a temporary file and returns its path.
func writeSpec(t testing.TB, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func toolNames(api *API) []string {
	var names []string
	for _, t := range api.Tools {
		names = append(names, t.Name)
	}
	return names
}

func tool(t testing.TB, api *API, name string) *Tool {
	t.Helper()
	for _, tl := range api.Tools {
		if tl.Name == name {
			return tl
		}
	}
	t.Fatalf("no tool %q in %v", name, toolNames(api))
	return nil
}

// schemaOf decodes a tool schema for inspection.
func schemaOf(t testing.TB, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("schema %s: %v", raw, err)
	}
	return m
}

// at walks a decoded schema: at(m, "properties", "body", "required").
func at(m any, path ...string) any {
	for _, p := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[p]
	}
	return m
}

func strs(v any) []string {
	var out []string
	for _, x := range asSlice(v) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func propNames(v any) []string {
	return sortedKeys(asMap(at(v, "properties")))
}

// TestGolden compares each compiled spec with its golden file
// (go test -run TestGolden -update rewrites them).
func TestGolden(t *testing.T) {
	for _, spec := range []string{"orders.yaml", "inventory31.yaml", "petstore3.json"} {
		t.Run(spec, func(t *testing.T) {
			api := compileFile(t, filepath.Join("testdata", spec))
			got := golden(t, api)
			file := filepath.Join("testdata", "golden", strings.TrimSuffix(spec, filepath.Ext(spec))+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the compiled spec (run with -update and review the diff):\n%s", file, got)
			}
		})
	}
}

func golden(t *testing.T, api *API) []byte {
	type op struct {
		ID, Method, Path string
		Security         bool
		Middlewares      []string `json:",omitempty"`
		DispatchModel    string   `json:",omitempty"`
	}
	type tl struct {
		Name         string
		Description  string
		Annotations  Annotations
		Operation    string
		InputSchema  json.RawMessage
		OutputSchema json.RawMessage `json:",omitempty"`
	}
	out := struct {
		Title, Version string
		Warnings       []string
		Operations     []op
		Tools          []tl
	}{Title: api.Title, Version: api.Version, Warnings: api.Warnings}
	for _, o := range api.Operations {
		out.Operations = append(out.Operations, op{o.ID, o.Method, o.Path, o.Security, o.Middlewares, o.DispatchModel})
	}
	for _, x := range api.Tools {
		out.Tools = append(out.Tools, tl{x.Name, x.Description, x.Annotations, x.Operation.Method + " " + x.Operation.Path, x.InputSchema, x.OutputSchema})
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestOrders(t *testing.T) {
	api := compileFile(t, "testdata/orders.yaml")
	if api.Title != "Orders API" || api.Version != "1.2.0" || api.Doc == nil {
		t.Errorf("title %q version %q doc %v", api.Title, api.Version, api.Doc != nil)
	}
	wantTools := []string{"ask", "getCategory", "listOrders", "createOrder", "getOrder", "replaceOrder", "cancelOrder", "get_orders_id_items"}
	if got := toolNames(api); !slices.Equal(got, wantTools) {
		t.Errorf("tools = %v, want %v", got, wantTools)
	}
	// The MCP opt-out hides purgeOrders from tools, not from the proxy.
	var ops []string
	for _, o := range api.Operations {
		ops = append(ops, o.Method+" "+o.Path+" "+o.ID)
	}
	wantOps := []string{
		"POST /admin/purge purgeOrders", "POST /ask ask", "GET /categories/{id} getCategory", "POST /chat chat",
		"GET /orders listOrders", "POST /orders createOrder",
		"GET /orders/{id} getOrder", "PUT /orders/{id} replaceOrder", "DELETE /orders/{id} cancelOrder",
		"GET /orders/{id}/items get_orders_id_items",
	}
	if !slices.Equal(ops, wantOps) {
		t.Errorf("operations = %q, want %q", ops, wantOps)
	}
	wantWarnings := []string{
		"paths./categories/{id}.get: no summary or description",
		`paths./categories/{id}.get.responses.200: recursive schema #/components/schemas/Category cut to {"type":"object"}`,
		"paths./orders.get.parameters.session: cookie parameters are not supported; left out of the tool",
		"paths./orders/{id}/items.get: no operationId; tool named get_orders_id_items",
	}
	if !slices.Equal(api.Warnings, wantWarnings) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(api.Warnings, "\n"), strings.Join(wantWarnings, "\n"))
	}

	// Security: root bearer, listOrders opts out with security: [].
	for _, tl := range api.Tools {
		if want := tl.Name != "listOrders"; tl.Operation.Security != want {
			t.Errorf("%s: Security = %v, want %v", tl.Name, tl.Operation.Security, want)
		}
	}
	create := tool(t, api, "createOrder")
	if !slices.Equal(create.Operation.Middlewares, []string{"strict-limits", "pii-guard"}) {
		t.Errorf("middlewares = %v", create.Operation.Middlewares)
	}
	// A dispatch operation is an LLM route: not a tool, but an operation.
	for _, o := range api.Operations {
		if o.ID == "chat" && (o.DispatchModel != "fast" || o.DispatchDialect != DialectOpenAI) {
			t.Errorf("dispatch = %q %q", o.DispatchModel, o.DispatchDialect)
		}
	}

	annotations := map[string]Annotations{
		"listOrders":   {ReadOnly: true, Idempotent: true},
		"createOrder":  {},
		"replaceOrder": {Idempotent: true},
		"cancelOrder":  {Destructive: true, Idempotent: true},
	}
	for name, want := range annotations {
		if got := tool(t, api, name).Annotations; got != want {
			t.Errorf("%s annotations = %+v, want %+v", name, got, want)
		}
	}
	descs := map[string]string{
		"listOrders":   "List orders\n\nNewest first.",
		"replaceOrder": "Replace an order wholesale.",
		"getCategory":  "",
	}
	for name, want := range descs {
		if got := tool(t, api, name).Description; got != want {
			t.Errorf("%s description = %q, want %q", name, got, want)
		}
	}

	for _, tl := range api.Tools {
		for _, raw := range []json.RawMessage{tl.InputSchema, tl.OutputSchema} {
			for _, bad := range []string{`"$ref"`, `"nullable"`, `"discriminator"`, `"xml"`, `"externalDocs"`, `"example"`} {
				if bytes.Contains(raw, []byte(bad)) {
					t.Errorf("%s: schema keeps %s: %s", tl.Name, bad, raw)
				}
			}
		}
	}

	// listOrders: parameters by name; Accept (ignored by OpenAPI) and the
	// cookie are not arguments; header names as given.
	list := schemaOf(t, tool(t, api, "listOrders").InputSchema)
	if got := propNames(list); !slices.Equal(got, []string{"X-Tenant", "filter", "limit", "status", "tag"}) {
		t.Errorf("listOrders arguments = %v", got)
	}
	if got := strs(list["required"]); !slices.Equal(got, []string{"X-Tenant"}) {
		t.Errorf("listOrders required = %v", got)
	}
	if got := at(list, "properties", "status", "items", "enum"); !reflect.DeepEqual(got, []any{"pending", "paid", "shipped"}) {
		t.Errorf("status items enum = %v ($ref not inlined?)", got)
	}
	if got := at(list, "properties", "limit", "description"); got != "Page size." {
		t.Errorf("limit description = %v", got)
	}
	if list["additionalProperties"] != false {
		t.Errorf("listOrders additionalProperties = %v, want false", list["additionalProperties"])
	}

	// createOrder: the allOf body merges into one object whose properties
	// sit next to the header parameter; required merged.
	in := schemaOf(t, create.InputSchema)
	if got := propNames(in); !slices.Equal(got, []string{"Idempotency-Key", "couponCode", "customer", "items", "note", "payment", "status"}) {
		t.Errorf("createOrder arguments = %v", got)
	}
	if got := strs(in["required"]); !slices.Equal(got, []string{"customer", "items"}) {
		t.Errorf("createOrder required = %v", got)
	}
	if got := at(in, "properties", "note", "type"); !reflect.DeepEqual(got, []any{"string", "null"}) {
		t.Errorf("nullable note type = %v", got)
	}
	if got := at(in, "properties", "items", "items", "properties", "price", "properties", "amount"); !reflect.DeepEqual(got, map[string]any{"type": "number", "exclusiveMinimum": 0.0}) {
		t.Errorf("3.0 exclusiveMinimum = %v", got)
	}
	if got := at(in, "properties", "items", "items", "properties", "price", "properties", "currency", "examples"); !reflect.DeepEqual(got, []any{"EUR"}) {
		t.Errorf("example → examples = %v", got)
	}
	if got := at(in, "properties", "payment", "oneOf"); len(asSlice(got)) != 2 {
		t.Errorf("payment oneOf = %v", got)
	}
	if _, ok := in["additionalProperties"]; ok {
		t.Errorf("flattened body allows extra properties, got additionalProperties %v", in["additionalProperties"])
	}
	// Responses carry readOnly properties and leave writeOnly ones out.
	out := schemaOf(t, create.OutputSchema)
	if got := propNames(out); !slices.Equal(got, []string{"createdAt", "customer", "id", "items", "note", "payment", "status", "total"}) {
		t.Errorf("createOrder output properties = %v", got)
	}
	if got := strs(out["required"]); !slices.Equal(got, []string{"customer", "items", "id", "createdAt"}) {
		t.Errorf("createOrder output required = %v", got)
	}

	// replaceOrder: Order has an "id" property, like the path parameter, so
	// the body goes under "body"; readOnly createdAt is not an input.
	rep := schemaOf(t, tool(t, api, "replaceOrder").InputSchema)
	if got := propNames(rep); !slices.Equal(got, []string{"body", "id"}) {
		t.Errorf("replaceOrder arguments = %v", got)
	}
	if got := strs(rep["required"]); !slices.Equal(got, []string{"id", "body"}) {
		t.Errorf("replaceOrder required = %v", got)
	}
	body := at(rep, "properties", "body")
	if got := propNames(body); slices.Contains(got, "createdAt") || !slices.Contains(got, "id") || !slices.Contains(got, "total") {
		t.Errorf("replaceOrder body properties = %v", got)
	}
	if got := strs(at(body, "required")); !slices.Equal(got, []string{"customer", "items", "id"}) {
		t.Errorf("replaceOrder body required = %v", got)
	}
	if got := at(body, "description"); got != "The new order." {
		t.Errorf("body description = %v", got)
	}

	// A free-form object body stays under body, optional.
	chat := schemaOf(t, tool(t, api, "ask").InputSchema)
	if got := at(chat, "properties", "body", "additionalProperties"); got != true {
		t.Errorf("chat body = %v", at(chat, "properties", "body"))
	}
	if _, ok := chat["required"]; ok {
		t.Errorf("chat required = %v", chat["required"])
	}

	// Output only for object responses.
	if tool(t, api, "get_orders_id_items").OutputSchema != nil || tool(t, api, "cancelOrder").OutputSchema != nil {
		t.Error("array / empty responses got an output schema")
	}
	cat := schemaOf(t, tool(t, api, "getCategory").OutputSchema)
	if got := at(cat, "properties", "parent"); !reflect.DeepEqual(got, map[string]any{"type": "object"}) {
		t.Errorf("recursive parent = %v", got)
	}
	if got := at(cat, "properties", "children", "items"); !reflect.DeepEqual(got, map[string]any{"type": "object"}) {
		t.Errorf("recursive children = %v", got)
	}
}

func TestOpenAPI31(t *testing.T) {
	api := compileFile(t, "testdata/inventory31.yaml")
	// The root hides everything; two operations opt back in.
	if got := toolNames(api); !slices.Equal(got, []string{"getItem", "updateItem"}) {
		t.Errorf("tools = %v", got)
	}
	if len(api.Operations) != 4 {
		t.Errorf("%d operations, want 4", len(api.Operations))
	}
	if len(api.Warnings) != 0 {
		t.Errorf("warnings: %q", api.Warnings)
	}
	get, upd := tool(t, api, "getItem"), tool(t, api, "updateItem")
	// Root security [{apiKey}, {}] makes credentials optional; the patch
	// requires them.
	if get.Operation.Security || !upd.Operation.Security {
		t.Errorf("security get=%v update=%v", get.Operation.Security, upd.Operation.Security)
	}
	out := schemaOf(t, get.OutputSchema)
	checks := map[string]any{
		"price":    map[string]any{"type": []any{"number", "null"}},
		"quantity": map[string]any{"type": "integer", "exclusiveMinimum": 0.0},
		"kind":     map[string]any{"const": "physical"},
		"supplier": map[string]any{"type": "object", "description": "Who restocks it.", "properties": map[string]any{"name": map[string]any{"type": "string"}}},
	}
	for name, want := range checks {
		if got := at(out, "properties", name); !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	in := schemaOf(t, upd.InputSchema)
	if got := propNames(in); !slices.Equal(got, []string{"price", "quantity", "sku"}) {
		t.Errorf("updateItem arguments = %v", got)
	}
	if upd.plan.body.mediaType != "application/merge-patch+json" || upd.plan.body.mode != flatBody {
		t.Errorf("updateItem body plan = %+v", upd.plan.body)
	}
}

func TestPetstore(t *testing.T) {
	api := compileFile(t, "testdata/petstore3.json")
	want := []string{
		"updatePet", "addPet", "findPetsByStatus", "findPetsByTags",
		"getPetById", "updatePetWithForm", "deletePet", "uploadFile",
		"getInventory", "placeOrder", "getOrderById", "deleteOrder",
		"createUser", "createUsersWithListInput", "loginUser", "logoutUser",
		"getUserByName", "updateUser", "deleteUser",
	}
	if got := toolNames(api); !slices.Equal(got, want) {
		t.Errorf("tools = %v\nwant    %v", got, want)
	}
	if want := []string{"paths./pet/{petId}/uploadImage.post.requestBody: no JSON media type (application/octet-stream); the tool sends no body"}; !slices.Equal(api.Warnings, want) {
		t.Errorf("warnings = %q", api.Warnings)
	}
	secured := map[string]bool{}
	for _, tl := range api.Tools {
		secured[tl.Name] = tl.Operation.Security
	}
	for _, name := range []string{"updatePet", "getPetById", "getInventory", "deletePet"} {
		if !secured[name] {
			t.Errorf("%s should require credentials", name)
		}
	}
	for _, name := range []string{"placeOrder", "loginUser", "getUserByName"} {
		if secured[name] {
			t.Errorf("%s should not require credentials", name)
		}
	}
	// Pet's properties at the top level, required kept, no $ref, no xml.
	add := schemaOf(t, tool(t, api, "addPet").InputSchema)
	if got := strs(add["required"]); !slices.Equal(got, []string{"name", "photoUrls"}) {
		t.Errorf("addPet required = %v", got)
	}
	if got := at(add, "properties", "category", "properties", "name", "type"); got != "string" {
		t.Errorf("category not inlined: %v", at(add, "properties", "category"))
	}
	// username is both the path parameter and a User property.
	upd := schemaOf(t, tool(t, api, "updateUser").InputSchema)
	if got := propNames(upd); !slices.Equal(got, []string{"body", "username"}) {
		t.Errorf("updateUser arguments = %v", got)
	}
	if got := propNames(schemaOf(t, tool(t, api, "createUsersWithListInput").InputSchema)); !slices.Equal(got, []string{"body"}) {
		t.Errorf("array body arguments = %v", got)
	}
	if got := tool(t, api, "getPetById").Annotations; got != (Annotations{ReadOnly: true, Idempotent: true}) {
		t.Errorf("getPetById annotations = %+v", got)
	}
	if schemaOf(t, tool(t, api, "getInventory").OutputSchema)["additionalProperties"] == nil {
		t.Error("getInventory output lost additionalProperties")
	}
}

func TestCompileErrors(t *testing.T) {
	const head = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n"
	ok200 := "      responses: {'200': {description: ok}}\n"
	tests := []struct {
		name, spec string
		want       []string
	}{
		{"unresolvable ref", head + "paths:\n  /a:\n    get:\n      operationId: a\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: '#/components/schemas/Nope'}\n",
			[]string{`#/components/schemas/Nope`}},
		{"external ref", head + "paths:\n  /a:\n    get:\n      operationId: a\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: 'other.yaml#/X'}\n",
			[]string{`disallowed external reference: "other.yaml#/X"`}},
		{"swagger 2", "swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths: {}\n", []string{"not an OpenAPI 3 document"}},
		{"not yaml", "{{{", []string{"failed to unmarshal"}},
		{"invalid document, every problem", "openapi: 3.0.3\ninfo: {title: t}\npaths:\n  /a/{id}:\n    get:\n" + ok200,
			[]string{"version must be a non-empty string", "must define exactly all path parameters"}},
		{"duplicate tool names", head + "paths:\n  /a:\n    get:\n      operationId: get order\n" + ok200 + "  /b:\n    get:\n      operationId: get_order\n" + ok200,
			[]string{`duplicate tool name "get_order": paths./a.get and paths./b.get`}},
		{"duplicate generated names", head + "paths:\n  /a_b:\n    get:\n" + ok200 + "  /a/b:\n    get:\n" + ok200,
			[]string{`duplicate tool name "get_a_b": paths./a/b.get and paths./a_b.get`}},
		{"bad x-tidegate-mcp", head + "paths:\n  /a:\n    get:\n      operationId: a\n      x-tidegate-mcp: true\n" + ok200,
			[]string{"paths./a.get.x-tidegate-mcp: want {enabled: true|false}"}},
		{"bad root x-tidegate-mcp", head + "x-tidegate-mcp: {enabled: maybe}\npaths: {}\n", []string{"x-tidegate-mcp: want {enabled: true|false}"}},
		{"bad middlewares", head + "paths:\n  /a:\n    get:\n      operationId: a\n      x-tidegate-middlewares: limits\n" + ok200,
			[]string{"paths./a.get.x-tidegate-middlewares: want a list of middleware names"}},
		{"bad dispatch", head + "paths:\n  /a:\n    post:\n      operationId: a\n      x-tidegate-dispatch: {ai-proxy: {}}\n" + ok200,
			[]string{"paths./a.post.x-tidegate-dispatch: ai-proxy.model is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeSpec(t, "spec.yaml", tt.spec)
			_, err := Compile(context.Background(), path)
			if err == nil {
				t.Fatal("Compile succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, path+": ") {
					t.Errorf("error line %q does not start with the spec's path", line)
				}
			}
		})
	}
}

func TestLint(t *testing.T) {
	const ok200 = "      responses: {'200': {description: ok}}\n"
	path := writeSpec(t, "spec.yaml", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n"+
		"  /a:\n    get:\n      operationId: get order\n"+ok200+
		"  /b:\n    get:\n      operationId: get_order\n      summary: B\n"+ok200+
		"  /c/{id}:\n    get:\n      description: C\n      parameters: [{name: id, in: path, required: true, schema: {type: string}}]\n"+ok200)
	got := Lint(context.Background(), path)
	want := []string{
		"error: " + path + `: duplicate tool name "get_order": paths./a.get and paths./b.get`,
		"warning: " + path + `: paths./a.get: operationId "get order" is not a valid tool name; tool named get_order`,
		"warning: " + path + ": paths./a.get: no summary or description",
		"warning: " + path + ": paths./c/{id}.get: no operationId; tool named get_c_id",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Lint:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	bad := writeSpec(t, "bad.yaml", "openapi: 3.0.3\ninfo: {title: t}\npaths:\n  /a/{id}:\n    get:\n"+ok200)
	got = Lint(context.Background(), bad)
	if len(got) != 2 || !strings.HasPrefix(got[0], "error: "+bad+": invalid OpenAPI document: ") || !strings.HasPrefix(got[1], "error: ") {
		t.Errorf("Lint(invalid) = %q", got)
	}
	if got := Lint(context.Background(), "testdata/inventory31.yaml"); len(got) != 0 {
		t.Errorf("Lint(clean spec) = %q", got)
	}
}

func TestSanitizeName(t *testing.T) {
	long := strings.Repeat("a", 80)
	tests := map[string]string{
		"listOrders":            "listOrders",
		"orders.list v2":        "orders_list_v2",
		"get-order_2":           "get-order_2",
		"café":                  "caf__",
		"":                      "_",
		strings.Repeat("x", 64): strings.Repeat("x", 64),
	}
	for in, want := range tests {
		if got := sanitizeName(in); got != want {
			t.Errorf("sanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
	a, b := sanitizeName(long+"1"), sanitizeName(long+"2")
	if len(a) != 64 || len(b) != 64 || a == b || !strings.HasPrefix(a, long[:55]) {
		t.Errorf("long names: %q %q", a, b)
	}
	if got := methodPathName("GET", "/x"); got != "get_x" {
		t.Errorf("methodPathName = %q", got)
	}
	if got := methodPathName("DELETE", "/orders/{id}/items/"); got != "delete_orders_id_items" {
		t.Errorf("methodPathName = %q", got)
	}
}

// bigSpec is a 3.0 spec with n operations over shared components.
func bigSpec(n int) string {
	var b strings.Builder
	b.WriteString(`{"openapi":"3.0.3","info":{"title":"big","version":"1"},"paths":{`)
	for i := 0; i < n/2; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"/r%d/{id}":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}}],`+
			`"get":{"operationId":"get%d","summary":"Get r%d","parameters":[{"name":"expand","in":"query","schema":{"type":"array","items":{"type":"string"}}}],`+
			`"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Thing"}}}}}},`+
			`"put":{"operationId":"put%d","summary":"Put r%d","requestBody":{"required":true,"content":{"application/json":{"schema":{"$ref":"#/components/schemas/NewThing"}}}},`+
			`"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Thing"}}}}}}}`, i, i, i, i, i)
	}
	b.WriteString(`},"components":{"schemas":{` +
		`"Tag":{"type":"object","required":["name"],"properties":{"name":{"type":"string"},"color":{"type":"string","nullable":true}}},` +
		`"NewThing":{"type":"object","required":["name"],"properties":{"name":{"type":"string","maxLength":100},"tags":{"type":"array","items":{"$ref":"#/components/schemas/Tag"}},"owner":{"type":"string","format":"email"}}},` +
		`"Thing":{"allOf":[{"$ref":"#/components/schemas/NewThing"},{"type":"object","properties":{"uid":{"type":"string","readOnly":true},"created":{"type":"string","format":"date-time"}}}]}` +
		`}}}`)
	return b.String()
}

func TestCompile500(t *testing.T) {
	path := writeSpec(t, "big.json", bigSpec(500))
	start := time.Now()
	api := compileFile(t, path)
	elapsed := time.Since(start)
	if len(api.Tools) != 500 || len(api.Warnings) != 0 {
		t.Fatalf("%d tools, warnings %q", len(api.Tools), api.Warnings)
	}
	t.Logf("Compile of 500 operations: %v", elapsed)
	// The compiled API is reused as is: every tool validates and builds.
	for _, tl := range api.Tools[:4] {
		args := map[string]any{"id": "x"}
		if tl.Operation.Method == "PUT" {
			args["name"] = "n"
		}
		if err := tl.Validate(args); err != nil {
			t.Fatalf("%s: %v", tl.Name, err)
		}
		if _, err := tl.Request(context.Background(), "http://u", args, nil); err != nil {
			t.Fatalf("%s: %v", tl.Name, err)
		}
	}
}

func BenchmarkCompile500(b *testing.B) {
	path := writeSpec(b, "big.json", bigSpec(500))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(context.Background(), path); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCompileCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Compile(ctx, "testdata/orders.yaml"); err == nil {
		t.Error("Compile with a cancelled context succeeded")
	}
}
