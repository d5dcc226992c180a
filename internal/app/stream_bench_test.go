package app_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/cputime"
	"github.com/tidegate/tidegate/internal/testgateway"
)

// BenchmarkStreamRelay is the in-process counterpart of the load
// benchmark's stream scenario e: one streamed chat completion of about 70
// events, same dialect, with usage asked for. The upstream writes
// prebuilt frames (one flush each). "direct" reads the same stream from
// the upstream with a plain client: gateway minus direct is the gateway's
// own CPU per stream.
func BenchmarkStreamRelay(b *testing.B) {
	frames := openAIFrames(68)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		f := w.(http.Flusher)
		for _, frame := range frames {
			_, _ = w.Write(frame)
			f.Flush()
		}
	}))
	defer up.Close()
	yaml := "providers:\n  up: {type: openai, base_url: " + up.URL + "/v1, api_key: bench}\nmodels:\n  m: {provider: up, model: gpt-mock}\n"
	h := testgateway.App(b, yaml, nil).Handler()
	body := `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello there"}]}`
	want := len(frames)
	run := func(b *testing.B, one func() (int, string)) {
		b.ReportAllocs()
		b.ResetTimer()
		cpu0 := cputime.Process()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if code, got := one(); code != http.StatusOK || strings.Count(got, "data: ") != want {
					b.Fatalf("status %d: %s", code, got)
				}
			}
		})
		cputime.Report(b, cpu0)
	}
	b.Run("direct", func(b *testing.B) {
		run(b, func() (int, string) {
			resp, err := http.Post(up.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
			if err != nil {
				return 0, err.Error()
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(got)
		})
	})
	b.Run("gateway", func(b *testing.B) {
		run(b, func() (int, string) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body)))
			return rec.Code, rec.Body.String()
		})
	})
}

// openAIFrames is a Chat Completions stream as OpenAI sends it: a role
// chunk, n one-word content chunks, the finish, a usage chunk and [DONE].
func openAIFrames(n int) [][]byte {
	head := `{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_eb9dce56a8","choices":[`
	chunk := func(choice, usage string) []byte {
		return []byte("data: " + head + choice + `],"usage":` + usage + "}\n\n")
	}
	out := [][]byte{chunk(`{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}`, "null")}
	for i := range n {
		out = append(out, chunk(fmt.Sprintf(`{"index":0,"delta":{"content":" word%d"},"logprobs":null,"finish_reason":null}`, i), "null"))
	}
	out = append(out, chunk(`{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}`, "null"))
	out = append(out, []byte("data: "+head+`],"usage":{"prompt_tokens":11,"completion_tokens":68,"total_tokens":79,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}`+"\n\n"))
	return append(out, []byte("data: [DONE]\n\n"))
}
