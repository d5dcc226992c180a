package ollama

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/tidegate/tidegate/internal/dialect/dialecttest"
	"github.com/tidegate/tidegate/internal/llm"
)

func checkEventOrder(t *testing.T, raw []byte) {
	t.Helper()
	s := NewStreamDecoder(io.NopCloser(bytes.NewReader(raw)))
	defer s.Close()
	if err := dialecttest.CheckStream(s); err != nil {
		t.Error(err)
	}
}

func FuzzDecodeResponse(f *testing.F) {
	dialecttest.AddSeeds(f, "testdata/response/*.json")
	f.Add([]byte(`{"message":{"tool_calls":[{"function":{"arguments":"{\"a\":1}"}}]},"done":true}`))
	f.Add([]byte(`{"error":{"message":"x"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := DecodeResponse(body)
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) || e.Kind != llm.KindUpstream {
				t.Fatalf("error %T %v, want KindUpstream *llm.Error", err, err)
			}
			return
		}
		if resp == nil || resp.ID == "" || resp.StopReason == "" {
			t.Fatalf("incomplete response %+v", resp)
		}
		for _, p := range resp.Content {
			switch p.Type {
			case llm.PartText, llm.PartThinking:
				if p.Text == "" {
					t.Fatal("empty text part")
				}
			case llm.PartToolCall:
				if p.ToolCall.ID == "" {
					t.Fatal("tool call without ID")
				}
				var obj map[string]any
				if err := json.Unmarshal([]byte(p.ToolCall.Arguments), &obj); err != nil {
					t.Fatalf("arguments %q are not a JSON object: %v", p.ToolCall.Arguments, err)
				}
			default:
				t.Fatalf("unexpected part %s", p.Type)
			}
		}
	})
}

func FuzzStreamDecoder(f *testing.F) {
	dialecttest.AddSeeds(f, "testdata/stream/*.ndjson")
	f.Add([]byte("{\"message\":{\"content\":\"a\"}}\n{\"done\":true}"))
	f.Add([]byte("\n\n{\"error\":\"boom\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewStreamDecoder(io.NopCloser(bytes.NewReader(data)))
		if err := dialecttest.CheckStream(s); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
}
