package config

import (
	"maps"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestMaskedConfig(t *testing.T) {
	cfg, err := Parse([]byte(`
store: postgres://u:secret-pw@db:5432/x
providers:
  oai: {type: openai, base_url: "http://127.0.0.1:9/v1", api_key: sk-live-1, headers: {X-Org: org-secret}}
  aws: {type: bedrock, region: us-east-1, access_key_id: AKIA1, secret_access_key: aws-secret-1, session_token: aws-session-1}
models:
  gpt: {provider: oai, model: gpt-4o}
admin_keys:
  - {name: ops, key: admin-key-0123456789, scope: admin}
mcp_servers:
  weather: {url: "https://mcp.example/mcp", headers: {Authorization: "Bearer mcp-secret-1"}}
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	out := string(cfg.Marshal())
	for _, leak := range []string{"secret-pw", "sk-live-1", "org-secret", "admin-key-0123456789", "aws-secret-1", "aws-session-1", "mcp-secret-1"} {
		if strings.Contains(out, leak) {
			t.Fatalf("Marshal leaks %q:\n%s", leak, out)
		}
	}
	if !strings.Contains(out, "postgres://u:"+Mask+"@db:5432/x") || cfg.Providers["oai"].APIKey != "sk-live-1" {
		t.Fatalf("masked:\n%s", out)
	}
}

// MaskYAML and Unmask never fail on YAML they can parse, and a masked text
// unmasked against its original gets every secret back.
func FuzzMaskRoundTrip(f *testing.F) {
	f.Add("providers:\n  a: {api_key: sk-1, headers: {h: v}}\nstore: postgres://u:p@h/d\n")
	f.Add("admin_keys: [{key: k}]\nredis: redis://:pw@h:1\n")
	f.Add("providers: [")
	f.Fuzz(func(t *testing.T, text string) {
		masked, err := MaskYAML(text)
		if err != nil {
			return
		}
		back, err := Unmask(masked, text)
		if err != nil {
			return // a secret that itself contains the mask
		}
		want, err := MaskYAML(back)
		if err != nil || want != masked {
			t.Fatalf("round trip changed the text:\n%s\nvs\n%s", want, masked)
		}
		if a, b := secrets(t, text), secrets(t, back); a != nil && b != nil && !maps.Equal(a, b) {
			t.Fatalf("unmasking did not restore the secrets:\n%q\nvs\n%q", back, text)
		}
	})
}

// secrets maps the path of every secret in text to its value; nil when a
// path appears twice (a key written twice, which the config refuses and
// Unmask cannot tell apart).
func secrets(t *testing.T, text string) map[string]string {
	doc, err := parseDoc(text)
	if err != nil {
		t.Fatalf("parse %q: %v", text, err)
	}
	out := map[string]string{}
	dup := false
	walkScalars(doc, nil, func(path []string, n *yaml.Node) {
		k := strings.Join(path, "\x00")
		if _, ok := out[k]; ok {
			dup = true
		}
		if isSecret(path) {
			out[k] = n.Value
		} else {
			out[k] = ""
		}
	})
	if dup {
		return nil
	}
	return out
}

// Masking and unmasking change only the secrets' own bytes: blank lines,
// comments, quotes and indentation stay as written, so an unchanged config
// read and written back through the admin API is the same text.
func TestMaskKeepsLayout(t *testing.T) {
	text := `# tidegate

store: postgres://u:pw@db:5432/x   # the password is masked

providers:
    oai: {type: openai, api_key: "sk-\"1\"", headers: {X-Ünïcode: 'it''s'}}
    ant:
        type: anthropic
        api_key: sk-ant-2     # plain

admin_keys:
  - {name: ops, key: k1, scope: admin}
`
	want := `# tidegate

store: 'postgres://u:********@db:5432/x'   # the password is masked

providers:
    oai: {type: openai, api_key: "********", headers: {X-Ünïcode: '********'}}
    ant:
        type: anthropic
        api_key: '********'     # plain

admin_keys:
  - {name: ops, key: '********', scope: admin}
`
	masked, err := MaskYAML(text)
	if err != nil || masked != want {
		t.Fatalf("masked (%v):\n%s\nwant:\n%s", err, masked, want)
	}
	back, err := Unmask(masked, text)
	if err != nil || back != text {
		t.Fatalf("unmasked (%v):\n%s\nwant:\n%s", err, back, text)
	}
	// An edit elsewhere keeps the secrets' spelling too.
	edited := strings.Replace(masked, "type: anthropic", "type: anthropic\n        base_url: http://127.0.0.1:9", 1)
	back, err = Unmask(edited, text)
	if err != nil || back != strings.Replace(text, "type: anthropic", "type: anthropic\n        base_url: http://127.0.0.1:9", 1) {
		t.Fatalf("edited (%v):\n%s", err, back)
	}
	// A secret written as a block scalar cannot be replaced in place: the
	// document is re-encoded, and still means the same.
	block := "providers:\n  oai:\n    api_key: |\n      sk-block\n"
	masked, err = MaskYAML(block)
	if err != nil || strings.Contains(masked, "sk-block") {
		t.Fatalf("block scalar masked (%v):\n%s", err, masked)
	}
	back, err = Unmask(masked, block)
	b1, _ := parseDoc(back)
	b2, _ := parseDoc(block)
	if err != nil || !sameScalars(b1, b2) {
		t.Fatalf("block scalar unmasked (%v):\n%s", err, back)
	}
}
