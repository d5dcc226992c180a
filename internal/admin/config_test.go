package admin

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestConfigText(t *testing.T) {
	for name, c := range map[string]struct{ ct, body, want, err string }{
		"yaml":          {"application/yaml", "listen: x\n", "listen: x\n", ""},
		"no type":       {"", "listen: x\n", "listen: x\n", ""},
		"wrapped":       {"application/json", `{"yaml":"listen: x\n"}`, "listen: x\n", ""},
		"object":        {"application/json; charset=utf-8", `{"listen":"x","models":{"a":{"provider":"p"}}}`, "listen: x\nmodels:\n    a:\n        provider: p\n", ""},
		"empty":         {"application/yaml", "  ", "", "invalid_body"},
		"not an object": {"application/json", `[1]`, "", "invalid_json"},
		"bad json":      {"application/json", `{"listen":`, "", "invalid_json"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := configText(c.ct, []byte(c.body))
			if c.err != "" {
				if err == nil || err.Code != c.err {
					t.Fatalf("err = %v, want %s", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// Whatever the body, configText answers text or a 400, and JSON objects
// become YAML that means the same.
func FuzzConfigText(f *testing.F) {
	f.Add("application/json", `{"yaml":"a: 1"}`)
	f.Add("application/json", `{"a":{"b":[1,"x",null]}}`)
	f.Add("application/yaml", "a: [1")
	f.Fuzz(func(t *testing.T, ct, body string) {
		text, err := configText(ct, []byte(body))
		if err != nil {
			if err.Status != 400 {
				t.Fatalf("status %d", err.Status)
			}
			return
		}
		if strings.HasPrefix(ct, "application/json") && !strings.Contains(body, `"yaml"`) {
			var a, b any
			if yaml.Unmarshal([]byte(body), &a) == nil {
				if e := yaml.Unmarshal([]byte(text), &b); e != nil {
					t.Fatalf("converted YAML does not parse: %v\n%s", e, text)
				}
			}
		}
	})
}
