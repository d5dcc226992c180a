package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

func addTestdataSeeds(f *testing.F, pattern string) {
	files, _ := filepath.Glob(filepath.Join("testdata", pattern))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
}

func FuzzDecodeChatRequest(f *testing.F) {
	addTestdataSeeds(f, "chat_*.json")
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:;base64,"}}]}]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":{"a":1}}}]}],"parallel_tool_calls":false}`))
	f.Add([]byte(`{"model":"\ud800","messages":[{"role":"tool","tool_call_id":"x","content":null}],"stop":["\u0000"]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeChatRequest(body)
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) || e.Kind != llm.KindInvalidRequest || e.Message == "" {
				t.Fatalf("bad error %T %v", err, err)
			}
			return
		}
		for _, info := range []llm.ModelInfo{{}, {Reasoning: true, MaxOutput: 1000}} {
			out, err := EncodeChatRequest(req, info)
			if err != nil {
				continue
			}
			if !json.Valid(out) {
				t.Fatalf("EncodeChatRequest produced invalid JSON:\n%s", out)
			}
			// What we send decodes again (OpenAI → OpenAI is stable).
			if _, err := DecodeChatRequest(out); err != nil {
				t.Fatalf("re-decode of %s: %v", out, err)
			}
		}
		if out, err := EncodeCompletionRequest(req, llm.ModelInfo{}); err == nil && !json.Valid(out) {
			t.Fatalf("EncodeCompletionRequest produced invalid JSON:\n%s", out)
		}
		if out, err := RewriteRequest(body, "other-model", true); err == nil && !json.Valid(out) {
			t.Fatalf("RewriteRequest produced invalid JSON:\n%s", out)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	addTestdataSeeds(f, "resp_*.json")
	addTestdataSeeds(f, "embed_resp_*.json")
	f.Add([]byte(`{"choices":[{"message":{"content":[{"type":"text","text":"x"}],"tool_calls":[{"function":{"arguments":{}}}]},"finish_reason":"function_call"}]}`))
	f.Add([]byte(`{"error":{"message":"x","code":500}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if resp, err := DecodeResponse(body); err == nil {
			if out := EncodeResponse(resp); !json.Valid(out) {
				t.Fatalf("EncodeResponse produced invalid JSON:\n%s", out)
			}
			enc := NewStreamEncoder(&llm.Request{IncludeUsage: true})
			out := enc.Encode(nil, llm.Event{Type: llm.EventResponse, Response: resp})
			checkFramesFuzz(t, enc.Finish(out))
		} else if _, ok := err.(*llm.Error); !ok {
			t.Fatalf("error %T", err)
		}
		if resp, err := DecodeEmbedResponse(body); err == nil {
			resp.Raw = nil
			for _, format := range []string{"float", "base64"} {
				if out := EncodeEmbedResponse(resp, format); !json.Valid(out) {
					t.Fatalf("EncodeEmbedResponse produced invalid JSON:\n%s", out)
				}
			}
		}
		_ = DecodeError(400, body)
	})
}

func FuzzStreamDecoder(f *testing.F) {
	addTestdataSeeds(f, "*.sse")
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":3,\"function\":{\"arguments\":\"{\"}}]}}]}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("event: error\ndata: {}\n\n"))
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"a\",\"content\":\"b\"},\"finish_reason\":\"length\"}],\"usage\":{}}\r\n\r\ndata: [DONE]\r\n\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, raw := range []bool{false, true} {
			s := NewStreamDecoder(io.NopCloser(bytes.NewReader(body)), raw)
			translated := NewStreamEncoder(&llm.Request{IncludeUsage: true})
			var out []byte
			open := -1
			for i := 0; ; i++ {
				if i > 4*len(body)+16 {
					t.Fatal("stream does not end")
				}
				ev, err := s.Next()
				if err == io.EOF {
					out = translated.Finish(out)
					break
				}
				if err != nil {
					if _, ok := err.(*llm.Error); !ok {
						t.Fatalf("error %T %v", err, err)
					}
					out = translated.Error(out, err.(*llm.Error))
					break
				}
				// Blocks are sequential.
				switch ev.Type {
				case llm.EventBlockStart:
					if open != -1 {
						t.Fatalf("block %d starts while %d is open", ev.Index, open)
					}
					open = ev.Index
				case llm.EventDelta:
					if ev.Index != open {
						t.Fatalf("delta for %d while %d is open", ev.Index, open)
					}
				case llm.EventBlockStop:
					if ev.Index != open {
						t.Fatalf("stop %d while %d is open", ev.Index, open)
					}
					open = -1
				}
				ev.Raw, ev.RawDialect = nil, ""
				out = translated.Encode(out, ev)
			}
			_ = s.Close()
			checkFramesFuzz(t, out)
		}
	})
}

// checkFramesFuzz asserts every frame we wrote is data: + one-line JSON.
func checkFramesFuzz(t *testing.T, out []byte) {
	t.Helper()
	for _, f := range strings.Split(strings.TrimSuffix(string(out), "\n\n"), "\n\n") {
		data, ok := strings.CutPrefix(f, "data: ")
		if !ok || strings.Contains(data, "\n") || (data != "[DONE]" && !json.Valid([]byte(data))) {
			t.Fatalf("bad frame %q in\n%s", f, out)
		}
	}
}
