package openapi

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestValidate(t *testing.T) {
	api := compileFile(t, "testdata/orders.yaml")
	item := map[string]any{"sku": "A-1", "quantity": 2.0}
	tests := []struct {
		tool string
		args map[string]any
		want string // "" = valid
	}{
		{"getOrder", map[string]any{"id": "o-1"}, ""},
		{"getOrder", nil, "invalid arguments: missing required property 'id'"},
		{"getOrder", map[string]any{"id": 5.0}, "invalid arguments: id: expected string, got number"},
		{"listOrders", map[string]any{"X-Tenant": "t", "limit": 5.0, "status": []any{"paid"}, "tag": []any{"a"}}, ""},
		{"listOrders", map[string]any{"X-Tenant": "t", "limit": "ten"}, "invalid arguments: limit: expected integer, got string"},
		{"listOrders", map[string]any{"X-Tenant": "t", "limit": 2.5}, "invalid arguments: limit: expected integer, got number"},
		{"listOrders", map[string]any{"X-Tenant": "t", "limit": 0.0}, "invalid arguments: limit: minimum: got 0, want 1"},
		{"listOrders", map[string]any{"X-Tenant": "t", "lmit": 5.0}, "invalid arguments: unexpected property 'lmit'"},
		{"listOrders", map[string]any{"X-Tenant": "t", "status": []any{"lost"}}, "invalid arguments: status[0]: value must be one of 'pending', 'paid', 'shipped'"},
		{"listOrders", map[string]any{"limit": "ten"}, "invalid arguments: limit: expected integer, got string; missing required property 'X-Tenant'"},
		{"createOrder", map[string]any{"customer": "c", "items": []any{item}, "note": nil}, ""},
		{"createOrder", map[string]any{}, "invalid arguments: missing required properties 'customer', 'items'"},
		{"createOrder", map[string]any{"customer": "c", "items": []any{}}, "invalid arguments: items: minItems: got 0, want 1"},
		{"createOrder", map[string]any{"customer": "c", "items": []any{map[string]any{"quantity": 1.0}}}, "invalid arguments: items[0]: missing required property 'sku'"},
		{"createOrder", map[string]any{"customer": "c", "items": []any{item}, "extra": true}, ""}, // the body allows more
		{"createOrder", map[string]any{"customer": "c", "items": []any{item}, "payment": map[string]any{"kind": "cash"}},
			"invalid arguments: payment: matches none of the allowed alternatives (option 1: kind: value must be 'card', missing required property 'last4'; option 2: kind: value must be 'invoice')"},
		{"createOrder", map[string]any{"customer": "c", "items": []any{map[string]any{"sku": "s", "quantity": 1.0, "price": map[string]any{"amount": 0.0, "currency": "eur"}}}},
			"invalid arguments: items[0].price.amount: exclusiveMinimum: got 0, want 0; items[0].price.currency: 'eur' does not match pattern '^[A-Z]{3}$'"},
		{"replaceOrder", map[string]any{"id": "o-1"}, "invalid arguments: missing required property 'body'"},
		{"replaceOrder", map[string]any{"id": "o-1", "body": map[string]any{"customer": "c", "items": []any{item}, "id": "o-1"}}, ""},
		{"replaceOrder", map[string]any{"id": "o-1", "body": map[string]any{"customer": "c", "items": []any{item}}}, "invalid arguments: body: missing required property 'id'"},
		{"ask", map[string]any{}, ""},
		{"ask", map[string]any{"body": "hi"}, "invalid arguments: body: expected object, got string"},
	}
	for _, tt := range tests {
		err := tool(t, api, tt.tool).Validate(tt.args)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s(%v): %v", tt.tool, tt.args, err)
		case tt.want != "" && err == nil:
			t.Errorf("%s(%v): valid, want %q", tt.tool, tt.args, tt.want)
		case tt.want != "" && err.Error() != tt.want:
			t.Errorf("%s(%v):\n got %q\nwant %q", tt.tool, tt.args, err, tt.want)
		}
		var ae *ArgumentError
		if err != nil && (!errors.As(err, &ae) || len(ae.Problems) == 0) {
			t.Errorf("%s: error %T is not an *ArgumentError", tt.tool, err)
		}
	}
}

func TestValidateNotCompiled(t *testing.T) {
	if err := (&Tool{}).Validate(nil); err == nil || !strings.Contains(err.Error(), "not built by Compile") {
		t.Errorf("Validate on a bare Tool: %v", err)
	}
}

// TestConcurrentUse runs one compiled API from many goroutines (-race),
// whose first Validate of each tool compiles its schema.
func TestConcurrentUse(t *testing.T) {
	api := compileFile(t, "testdata/orders.yaml")
	tl := tool(t, api, "createOrder")
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				args := map[string]any{"customer": "c", "items": []any{map[string]any{"sku": "s", "quantity": 1.0}}}
				if err := tl.Validate(args); err != nil {
					t.Error(err)
					return
				}
				if _, err := tl.Request(t.Context(), "http://up/api", args, nil); err != nil {
					t.Error(err)
					return
				}
				_ = tool(t, api, "listOrders").Validate(map[string]any{"limit": "x"})
			}
		}()
	}
	wg.Wait()
}
