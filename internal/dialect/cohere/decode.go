package cohere

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"

	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/sse"
)

// DecodeResponse decodes a whole v2 Chat answer.
func DecodeResponse(body []byte) (*llm.Response, error) {
	var r response
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, &llm.Error{Kind: llm.KindUpstream, Message: "upstream sent an invalid Cohere response", Err: err}
	}
	if r.FinishReason == "ERROR" || r.FinishReason == "TIMEOUT" {
		return nil, &llm.Error{Kind: llm.KindUpstream, Message: "Cohere ended the generation with " + r.FinishReason}
	}
	out := &llm.Response{ID: r.ID, StopReason: stopReason(r.FinishReason), Usage: r.Usage.canonical()}
	if out.ID == "" {
		out.ID = messageID()
	}
	for _, p := range r.Message.Content {
		switch {
		case p.Type == "thinking" && p.Thinking != "":
			out.Content = append(out.Content, llm.Part{Type: llm.PartThinking, Text: p.Thinking})
		case p.Type == "text" && p.Text != "":
			out.Content = append(out.Content, llm.TextPart(p.Text))
		}
	}
	for i, tc := range r.Message.ToolCalls {
		id := tc.ID
		if id == "" {
			id = "call_" + messageID()[7:] + "_" + string(rune('a'+i%26))
		}
		out.Content = append(out.Content, llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: id, Name: tc.Function.Name, Arguments: objectArgs(tc.Function.Arguments)}})
	}
	if len(r.Message.ToolCalls) > 0 && out.StopReason == llm.StopEndTurn {
		out.StopReason = llm.StopToolUse
	}
	return out, nil
}

func objectArgs(s string) string {
	t := bytes.TrimSpace([]byte(s))
	if len(t) == 0 || t[0] != '{' || !json.Valid(t) {
		return "{}"
	}
	return string(t)
}

func messageID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "cohere-" + hex.EncodeToString(b[:])
}

// NewStreamDecoder decodes a v2 Chat stream. Text and thinking deltas
// stream live; tool-call arguments stream into their block (Cohere sends
// calls one after another). message-end carries the finish and usage and
// ends the stream. Close closes body.
func NewStreamDecoder(body io.ReadCloser) llm.Stream {
	return &streamDecoder{body: body, r: sse.NewReader(body)}
}

type streamDecoder struct {
	body io.ReadCloser
	r    *sse.Reader

	llm.Queue // events, and Err: io.EOF or *llm.Error once the stream ended

	started bool
	open    llm.PartType // kind of the open block, "" when none
	args    []byte       // the open tool block's arguments so far, checked when it closes
	next    int
	calls   bool
}

func (d *streamDecoder) Next() (llm.Event, error) { return d.Queue.Next(d.step) }

func (d *streamDecoder) Close() error { return d.Queue.Close(d.body) }

type streamEvent struct {
	Type  string `json:"type"`
	ID    string `json:"id"`
	Delta *struct {
		Message      *streamMessage `json:"message"`
		FinishReason string         `json:"finish_reason"`
		Usage        *usage         `json:"usage"`
		Error        string         `json:"error"`
	} `json:"delta"`
	Message string `json:"message"`
}

// streamMessage is an event's delta.message. Its fields are arrays in
// message-start and objects in the content and tool-call events, so they
// are decoded by the event that reads them.
type streamMessage struct {
	Content   json.RawMessage `json:"content"`
	ToolCalls json.RawMessage `json:"tool_calls"`
}

type streamContent struct {
	Type     string  `json:"type"`
	Text     *string `json:"text"`
	Thinking *string `json:"thinking"`
}

