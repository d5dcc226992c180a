package openai

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

// The decoder reads each chunk's keys in one pass; a repeated key still
// counts by its first occurrence, as a lookup by key would.
func TestStreamDecodeFirstOfRepeatedKeys(t *testing.T) {
	in := `data: {"id":"c1","model":"m","error":null,"error":{"message":"late"},"choices":[{"index":1,"delta":{"content":"other"}},{"index":0,"index":1,"delta":{"content":"Hi"},"finish_reason":"stop"}]}` + "\n\n" +
		`data: {"id":"c1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}` + "\n\n" +
		"data: [DONE]\n\n"
	evs, err := drain(t, NewStreamDecoder(io.NopCloser(bytes.NewReader([]byte(in))), false))
	if err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
	var text string
	var finish, usage *llm.Event
	for i, ev := range evs {
		switch ev.Type {
		case llm.EventDelta:
			text += ev.Text
		case llm.EventFinish:
			finish = &evs[i]
		case llm.EventUsage:
			usage = &evs[i]
		}
	}
	if text != "Hi" || finish == nil || finish.StopReason != llm.StopEndTurn {
		t.Fatalf("text %q finish %+v", text, finish)
	}
	if usage == nil || usage.Usage.InputTokens != 3 || usage.Usage.OutputTokens != 1 {
		t.Fatalf("usage %+v", usage)
	}
}

func TestStreamDecodeErrorChunk(t *testing.T) {
	in := `data: {"choices":[{"index":0,"delta":{"content":"Hi"}}],"error":{"message":"overloaded","type":"server_error"}}` + "\n\n"
	_, err := drain(t, NewStreamDecoder(io.NopCloser(bytes.NewReader([]byte(in))), false))
	var e *llm.Error
	if !errors.As(err, &e) || e.Message != "overloaded" {
		t.Fatalf("want the upstream's error, got %v", err)
	}
}
