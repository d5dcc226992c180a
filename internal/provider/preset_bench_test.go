package provider

import (
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
	for _, typ := range []string{config.TypeMistral, config.TypeGroq, config.TypeXAI, config.TypeOpenRouter, config.TypeTogether} {
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
