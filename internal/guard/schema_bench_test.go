package guard

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

// schemaBody is a Chat Completions request that asks for a structured
// answer (a 1.5 KB response schema) and offers eight tools, as an agent
// sends it on every turn.
func schemaBody() []byte {
	var b strings.Builder
	b.WriteString(`{"model":"m","messages":[{"role":"user","content":"Plan the release."}],"response_format":{"type":"json_schema","json_schema":{"name":"plan","strict":true,"schema":`)
	b.WriteString(`{"type":"object","additionalProperties":false,"required":["title","steps","risk"],"properties":{` +
		`"title":{"type":"string","minLength":1,"maxLength":200},` +
		`"risk":{"type":"string","enum":["low","medium","high"]},` +
		`"owner":{"type":["string","null"],"pattern":"^[a-z][a-z0-9_-]{1,31}$"},` +
		`"due":{"type":"string","format":"date"},` +
		`"steps":{"type":"array","minItems":1,"items":{"type":"object","additionalProperties":false,"required":["id","action"],"properties":{` +
		`"id":{"type":"integer","minimum":1},"action":{"type":"string"},"depends_on":{"type":"array","items":{"type":"integer"}},` +
		`"checks":{"type":"array","items":{"$ref":"#/$defs/check"}}}}}},` +
		`"$defs":{"check":{"type":"object","required":["name"],"properties":{"name":{"type":"string"},"command":{"type":"string"},"timeout_s":{"type":"number","exclusiveMinimum":0}}}}}`)
	b.WriteString(`}},"tools":[`)
	for i := range 8 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"function","function":{"name":"tool_%d","description":"Reads or edits files.","parameters":{"type":"object","required":["path"],"properties":{"path":{"type":"string","minLength":1},"offset":{"type":"integer","minimum":0},"limit":{"type":"integer","minimum":1,"maximum":2000},"mode":{"enum":["read","write","append"]}}}}}`, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkRequestSchemas compiles the schemas of schemaBody: "compile"
// without a cache (every request, as before the cache), "cached" with
// the cache a Set gives its policies.
func BenchmarkRequestSchemas(b *testing.B) {
	body := schemaBody()
	for _, tc := range []struct {
		name string
		p    *Policy
	}{{"compile", &Policy{}}, {"cached", &Policy{schemas: &schemaCache{}}}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			loop(b, func() {
				if s, err := tc.p.RequestSchemas(llm.DialectOpenAI, body); err != nil || s == nil {
					b.Fatal(err)
				}
			})
		})
	}
}
