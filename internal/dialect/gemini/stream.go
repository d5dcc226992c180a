package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/sse"
)

// NewStreamDecoder decodes a streamGenerateContent?alt=sse stream. Each
// frame is a whole GenerateContentResponse chunk. Text and thought parts
// stream live as text and thinking blocks; function calls arrive whole
// and become one block each. Gemini sends no terminator: the stream ends
// properly when the body ends after a chunk with finishReason, and the
// finish event (with the last usage seen) is emitted then. Close closes
// body.
func NewStreamDecoder(body io.ReadCloser) llm.Stream {
	return &streamDecoder{body: body, r: sse.NewReader(body), ids: newIDs()}
}

type streamDecoder struct {
	body io.ReadCloser
	r    *sse.Reader

	llm.Queue // events, and Err: io.EOF or *llm.Error once the stream ended

	ids     ids
	started bool
	open    llm.PartType // kind of the open block, "" when none
	next    int          // index of the next block
	calls   bool
	finish  string // finishReason, once seen
	usage   llm.Usage
}

func (d *streamDecoder) Next() (llm.Event, error) { return d.Queue.Next(d.step) }

func (d *streamDecoder) Close() error { return d.Queue.Close(d.body) }

// step reads one frame and queues its events, or sets d.Err.
func (d *streamDecoder) step() {
	f, err := d.r.Next()
	if err != nil {
		switch {
		case errors.Is(err, io.EOF) && d.finish != "":
			d.end()
			d.Err = io.EOF
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			d.Err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream stream ended before completion"}
		case errors.Is(err, sse.ErrFrameTooLarge):
			d.Err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream stream event too large", Err: err}
		default:
			d.Err = &llm.Error{Kind: llm.KindUpstream, Message: "reading the upstream stream failed", Err: err}
		}
		return
	}
	data := bytes.TrimSpace(f.Data)
	if len(data) == 0 {
		return
	}
	var r response
	if err := json.Unmarshal(data, &r); err != nil {
		d.Err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream sent an invalid stream chunk", Err: err}
		return
	}
	if r.Error != nil {
		d.Err = apiErr(0, r.Error)
		return
	}
	if err := blocked(&r); err != nil {
		d.Err = err
		return
	}
	if !d.started {
		d.started = true
		id := r.ResponseID
		if id == "" {
			id = messageID()
		}
		d.Push(llm.Event{Type: llm.EventStart, ID: id, Model: r.ModelVersion})
	}
	if r.UsageMetadata != nil {
		d.usage = r.UsageMetadata.usage()
	}
	c := first(r.Candidates)
	if c == nil || d.finish != "" {
		return
	}
	for _, p := range c.Content.Parts {
		d.part(p)
	}
	if c.FinishReason != "" {
		if c.FinishReason == "MALFORMED_FUNCTION_CALL" || c.FinishReason == "UNEXPECTED_TOOL_CALL" {
			d.Err = &llm.Error{Kind: llm.KindUpstream, Message: "Gemini produced an invalid function call (" + c.FinishReason + ")"}
			return
		}
		d.closeBlock()
		d.finish = c.FinishReason
	}
}

// part queues the events of one streamed part.
func (d *streamDecoder) part(p part) {
	switch {
	case p.FunctionCall != nil:
		d.closeBlock()
		if p.ThoughtSignature != "" {
			d.whole(llm.Part{Type: llm.PartThinking}, "", p.ThoughtSignature)
		}
		d.calls = true
		tc := &llm.ToolCall{ID: d.ids.callID(p.FunctionCall.ID), Name: p.FunctionCall.Name}
		d.whole(llm.Part{Type: llm.PartToolCall, ToolCall: tc}, args(p.FunctionCall.Args), "")
	case p.Thought:
		d.live(llm.PartThinking, p.Text, p.ThoughtSignature)
	case p.Text != "":
		d.live(llm.PartText, p.Text, "")
	}
}

// live appends text to the open block of kind, opening it if needed.
func (d *streamDecoder) live(kind llm.PartType, text, signature string) {
	if text == "" && signature == "" {
		return
	}
	if d.open != kind {
		d.closeBlock()
		d.Push(llm.Event{Type: llm.EventBlockStart, Index: d.next, Part: &llm.Part{Type: kind}})
		d.open = kind
	}
	if text != "" {
		d.Push(llm.Event{Type: llm.EventDelta, Index: d.next, Text: text})
	}
	if signature != "" {
		d.Push(llm.Event{Type: llm.EventDelta, Index: d.next, Signature: signature})
	}
}

// whole queues a complete block: start, one delta, stop.
func (d *streamDecoder) whole(p llm.Part, text, signature string) {
	i := d.next
	d.Push(llm.Event{Type: llm.EventBlockStart, Index: i, Part: &p})
	if text != "" || signature != "" {
		d.Push(llm.Event{Type: llm.EventDelta, Index: i, Text: text, Signature: signature})
	}
	d.Push(llm.Event{Type: llm.EventBlockStop, Index: i})
	d.next++
}

func (d *streamDecoder) closeBlock() {
	if d.open == "" {
		return
	}
	d.Push(llm.Event{Type: llm.EventBlockStop, Index: d.next})
	d.open = ""
	d.next++
}

// end queues the finish with the final usage.
func (d *streamDecoder) end() {
	d.closeBlock()
	u := d.usage
	d.Push(llm.Event{Type: llm.EventFinish, StopReason: stopReason(d.finish, d.calls), Usage: &u})
}
