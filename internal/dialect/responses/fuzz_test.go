package responses

import (
	"encoding/json"
	"errors"
	"github.com/tidegate/tidegate/internal/dialect/oaierr"
	"strings"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/dialect/anthropic"
	"github.com/tidegate/tidegate/internal/dialect/openai"
	"github.com/tidegate/tidegate/internal/llm"
)

var testTime = time.Unix(1700000000, 0)

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"model":"m","input":"hi"}`))
	f.Add([]byte(`{"model":"m","input":[{"type":"reasoning","summary":[{"text":"x"}],"encrypted_content":"tg-redacted:abc"},{"role":"assistant","content":[]}]}`))
	f.Add([]byte(`{"model":"m","input":[{"type":"function_call","call_id":"c","name":"n","namespace":"ns","arguments":""},{"type":"function_call_output","call_id":"c","output":[{"type":"input_image","image_url":"data:image/png;base64,AA=="}]}],"tools":[{"type":"namespace","name":"ns","tools":[{"type":"function","name":"n"}]}]}`))
	f.Add([]byte(`{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"f"}]}],"tool_choice":{"type":"function","name":"x","namespace":"y"},"text":{"format":{"type":"json_schema","schema":{}}}}`))
	f.Add([]byte(`{"model":"\ud800","input":[{"type":"custom_tool_call","call_id":"c","name":"p","input":"\u0000"}],"max_output_tokens":1e3}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeRequest(body)
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) || e.Kind != llm.KindInvalidRequest || e.Message == "" || strings.Contains(e.Message, oaierr.Mark) {
				t.Fatalf("bad error %T %v", err, err)
			}
			return
		}
		// Every translation of a decoded request is valid JSON.
		if out, err := openai.EncodeChatRequest(req, llm.ModelInfo{Reasoning: true}); err == nil && !json.Valid(out) {
			t.Fatalf("openai encode: invalid JSON %s", out)
		}
		if out, err := anthropic.EncodeMessagesRequest(req, llm.ModelInfo{Reasoning: true, MaxOutput: 1000}); err == nil && !json.Valid(out) {
			t.Fatalf("anthropic encode: invalid JSON %s", out)
		}
		// And the encoders, fed the request's tools, produce valid JSON.
		m := newMeta(req, testTime)
		resp := &llm.Response{Model: "m", Content: []llm.Part{llm.TextPart("x")}}
		for _, tool := range req.Tools {
			resp.Content = append(resp.Content, llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "c", Name: tool.Name, Arguments: `{"input":"y"}`}})
		}
		if out := m.encode(resp); !json.Valid(out) {
			t.Fatalf("EncodeResponse: invalid JSON %s", out)
		}
		e := NewStreamEncoder(req)
		out := e.Encode(nil, llm.Event{Type: llm.EventResponse, Response: resp})
		out = e.Finish(out)
		for _, frame := range strings.Split(strings.TrimSuffix(string(out), "\n\n"), "\n\n") {
			_, data, _ := strings.Cut(frame, "\ndata: ")
			if !json.Valid([]byte(data)) {
				t.Fatalf("stream frame: invalid JSON %q", frame)
			}
		}
	})
}
