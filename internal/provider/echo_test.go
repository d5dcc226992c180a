package provider

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

func userMsg(text string) llm.Message {
	return llm.Message{Role: llm.RoleUser, Content: []llm.Part{llm.TextPart(text)}}
}

func TestEchoAnswers(t *testing.T) {
	e := NewEcho("echo")
	cases := []struct {
		name     string
		req      llm.Request
		text     string
		stop     llm.StopReason
		toolArgs string
	}{
		{"echo", llm.Request{Messages: []llm.Message{userMsg("hello big world")}}, "hello big world", llm.StopEndTurn, ""},
		{"max tokens", llm.Request{MaxTokens: 2, Messages: []llm.Message{userMsg("one two three")}}, "one two", llm.StopMaxTokens, ""},
		{"stop sequence", llm.Request{Stop: []string{" three"}, Messages: []llm.Message{userMsg("one two three")}}, "one two", llm.StopSequence, ""},
		{"tool call with text", llm.Request{Tools: []llm.Tool{{Name: "lookup"}}, Messages: []llm.Message{userMsg("find me")}}, "", llm.StopToolUse, `{"input":"find me"}`},
		{"tool call with json", llm.Request{Tools: []llm.Tool{{Name: "a"}, {Name: "b"}}, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: "b"}, Messages: []llm.Message{userMsg(`{"q":1}`)}}, "", llm.StopToolUse, `{"q":1}`},
		{"tool choice none", llm.Request{Tools: []llm.Tool{{Name: "a"}}, ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceNone}, Messages: []llm.Message{userMsg("hi")}}, "hi", llm.StopEndTurn, ""},
		{"tool result", llm.Request{Tools: []llm.Tool{{Name: "a"}}, Messages: []llm.Message{{Role: llm.RoleTool, Content: []llm.Part{{Type: llm.PartToolResult, ToolResult: &llm.ToolResult{CallID: "c1", Content: []llm.Part{llm.TextPart("42")}}}}}}}, "tool result: 42", llm.StopEndTurn, ""},
		{"completion", llm.Request{Op: llm.OpCompletion, Prompt: "say this"}, "say this", llm.StopEndTurn, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := e.Chat(context.Background(), &c.req)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := s.Next()
			if err != nil || ev.Type != llm.EventResponse {
				t.Fatalf("%v %v", ev.Type, err)
			}
			r := ev.Response
			if r.StopReason != c.stop {
				t.Errorf("stop %q, want %q", r.StopReason, c.stop)
			}
			if c.toolArgs != "" {
				if len(r.Content) != 1 || r.Content[0].ToolCall == nil || r.Content[0].ToolCall.Arguments != c.toolArgs {
					t.Fatalf("tool call: %+v", r.Content)
				}
				return
			}
			if r.Text() != c.text {
				t.Errorf("text %q, want %q", r.Text(), c.text)
			}
			if _, err := s.Next(); !errors.Is(err, io.EOF) {
				t.Errorf("want EOF after the response, got %v", err)
			}
		})
	}
}

func TestEchoStreamsWordByWord(t *testing.T) {
	req := &llm.Request{Stream: true, Reasoning: &llm.Reasoning{Enabled: true}, Messages: []llm.Message{userMsg("a b c")}}
	s, err := NewEcho("echo").Chat(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var types []llm.EventType
	var text string
	var usage *llm.Usage
	for {
		ev, err := s.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, ev.Type)
		if ev.Type == llm.EventDelta && ev.Index == 1 {
			text += ev.Text
		}
		if ev.Type == llm.EventFinish {
			usage = ev.Usage
		}
	}
	if text != "a b c" {
		t.Errorf("text %q", text)
	}
	// start, thinking (start, text, signature, stop), text (start, 3 deltas, stop), finish
	if len(types) != 1+4+5+1 || types[0] != llm.EventStart || types[len(types)-1] != llm.EventFinish {
		t.Errorf("event types %v", types)
	}
	if usage == nil || usage.InputTokens != 3 || usage.OutputTokens != 3 {
		t.Errorf("usage %+v", usage)
	}
}

func TestEchoEmbeddings(t *testing.T) {
	r, err := NewEcho("echo").Embed(context.Background(), &llm.EmbedRequest{Input: []string{"x", "y", "x"}, Dimensions: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Embeddings) != 3 || len(r.Embeddings[0]) != 4 {
		t.Fatalf("shape %d", len(r.Embeddings))
	}
	for i := range r.Embeddings[0] {
		if r.Embeddings[0][i] != r.Embeddings[2][i] {
			t.Fatal("same input must give the same vector")
		}
	}
	if _, err := NewEcho("echo").Embed(context.Background(), &llm.EmbedRequest{}); err == nil {
		t.Fatal("empty input must fail")
	}
}
