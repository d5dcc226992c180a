package config

import (
	"strings"
	"testing"
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
	})
}
