package bedrock

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/tidegate/tidegate/internal/llm"
)

// NewStreamDecoder decodes a ConverseStream body: binary event-stream
// messages whose :event-type header names the event (messageStart,
// contentBlockStart, contentBlockDelta, contentBlockStop, messageStop,
// metadata) and whose payload is JSON. Text and reasoning stream live; a
// text block has no start event, so its first delta opens it. The finish
// is emitted with the usage of the metadata event, the last one. An
// exception message becomes an *llm.Error. Close closes body.
func NewStreamDecoder(body io.ReadCloser) llm.Stream {
	return &streamDecoder{body: body, r: bufio.NewReaderSize(body, 32<<10), dec: eventstream.NewDecoder(), open: -1}
}

type streamDecoder struct {
	body io.ReadCloser
	r    *bufio.Reader
	dec  *eventstream.Decoder

	llm.Queue // events, and Err: io.EOF or *llm.Error once the stream ended

	started  bool
	open     int          // Bedrock index of the open block, -1 when none
	kind     llm.PartType // its kind
	next     int          // canonical index of the next block
	args     bool         // the open tool block got input
	stop     string       // stopReason, once messageStop came
	finished bool
}

func (d *streamDecoder) Next() (llm.Event, error) { return d.Queue.Next(d.step) }

func (d *streamDecoder) Close() error { return d.Queue.Close(d.body) }

func (d *streamDecoder) step() {
	msg, err := d.dec.Decode(d.r, nil)
	if err != nil {
		switch {
		case errors.Is(err, io.EOF) && d.stop != "":
			d.finish(nil)
			d.Err = io.EOF
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			d.Err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream stream ended before completion"}
		default:
			d.Err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream sent an invalid event-stream message", Err: err}
		}
		return
	}
	header := func(name string) string {
		if v := msg.Headers.Get(name); v != nil {
			return v.String()
		}
		return ""
	}
	switch header(":message-type") {
	case "exception":
		d.Err = exceptionError(header(":exception-type"), msg.Payload)
		return
	case "error":
		d.Err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream stream failed: " + header(":error-message"), UpstreamType: header(":error-code")}
		return
	}
	if !d.started {
		d.started = true
		d.Push(llm.Event{Type: llm.EventStart, ID: messageID()})
	}
	if d.finished {
		return
	}
	var p struct {
		ContentBlockIndex int `json:"contentBlockIndex"`
		Start             *struct {
			ToolUse *toolUse `json:"toolUse"`
		} `json:"start"`
		Delta *struct {
			Text    *string `json:"text"`
			ToolUse *struct {
				Input string `json:"input"`
			} `json:"toolUse"`
			ReasoningContent *struct {
				Text            string `json:"text"`
				Signature       string `json:"signature"`
				RedactedContent string `json:"redactedContent"`
			} `json:"reasoningContent"`
		} `json:"delta"`
		StopReason string `json:"stopReason"`
		Usage      *usage `json:"usage"`
	}
	if len(msg.Payload) > 0 {
		if err := json.Unmarshal(msg.Payload, &p); err != nil {
			d.Err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream sent an invalid stream event", Err: err}
			return
		}
	}
	switch header(":event-type") {
	case "contentBlockStart":
		if p.Start != nil && p.Start.ToolUse != nil {
			tu := p.Start.ToolUse
			id := tu.ToolUseID
			if id == "" {
				id = "tooluse_" + messageID()[8:]
			}
			d.openBlock(p.ContentBlockIndex, llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: id, Name: tu.Name}})
		}
	case "contentBlockDelta":
		if p.Delta == nil {
			return
		}
		i := p.ContentBlockIndex
		switch {
		case p.Delta.Text != nil:
			d.ensure(i, llm.PartText)
			d.delta(*p.Delta.Text, "")
		case p.Delta.ToolUse != nil:
			if d.open != i || d.kind != llm.PartToolCall {
				d.Err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream sent tool input for a block that is not a tool call"}
				return
			}
			d.delta(p.Delta.ToolUse.Input, "")
		case p.Delta.ReasoningContent != nil:
			rc := p.Delta.ReasoningContent
			if rc.RedactedContent != "" {
				d.closeBlock()
				d.openBlock(i, llm.Part{Type: llm.PartRedactedThinking, Data: rc.RedactedContent})
				return
			}
			d.ensure(i, llm.PartThinking)
			d.delta(rc.Text, rc.Signature)
		}
	case "contentBlockStop":
		if d.open == p.ContentBlockIndex {
			d.closeBlock()
		}
	case "messageStop":
		d.closeBlock()
		d.stop = p.StopReason
		if d.stop == "" {
			d.stop = "end_turn"
		}
	case "metadata":
		if d.stop != "" {
			d.finish(p.Usage)
		}
	}
}

// ensure opens a block of kind at Bedrock index i unless it is open.
func (d *streamDecoder) ensure(i int, kind llm.PartType) {
	if d.open == i && d.kind == kind {
		return
	}
	d.closeBlock()
	d.openBlock(i, llm.Part{Type: kind})
}

func (d *streamDecoder) openBlock(i int, p llm.Part) {
	d.closeBlock()
	d.Push(llm.Event{Type: llm.EventBlockStart, Index: d.next, Part: &p})
	d.open, d.kind, d.args = i, p.Type, false
}

func (d *streamDecoder) delta(text, signature string) {
	if text == "" && signature == "" {
		return
	}
	d.args = true
	d.Push(llm.Event{Type: llm.EventDelta, Index: d.next, Text: text, Signature: signature})
}

func (d *streamDecoder) closeBlock() {
	if d.open < 0 {
		return
	}
	if d.kind == llm.PartToolCall && !d.args {
		d.Push(llm.Event{Type: llm.EventDelta, Index: d.next, Text: "{}"}) // a call without arguments
	}
	d.Push(llm.Event{Type: llm.EventBlockStop, Index: d.next})
	d.open = -1
	d.next++
}

// finish queues the finish once, with the metadata's usage if any.
func (d *streamDecoder) finish(u *usage) {
	if d.finished {
		return
	}
	d.finished = true
	d.closeBlock()
	cu := u.canonical()
	d.Push(llm.Event{Type: llm.EventFinish, StopReason: stopReason(d.stop), Usage: &cu})
}
