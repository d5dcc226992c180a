package admin

import (
	"net/http/httptest"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tidegate/tidegate/internal/store"
)

func TestConfigText(t *testing.T) {
	const anyV = store.AnyVersion
	for name, c := range map[string]struct {
		ct, body, want string
		after          int64
		err            string
	}{
		"yaml":          {"application/yaml", "listen: x\n", "listen: x\n", anyV, ""},
		"no type":       {"", "listen: x\n", "listen: x\n", anyV, ""},
		"wrapped":       {"application/json", `{"yaml":"listen: x\n"}`, "listen: x\n", anyV, ""},
		"with version":  {"application/json", `{"yaml":"listen: x\n","version":7}`, "listen: x\n", 7, ""},
		"whole view":    {"application/json", `{"version":3,"author":"ops","source":"api","created_at":"2026-12-07T00:00:00Z","yaml":"listen: x\n","config":{"listen":"y"}}`, "listen: x\n", 3, ""},
		"object":        {"application/json; charset=utf-8", `{"listen":"x","models":{"a":{"provider":"p"}}}`, "listen: x\nmodels:\n    a:\n        provider: p\n", anyV, ""},
		"empty":         {"application/yaml", "  ", "", anyV, "invalid_body"},
		"not an object": {"application/json", `[1]`, "", anyV, "invalid_json"},
		"bad json":      {"application/json", `{"listen":`, "", anyV, "invalid_json"},
		"yaml not text": {"application/json", `{"yaml":{"listen":"x"}}`, "", anyV, "invalid_field"},
		"bad version":   {"application/json", `{"yaml":"a: 1","version":"7"}`, "", anyV, "invalid_field"},
		"negative":      {"application/json", `{"yaml":"a: 1","version":-1}`, "", anyV, "invalid_field"},
		"view + config": {"application/json", `{"yaml":"a: 1","listen":"x"}`, "", anyV, "invalid_field"},
	} {
		t.Run(name, func(t *testing.T) {
			got, after, err := configText(c.ct, []byte(c.body))
			if c.err != "" {
				if err == nil || err.Code != c.err {
					t.Fatalf("err = %v, want %s", err, c.err)
				}
				return
			}
			if err != nil || got != c.want || after != c.after {
				t.Fatalf("got %q after %d, %v; want %q after %d", got, after, err, c.want, c.after)
			}
		})
	}
}

func TestIfMatch(t *testing.T) {
	for h, want := range map[string]int64{"": store.AnyVersion, "*": store.AnyVersion, `"7"`: 7, `W/"7"`: 7, ` "0" `: 0, `7`: -2, `"x"`: -2, `""`: -2, `"-3"`: -2, `"1", "2"`: -2, `"`: -2} {
		r := httptest.NewRequest("PUT", "/admin/config", nil)
		if h != "" {
			r.Header.Set("If-Match", h)
		}
		got, err := ifMatch(r)
		if want == -2 {
			if err == nil || err.Status != 400 || err.Code != "invalid_header" {
				t.Errorf("If-Match %q: %d, %v; want a 400", h, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("If-Match %q: %d, %v; want %d", h, got, err, want)
		}
	}
}

// Whatever the body, configText answers text or a 400, and JSON objects
// become YAML that means the same.
func FuzzConfigText(f *testing.F) {
	f.Add("application/json", `{"yaml":"a: 1"}`)
	f.Add("application/json", `{"a":{"b":[1,"x",null]}}`)
	f.Add("application/yaml", "a: [1")
	f.Fuzz(func(t *testing.T, ct, body string) {
		text, _, err := configText(ct, []byte(body))
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
