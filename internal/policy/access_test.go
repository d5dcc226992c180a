package policy

import (
	"strings"
	"testing"
)

func TestAccess(t *testing.T) {
	a, err := NewAccess(compiler(t), []AccessRule{
		{When: `jwt.claims.sub == "root"`, Allow: true},
		{When: `operation == "deleteOrder" && !("admins" in jwt.claims.groups)`, Deny: "only admins may delete orders"},
		{When: `method == "POST" && api == "orders" && jwt.claims.tier != "gold"`, Deny: "gold tier only"},
	}, "apis.orders.policies")
	if err != nil {
		t.Fatal(err)
	}
	alice := map[string]any{"sub": "alice", "groups": []any{"staff"}, "tier": "gold"}
	admin := map[string]any{"sub": "bob", "groups": []any{"admins"}, "tier": "silver"}
	cases := []struct {
		name    string
		v       Vars
		allowed bool
		msg     string
	}{
		{"root passes first", Vars{Operation: "deleteOrder", Claims: map[string]any{"sub": "root"}}, true, ""},
		{"non-admin delete", Vars{API: "orders", Operation: "deleteOrder", Method: "DELETE", Claims: alice}, false, "only admins may delete orders"},
		{"admin delete", Vars{API: "orders", Operation: "deleteOrder", Method: "DELETE", Claims: admin}, true, ""},
		{"silver post", Vars{API: "orders", Operation: "createOrder", Method: "POST", Claims: admin}, false, "gold tier only"},
		{"gold post", Vars{API: "orders", Operation: "createOrder", Method: "POST", Claims: alice}, true, ""},
		// no claims at all: jwt.claims.sub is a missing key — fail closed
		{"missing claim", Vars{Operation: "getOrder"}, false, "could not be evaluated"},
	}
	for _, c := range cases {
		d := a.Decide(&c.v)
		if d.Allowed != c.allowed || !strings.Contains(d.Message, c.msg) {
			t.Errorf("%s: got %+v", c.name, d)
		}
	}
	if d := (*Access)(nil).Decide(&Vars{}); !d.Allowed {
		t.Fatal("a nil Access must allow")
	}
}

func TestAccessErrors(t *testing.T) {
	_, err := NewAccess(compiler(t), []AccessRule{
		{When: `jwt.claims.sub ==`, Deny: "x"},
		{When: `true`},
		{When: `true`, Deny: "x", Allow: true},
		{When: `jwt.claims.sub`, Deny: "x"},
	}, "apis.orders.policies")
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		"apis.orders.policies[0].when: invalid CEL",
		"apis.orders.policies[1]: set exactly one of",
		"apis.orders.policies[2]: set exactly one of",
		"apis.orders.policies[3].when: CEL expression must be a bool",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if a, err := NewAccess(compiler(t), nil, "x"); a != nil || err != nil {
		t.Fatal("no rules: nil, nil")
	}
}
