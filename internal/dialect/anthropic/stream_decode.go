package anthropic

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/sse"
)

// NewStreamDecoder reads an upstream Messages API event stream as canonical
// events. With raw, every upstream frame is attached, in arrival order, to
// the first event it produces (Raw, RawDialect anthropic); a frame with no
// canonical meaning (message_stop, server tool blocks and their deltas,
// unknown events) comes as a Type 0 event with only Raw. Further events
// produced by the same frame carry an empty, non-nil Raw: "already part of
// the previous frame", so a byte passthrough writes nothing for them.
//
// Canonical blocks are sequential even if the upstream interleaves blocks:
// the earliest open block streams live and later ones are held until it
// stops. Block indexes are renumbered from 0 over the blocks that have a
// canonical form (server tool blocks are skipped). message_delta becomes
// EventFinish with the usage of message_start and message_delta merged;
// message_stop ends the stream (io.EOF); a stream that ends before it is a
// KindUpstream error, and an error event is an *llm.Error of the kind its
// type says, with the event as Body for relay to Anthropic callers.
func NewStreamDecoder(body io.ReadCloser, raw bool) llm.Stream {
	return &streamDecoder{body: body, rd: sse.NewReader(body), raw: raw}
}

type streamDecoder struct {
	body      io.ReadCloser
	rd        *sse.Reader
	raw       bool
	closeOnce sync.Once
	closeErr  error

	out  []llm.Event // queued events; out[head:] are pending
	head int

	err      error // terminal error, returned from now on
	done     bool  // message_stop seen
	started  bool
	finished bool
	usage    wireUsage

	blocks []openBlock // open or held blocks in start order; blocks[0] is live
	next   int         // next canonical block index
}

type openBlock struct {
	up      int // upstream index
	kind    llm.PartType
	canon   int
	stopped bool
	held    []llm.Event
}

func (d *streamDecoder) Next() (llm.Event, error) {
	for {
		if d.head < len(d.out) {
			ev := d.out[d.head]
			d.out[d.head] = llm.Event{}
			d.head++
			return ev, nil
		}
		d.out, d.head = d.out[:0], 0
		if d.err != nil {
			return llm.Event{}, d.err
		}
		if d.done {
			return llm.Event{}, io.EOF
		}
		f, err := d.rd.Next()
		if err != nil {
			d.err = readError(err)
			continue
		}
		if err := d.frame(f); err != nil {
			d.err = err
			continue
		}
		if d.raw {
			if len(d.out) == 0 {
				d.out = append(d.out, llm.Event{})
			}
			d.out[0].Raw, d.out[0].RawDialect = f.Raw, llm.DialectAnthropic
			for k := 1; k < len(d.out); k++ {
				// Empty, non-nil: the frame rode on the first event.
				d.out[k].Raw, d.out[k].RawDialect = []byte{}, llm.DialectAnthropic
			}
		}
	}
}

func (d *streamDecoder) Close() error {
	d.closeOnce.Do(func() { d.closeErr = d.body.Close() })
	return d.closeErr
}

func readError(err error) *llm.Error {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return upstreamError("upstream stream ended before completion", err)
	case errors.Is(err, sse.ErrFrameTooLarge):
		return upstreamError("upstream stream event too large", err)
	case errors.Is(err, context.DeadlineExceeded):
		return &llm.Error{Kind: llm.KindTimeout, Message: "upstream stream timed out", Err: err}
	}
	return upstreamError("reading the upstream stream failed", err)
}

// frame turns one SSE frame into zero or more queued events.
func (d *streamDecoder) frame(f sse.Frame) error {
	typ := f.Event
	var index, delta, block, message, usage, errObj gjson.Result
	if len(f.Data) > 0 {
		if !gjson.ValidBytes(f.Data) {
			return upstreamError("upstream stream event is not valid JSON", nil)
		}
		root := gjson.ParseBytes(f.Data)
		root.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "type":
				if v.Type == gjson.String {
					typ = v.Str
				}
			case "index":
				index = v
			case "delta":
				delta = v
			case "content_block":
				block = v
			case "message":
				message = v
			case "usage":
				usage = v
			case "error":
				errObj = v
			}
			return true
		})
	}
	switch typ {
	case "ping":
		d.out = append(d.out, llm.Event{Type: llm.EventPing})
	case "message_start":
		if d.started {
			return nil
		}
		d.started = true
		ev := llm.Event{Type: llm.EventStart}
		if message.IsObject() {
			ev.ID = message.Get("id").String()
			ev.Model = message.Get("model").String()
			d.usage.merge(message.Get("usage"))
		}
		u := d.usage.canonical()
		ev.Usage = &u
		d.out = append(d.out, ev)
	case "content_block_start":
		if index.Type == gjson.Number && block.IsObject() {
			d.blockStart(int(index.Int()), block)
		}
	case "content_block_delta":
		if index.Type == gjson.Number && delta.IsObject() {
			d.blockDelta(int(index.Int()), delta)
		}
	case "content_block_stop":
		if index.Type == gjson.Number {
			d.blockStop(int(index.Int()))
		}
	case "message_delta":
		d.flushBlocks()
		d.usage.merge(usage)
		u := d.usage.canonical()
		if d.finished {
			d.out = append(d.out, llm.Event{Type: llm.EventUsage, Usage: &u})
			return nil
		}
		d.finished = true
		ev := llm.Event{Type: llm.EventFinish, Usage: &u}
		if delta.IsObject() {
			ev.StopReason = stopReason(delta.Get("stop_reason").String())
			if s := delta.Get("stop_sequence"); s.Type == gjson.String {
				ev.StopSequence = s.Str
			}
		} else {
			ev.StopReason = llm.StopEndTurn
		}
		d.out = append(d.out, ev)
	case "message_stop":
		d.flushBlocks()
		if !d.finished {
			d.finished = true
			u := d.usage.canonical()
			d.out = append(d.out, llm.Event{Type: llm.EventFinish, StopReason: llm.StopEndTurn, Usage: &u})
		}
		d.done = true
	case "error":
		e := &llm.Error{Kind: llm.KindUpstream, Message: "upstream stream error"}
		if errObj.IsObject() {
			t, m := errObj.Get("type"), errObj.Get("message")
			if t.Type == gjson.String {
				e.Kind, e.UpstreamType = kindForType(t.Str), t.Str
				e.Body, e.BodyDialect = f.Data, llm.DialectAnthropic
			}
			if m.Type == gjson.String && m.Str != "" {
				e.Message = m.Str
			}
		}
		return e
	}
	return nil
}

