package app_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/cputime"
	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// agentBody is a coding agent's chat request in the OpenAI dialect: a
// long system prompt, 10 tools and 40 turns of tool calls with file-sized
// results, about 150 KB.
func agentBody(model string) string {
	var b strings.Builder
	para := strings.Repeat("The service reads the order from the queue, checks the customer's credit and writes an audit record. ", 12)
	fmt.Fprintf(&b, `{"model":%q,"max_tokens":1024,"messages":[{"role":"system","content":%q}`, model, strings.Repeat("You are a careful coding agent. ", 200))
	for i := range 40 {
		fmt.Fprintf(&b, `,{"role":"user","content":%q}`, fmt.Sprintf("turn %d: %s", i, para))
		fmt.Fprintf(&b, `,{"role":"assistant","content":null,"tool_calls":[{"id":"call_%d","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"src/f%d.go\"}"}}]}`, i, i)
		fmt.Fprintf(&b, `,{"role":"tool","tool_call_id":"call_%d","content":%q}`, i, strings.Repeat("func f() { return }\n", 100))
	}
	b.WriteString(`],"tools":[`)
	for i := range 10 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"function","function":{"name":"tool_%d","description":%q,"parameters":{"type":"object","properties":{"path":{"type":"string"}}}}}`, i, para)
	}
	b.WriteString(`]}`)
	return b.String()
}

func BenchmarkLargeRequest(b *testing.B) {
	oai := testupstream.New("openai")
	defer oai.Close()
	ant := testupstream.New("anthropic")
	defer ant.Close()
	yaml := "providers:\n  up: {type: openai, base_url: " + oai.URL + "/v1, api_key: bench}\n  an: {type: anthropic, base_url: " + ant.URL + ", api_key: bench}\nmodels:\n  m: {provider: up, model: gpt-mock}\n  c: {provider: an, model: claude-mock}\n"
	h := testgateway.App(b, yaml, nil).Handler()
	for _, model := range []string{"m", "c"} {
		body := agentBody(model)
		b.Run(model, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpu0 := cputime.Process()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body)))
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
			cputime.Report(b, cpu0)
		})
	}
}
