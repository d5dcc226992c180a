package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/config"
)

// BenchmarkPresetRewrite measures what a preset's body rewrite costs on a
// typical passthrough request (a 20-turn conversation, ~6 KB).
func BenchmarkPresetRewrite(b *testing.B) {
	var msgs []string
	for i := range 10 {
		msgs = append(msgs, `{"role":"user","name":"ann","content":"Question number `+strings.Repeat("x", 200)+`"}`,
			`{"role":"assistant","content":"Answer `+strings.Repeat("y", 250)+`","tool_calls":[{"id":"call_`+strings.Repeat("z", 20)+string(rune('a'+i))+`","type":"function","function":{"name":"f","arguments":"{}"}}]}`)
	}
	body := []byte(`{"model":"m","stream":true,"stream_options":{"include_usage":true},"max_completion_tokens":500,"messages":[` + strings.Join(msgs, ",") + `]}`)
	benchRewrite(b, body, config.TypeMistral, config.TypeGroq, config.TypeXAI, config.TypeOpenRouter, config.TypeTogether)
}

// BenchmarkPresetRewriteLarge is the same on an agent's request of about
// 200 KB: tool definitions and 60 turns of tool calls whose results are
// file contents.
func BenchmarkPresetRewriteLarge(b *testing.B) {
	body := agentBody(true)
	benchRewrite(b, body, config.TypeMistral, config.TypeGroq, config.TypeXAI, config.TypeOpenRouter)
	benchRewrite(b, agentBody(false), config.TypePerplexity)
}

func benchRewrite(b *testing.B, body []byte, types ...string) {
	for _, typ := range types {
		q := presetQuirks(typ)
		b.Run(typ, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := q.rewrite(body, "grok-4", nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// agentBody is a coding agent's Chat Completions request of about 200 KB:
// a system prompt, eight tools (when withTools) and 60 turns in which the
// assistant calls a tool and the tool answers with a file's contents.
func agentBody(withTools bool) []byte {
	var b strings.Builder
	b.WriteString(`{"model":"m","stream":true,"stream_options":{"include_usage":true},"max_completion_tokens":4096,"temperature":0.2,"user":"u-42","reasoning_effort":"high","presence_penalty":0.1,`)
	if withTools {
		b.WriteString(`"tools":[`)
		for i := range 8 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"type":"function","function":{"name":"tool_%d","description":"%s","parameters":{"type":"object","properties":{"path":{"type":"string","description":"A path in the repository."},"limit":{"type":"integer"}},"required":["path"]}}}`, i, strings.Repeat("Reads or edits files. ", 12))
		}
		b.WriteString(`],"tool_choice":"auto",`)
	}
	b.WriteString(`"messages":[{"role":"system","content":"` + strings.Repeat("You are a careful coding agent. ", 60) + `"}`)
	line := `func handle(w http.ResponseWriter, r *http.Request) {\n\tif err := serve(w, r); err != nil {\n\t\tlog.Printf(\"serve: %v\", err)\n\t}\n}\n`
	for i := range 60 {
		fmt.Fprintf(&b, `,{"role":"user","name":"dev","content":"Step %d: look at file %d and fix what is wrong."}`, i, i)
		fmt.Fprintf(&b, `,{"role":"assistant","content":null,"tool_calls":[{"id":"call_%024d","type":"function","function":{"name":"tool_%d","arguments":"{\"path\":\"internal/pkg%d/file.go\"}"}}]}`, i, i%8, i)
		fmt.Fprintf(&b, `,{"role":"tool","tool_call_id":"call_%024d","content":"%s"}`, i, strings.Repeat(line, 24))
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}