type streamToolCall struct {
	ID       string `json:"id"`
	Function *struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// content decodes delta.message.content of a content event; nil if absent.
func (m *streamMessage) content() *streamContent {
	var c streamContent
	if m == nil || json.Unmarshal(m.Content, &c) != nil {
		return nil
	}
	return &c
}

// toolCall decodes delta.message.tool_calls of a tool-call event.
func (m *streamMessage) toolCall() *streamToolCall {
	var tc streamToolCall
	if m == nil || json.Unmarshal(m.ToolCalls, &tc) != nil {
		return nil
	}
	return &tc
}

func (d *streamDecoder) step() {
	f, err := d.r.Next()
	if err != nil {
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			d.Err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream stream ended before completion"}
		default:
			d.Err = &llm.Error{Kind: llm.KindUpstream, Message: "reading the upstream stream failed", Err: err}
		}
		return
	}
	data := bytes.TrimSpace(f.Data)
	if len(data) == 0 || string(data) == "[DONE]" {
		return
	}
	var ev streamEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		d.Err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream sent an invalid stream event", Err: err}
		return
	}
	if ev.Type == "" {
		ev.Type = f.Event
	}
	if !d.started {
		d.started = true
		id := ev.ID
		if id == "" {
			id = messageID()
		}
		d.Push(llm.Event{Type: llm.EventStart, ID: id})
	}
	var msg *streamMessage
	if ev.Delta != nil {
		msg = ev.Delta.Message
	}
	switch ev.Type {
	case "content-start", "content-delta":
		c := msg.content()
		if c == nil {
			return
		}
		kind, s := llm.PartText, ""
		if c.Thinking != nil || c.Type == "thinking" {
			kind = llm.PartThinking
			if c.Thinking != nil {
				s = *c.Thinking
			}
		} else if c.Text != nil {
			s = *c.Text
		}
		if d.open != kind {
			if !d.closeBlock() {
				return
			}
			d.Push(llm.Event{Type: llm.EventBlockStart, Index: d.next, Part: &llm.Part{Type: kind}})
			d.open = kind
		}
		if s != "" {
			d.Push(llm.Event{Type: llm.EventDelta, Index: d.next, Text: s})
		}
	case "content-end", "tool-call-end":
		d.closeBlock()
	case "tool-call-start":
		if !d.closeBlock() {
			return
		}
		tc := &llm.ToolCall{}
		args := ""
		if call := msg.toolCall(); call != nil {
			tc.ID = call.ID
			if fn := call.Function; fn != nil {
				tc.Name, args = fn.Name, fn.Arguments
			}
		}
		if tc.ID == "" {
			tc.ID = "call_" + messageID()[7:]
		}
		d.calls = true
		d.Push(llm.Event{Type: llm.EventBlockStart, Index: d.next, Part: &llm.Part{Type: llm.PartToolCall, ToolCall: tc}})
		d.open, d.args = llm.PartToolCall, d.args[:0]
		d.toolArgs(args)
	case "tool-call-delta":
		if d.open != llm.PartToolCall {
			d.Err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream sent tool arguments outside a tool call"}
			return
		}
		if call := msg.toolCall(); call != nil && call.Function != nil {
			d.toolArgs(call.Function.Arguments)
		}
	case "message-end":
		if !d.closeBlock() {
			return
		}
		var finish string
		var u *usage
		if ev.Delta != nil {
			finish, u = ev.Delta.FinishReason, ev.Delta.Usage
			if finish == "ERROR" || finish == "TIMEOUT" {
				msg := "Cohere ended the generation with " + finish
				if ev.Delta.Error != "" {
					msg += ": " + ev.Delta.Error
				}
				d.Err = &llm.Error{Kind: llm.KindUpstream, Message: msg}
				return
			}
		}
		reason := stopReason(finish)
		if d.calls && reason == llm.StopEndTurn {
			reason = llm.StopToolUse
		}
		cu := u.canonical()
		d.Push(llm.Event{Type: llm.EventFinish, StopReason: reason, Usage: &cu})
		d.Err = io.EOF
	default:
		if ev.Message != "" && ev.Type == "" {
			d.Err = &llm.Error{Kind: llm.KindUpstream, Message: ev.Message}
		}
	}
}

func (d *streamDecoder) toolArgs(s string) {
	if s == "" {
		return
	}
	d.args = append(d.args, s...)
	d.Push(llm.Event{Type: llm.EventDelta, Index: d.next, Text: s})
}

// closeBlock ends the open block. A tool call whose streamed arguments
// are not JSON ends the stream with an error instead: the caller would
// otherwise get a call it cannot parse. It reports whether the stream
// goes on.
func (d *streamDecoder) closeBlock() bool {
	if d.open == "" {
		return true
	}
	if d.open == llm.PartToolCall {
		switch {
		case len(d.args) == 0:
			d.Push(llm.Event{Type: llm.EventDelta, Index: d.next, Text: "{}"})
		case !json.Valid(d.args):
			d.Err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream sent tool call arguments that are not JSON"}
			return false
		}
	}
	d.Push(llm.Event{Type: llm.EventBlockStop, Index: d.next})
	d.open = ""
	d.next++
	return true
}
