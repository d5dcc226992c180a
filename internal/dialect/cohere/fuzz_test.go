package cohere

import (
	"bytes"
	"encoding/json"
	"errors"
	"github.com/tidegate/tidegate/internal/dialect/dialecttest"
	"io"
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

func FuzzDecodeResponse(f *testing.F) {
	dialecttest.AddSeeds(f, "testdata/response/*.json")
	f.Add([]byte(`{"message":{"tool_calls":[{"function":{"name":"f","arguments":"[1]"}}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := DecodeResponse(body)
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v, want *llm.Error", err, err)
			}
			return
		}
		if resp.ID == "" || resp.StopReason == "" {
			t.Fatalf("incomplete response %+v", resp)
		}
		for _, p := range resp.Content {
			switch p.Type {
			case llm.PartText:
				if p.Text == "" {
					t.Fatal("empty text part")
				}
			case llm.PartThinking:
				if p.Text == "" && p.Signature == "" {
					t.Fatal("empty thinking part")
				}
			case llm.PartToolCall:
				var obj map[string]any
				if p.ToolCall.ID == "" || json.Unmarshal([]byte(p.ToolCall.Arguments), &obj) != nil {
					t.Fatalf("bad tool call %+v", p.ToolCall)
				}
			default:
				t.Fatalf("unexpected part %s", p.Type)
			}
		}
	})
}

func FuzzStreamDecoder(f *testing.F) {
	dialecttest.AddSeeds(f, "testdata/stream/*.sse")
	f.Add([]byte("data: {\"type\":\"tool-call-delta\"}\n\ndata: {\"type\":\"message-end\"}\n\n"))
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

func FuzzEncodeRequest(f *testing.F) {
	f.Add("hello", `{"a":1}`, `{"type":"object"}`)
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, text, args, params string) {
		req := &llm.Request{Model: "command-a-03-2025", Messages: []llm.Message{
			{Role: llm.RoleUser, Content: []llm.Part{llm.TextPart(text)}},
			{Role: llm.RoleAssistant, Content: []llm.Part{{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "1", Name: "f", Arguments: args}}}},
			{Role: llm.RoleTool, Content: []llm.Part{{Type: llm.PartToolResult, ToolResult: &llm.ToolResult{CallID: "1", Content: []llm.Part{llm.TextPart(text)}}}}},
		}, Tools: []llm.Tool{{Name: "f", Parameters: json.RawMessage(params)}}}
		body, err := EncodeRequest(req, llm.ModelInfo{})
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) || e.Kind != llm.KindInvalidRequest {
				t.Fatalf("error %v, want KindInvalidRequest", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("invalid JSON: %s", body)
		}
	})
}
