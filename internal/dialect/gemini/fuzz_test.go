package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

// checkStream drains s and reports the first broken invariant of the
// canonical stream contract: start first, sequential blocks, deltas only
// into the open block, finish with no open block and with usage, io.EOF
// only after finish, errors as *llm.Error, and a sticky end.
func checkStream(s llm.Stream) error {
	started, finished := false, false
	open, next := -1, 0
	var kind llm.PartType
	for n := 0; ; n++ {
		if n > 1<<20 {
			return errors.New("stream does not end")
		}
		ev, err := s.Next()
		if err != nil {
			if err == io.EOF {
				if !finished {
					return errors.New("io.EOF before finish")
				}
			} else {
				var e *llm.Error
				if !errors.As(err, &e) {
					return fmt.Errorf("error is not *llm.Error: %T %v", err, err)
				}
			}
			if _, again := s.Next(); again != err {
				return fmt.Errorf("end is not sticky: %v then %v", err, again)
			}
			return nil
		}
		if finished {
			return fmt.Errorf("event %d after finish", ev.Type)
		}
		if !started && ev.Type != llm.EventStart {
			return fmt.Errorf("first event is %d, not start", ev.Type)
		}
		switch ev.Type {
		case llm.EventStart:
			if started {
				return errors.New("second start")
			}
			started = true
			if ev.ID == "" {
				return errors.New("start without ID")
			}
		case llm.EventBlockStart:
			if open >= 0 || ev.Index != next || ev.Part == nil {
				return fmt.Errorf("block %d starts (open %d, next %d)", ev.Index, open, next)
			}
			kind = ev.Part.Type
			if kind == llm.PartToolCall && (ev.Part.ToolCall == nil || ev.Part.ToolCall.ID == "") {
				return errors.New("tool block without call ID")
			}
			open, next = ev.Index, next+1
		case llm.EventDelta:
			if open < 0 || ev.Index != open {
				return fmt.Errorf("delta for block %d, open %d", ev.Index, open)
			}
			if ev.Text == "" && ev.Signature == "" {
				return errors.New("empty delta")
			}
			if kind == llm.PartToolCall && !json.Valid([]byte(ev.Text)) {
				return fmt.Errorf("tool arguments are not JSON: %q", ev.Text)
			}
		case llm.EventBlockStop:
			if open < 0 || ev.Index != open {
				return fmt.Errorf("stop for block %d, open %d", ev.Index, open)
			}
			open = -1
		case llm.EventFinish:
			if open >= 0 {
				return fmt.Errorf("finish with block %d open", open)
			}
			if ev.StopReason == "" || ev.Usage == nil {
				return errors.New("finish without stop reason or usage")
			}
			finished = true
		default:
			return fmt.Errorf("unexpected event type %d", ev.Type)
		}
	}
}

func addSeeds(f *testing.F, pattern string) {
	files, _ := filepath.Glob(pattern)
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
}

func FuzzDecodeResponse(f *testing.F) {
	addSeeds(f, "testdata/response/*.json")
	f.Add([]byte(`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":[1]}}]}}]}`))
	f.Add([]byte(`{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}`))
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
	addSeeds(f, "testdata/stream/*.sse")
	f.Add([]byte("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\",\"thought\":true},{\"text\":\"b\"}]},\"finishReason\":\"STOP\"}]}\n\n"))
	f.Add([]byte("data: {\"error\":{\"message\":\"x\"}}\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewStreamDecoder(io.NopCloser(bytes.NewReader(data)))
		if err := checkStream(s); err != nil {
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
		req := &llm.Request{Model: "gemini-2.5-flash", Messages: []llm.Message{
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