func (d *streamDecoder) find(up int) int {
	for i := range d.blocks {
		if d.blocks[i].up == up {
			return i
		}
	}
	return -1
}

// push sends ev for block i: straight out when it is live, held otherwise.
func (d *streamDecoder) push(i int, ev llm.Event) {
	b := &d.blocks[i]
	if i == 0 {
		ev.Index = b.canon
		d.out = append(d.out, ev)
		return
	}
	b.held = append(b.held, ev)
}

func (d *streamDecoder) blockStart(up int, cb gjson.Result) {
	if d.find(up) >= 0 {
		return // a second start for an open block: ignore it
	}
	f := readBlock(cb)
	part := &llm.Part{}
	var initial llm.Event
	switch f.typ.Str {
	case "text":
		part.Type = llm.PartText
		if f.text.Str != "" {
			initial = llm.Event{Type: llm.EventDelta, Text: f.text.Str}
		}
	case "thinking":
		part.Type = llm.PartThinking
		if f.thinking.Str != "" || f.signature.Str != "" {
			initial = llm.Event{Type: llm.EventDelta, Text: f.thinking.Str, Signature: f.signature.Str}
		}
	case "redacted_thinking":
		part.Type, part.Data = llm.PartRedactedThinking, f.data.Str
	case "tool_use":
		part.Type = llm.PartToolCall
		part.ToolCall = &llm.ToolCall{ID: f.id.String(), Name: f.name.String()}
		if f.input.IsObject() {
			if c := compactBytes(f.input.Raw); len(c) > 2 {
				initial = llm.Event{Type: llm.EventDelta, Text: string(c)}
			}
		}
	default:
		return // server tool blocks and anything new: raw only
	}
	d.blocks = append(d.blocks, openBlock{up: up, kind: part.Type})
	i := len(d.blocks) - 1
	if i == 0 {
		d.blocks[0].canon = d.next
		d.next++
	}
	d.push(i, llm.Event{Type: llm.EventBlockStart, Part: part})
	if initial.Type != 0 {
		d.push(i, initial)
	}
}

func (d *streamDecoder) blockDelta(up int, delta gjson.Result) {
	i := d.find(up)
	if i < 0 || d.blocks[i].stopped {
		return
	}
	var typ, text, thinking, sig, partial gjson.Result
	delta.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "type":
			typ = v
		case "text":
			text = v
		case "thinking":
			thinking = v
		case "signature":
			sig = v
		case "partial_json":
			partial = v
		}
		return true
	})
	ev := llm.Event{Type: llm.EventDelta}
	switch kind := d.blocks[i].kind; {
	case typ.Str == "text_delta" && kind == llm.PartText:
		ev.Text = text.String()
	case typ.Str == "thinking_delta" && kind == llm.PartThinking:
		ev.Text = thinking.String()
	case typ.Str == "signature_delta" && kind == llm.PartThinking:
		ev.Signature = sig.String()
	case typ.Str == "input_json_delta" && kind == llm.PartToolCall:
		ev.Text = partial.String()
	default:
		return // citations and anything new
	}
	if ev.Text == "" && ev.Signature == "" {
		return
	}
	d.push(i, ev)
}

func (d *streamDecoder) blockStop(up int) {
	i := d.find(up)
	if i < 0 {
		return
	}
	d.blocks[i].stopped = true
	d.advance()
}

// advance closes the live block while it is stopped and makes the next one
// live, releasing what it held.
func (d *streamDecoder) advance() {
	for len(d.blocks) > 0 && d.blocks[0].stopped {
		d.out = append(d.out, llm.Event{Type: llm.EventBlockStop, Index: d.blocks[0].canon})
		n := copy(d.blocks, d.blocks[1:])
		d.blocks[n] = openBlock{}
		d.blocks = d.blocks[:n]
		if n == 0 {
			return
		}
		b := &d.blocks[0]
		b.canon = d.next
		d.next++
		for _, ev := range b.held {
			ev.Index = b.canon
			d.out = append(d.out, ev)
		}
		b.held = nil
	}
}

// flushBlocks closes every block still open, at the end of the message.
func (d *streamDecoder) flushBlocks() {
	for i := range d.blocks {
		d.blocks[i].stopped = true
	}
	d.advance()
}
