package openai

import (
	"bytes"
	"errors"
	"io"

	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/sse"
	"github.com/tidwall/gjson"
)

// NewStreamDecoder decodes an upstream Chat Completions (or legacy
// Completions) SSE stream into canonical events. It is pull-based and
// starts no goroutine; Close closes body.
//
// Text and reasoning deltas stream live as text and thinking blocks.
// Tool-call fragments are buffered per tool index (OpenAI interleaves
// parallel calls) and each tool's block is emitted whole, in index order,
// when finish_reason arrives (or at [DONE]). A usage-only chunk becomes
// EventUsage. "data: [DONE]" ends the stream with io.EOF; the end of the
// body without it is a KindUpstream error.
//
// With raw, each upstream frame's bytes are attached as Event.Raw to the
// first event the frame produced (a frame producing none yields an Event
// of Type 0 carrying only Raw), and every event carries RawDialect
// "openai": an event with that dialect but no Raw is already covered by an
// earlier frame, so a same-dialect encoder must write nothing for it.
func NewStreamDecoder(body io.ReadCloser, raw bool) llm.Stream {
	return &streamDecoder{body: body, r: sse.NewReader(body), raw: raw}
}

type streamDecoder struct {
	body io.ReadCloser
	r    *sse.Reader
	raw  bool

	queue []llm.Event
	head  int
	err   error // terminal: io.EOF or *llm.Error

	started  bool
	finished bool
	next     int          // index of the next block
	open     llm.PartType // kind of the open live block, "" when none
	openIdx  int
	tools    []toolBuf
	usage    *llm.Usage // usage seen before the finish
	closed   bool
}

type toolBuf struct {
	index    int
	id, name string
	args     []byte
}

func (d *streamDecoder) Next() (llm.Event, error) {
	for {
		if d.head < len(d.queue) {
			ev := d.queue[d.head]
			d.queue[d.head] = llm.Event{}
			d.head++
			if d.raw {
				ev.RawDialect = Dialect
			}
			return ev, nil
		}
		d.queue, d.head = d.queue[:0], 0
		if d.err != nil {
			return llm.Event{}, d.err
		}
		d.step()
	}
}

func (d *streamDecoder) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	if d.err == nil {
		d.err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream stream closed"}
	}
	return d.body.Close()
}

func (d *streamDecoder) push(ev llm.Event) { d.queue = append(d.queue, ev) }

// step reads one frame and queues its events, or sets d.err.
func (d *streamDecoder) step() {
	f, err := d.r.Next()
	if err != nil {
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			d.err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream stream ended before completion"}
		case errors.Is(err, sse.ErrFrameTooLarge):
			d.err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream stream event too large", Err: err}
		default:
			d.err = &llm.Error{Kind: llm.KindUpstream, Message: "reading the upstream stream failed", Err: err}
		}
		return
	}
	data := bytes.TrimSpace(f.Data)
	if string(data) == "[DONE]" {
		d.end()
		d.err = io.EOF
		return
	}
	mark := len(d.queue)
	if len(data) > 0 {
		if !gjson.ValidBytes(data) {
			d.err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream sent an invalid stream chunk"}
			return
		}
		root := gjson.ParseBytes(data)
		if !root.IsObject() {
			d.err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream sent an invalid stream chunk"}
			return
		}
		c := readChunk(root)
		if c.err.Exists() && c.err.Type != gjson.Null {
			d.err = errorFromBody(0, c.err, root)
			return
		}
		if f.Event == "error" {
			d.err = errorFromBody(0, root, root)
			return
		}
		d.chunk(c)
	}
	if d.raw {
		if len(d.queue) == mark {
			d.push(llm.Event{Raw: f.Raw})
		} else {
			d.queue[mark].Raw = f.Raw
		}
	}
}

// chunkFields are the top-level fields of a chunk the decoder reads.
type chunkFields struct {
	id, model                  string
	choices, usage, xgroq, err gjson.Result
}

// readChunk reads a chunk's fields in one pass over its keys.
func readChunk(root gjson.Result) chunkFields {
	var c chunkFields
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			c.id = v.String()
		case "model":
			c.model = v.String()
		case "choices":
			c.choices = v
		case "usage":
			c.usage = v
		case "x_groq":
			c.xgroq = v
		case "error":
			if !c.err.Exists() { // the first, as a lookup by key finds
				c.err = v
			}
		}
		return true
	})
	return c
}

func (d *streamDecoder) chunk(c chunkFields) {
	if !d.started {
		d.started = true
		d.push(llm.Event{Type: llm.EventStart, ID: c.id, Model: c.model})
	}
	finishAt := -1
	hasChoice := false
	c.choices.ForEach(func(_, v gjson.Result) bool {
		ch := readChoice(v)
		if ch.index.Exists() && ch.index.Int() != 0 {
			return true // n > 1: only the first choice is canonical
		}
		hasChoice = true
		if !d.finished {
			finishAt = d.choice(ch)
		}
		return false
	})
	usage := c.usage
	if !usage.IsObject() && c.xgroq.IsObject() {
		usage = c.xgroq.Get("usage")
	}
	if usage.IsObject() {
		u := decodeUsage(usage)
		switch {
		case finishAt >= 0:
			d.queue[finishAt].Usage = &u
		case !hasChoice || d.finished:
			d.push(llm.Event{Type: llm.EventUsage, Usage: &u})
		default: // running usage on a content chunk: keep for the finish
			d.usage = &u
		}
	}
}

// choiceFields are the fields of a choice the decoder reads.
type choiceFields struct {
	index, delta, text, finish, stopSeq gjson.Result
}

// readChoice reads a choice's fields in one pass over its keys.
func readChoice(c gjson.Result) choiceFields {
	var ch choiceFields
	c.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "index":
			if !ch.index.Exists() { // the first, as a lookup by key finds
				ch.index = v
			}
		case "delta":
			ch.delta = v
		case "text": // legacy completions
			ch.text = v
		case "finish_reason":
			ch.finish = v
		case "stop_reason": // vLLM
			ch.stopSeq = v
		}
		return true
	})
	return ch
}

// choice handles the first choice of a chunk; it returns the queue
// position of the EventFinish it produced, or -1.
func (d *streamDecoder) choice(ch choiceFields) int {
	delta, text, finish, stopSeq := ch.delta, ch.text, ch.finish, ch.stopSeq
	if text.Type == gjson.String {
		d.live(llm.PartText, text.Str)
	}
	if delta.IsObject() {
		var reasoning, content, refusal, calls gjson.Result
		delta.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "reasoning_content":
				reasoning = v
			case "reasoning":
				if !reasoning.Exists() || reasoning.Type == gjson.Null {
					reasoning = v
				}
			case "content":
				content = v
			case "refusal":
				refusal = v
			case "tool_calls":
				calls = v
			}
			return true
		})
		if reasoning.Type == gjson.String {
			d.live(llm.PartThinking, reasoning.Str)
		}
		if content.Type == gjson.String {
			d.live(llm.PartText, content.Str)
		}
		if refusal.Type == gjson.String {
			d.live(llm.PartText, refusal.Str)
		}
		if calls.IsArray() {
			d.toolFragments(calls)
		}
	}
	if finish.Type != gjson.String || finish.Str == "" {
		return -1
	}
	reason := stopReason(finish.Str)
	seq := ""
	if stopSeq.Type == gjson.String && stopSeq.Str != "" && reason == llm.StopEndTurn {
		reason, seq = llm.StopSequence, stopSeq.Str
	}
	return d.finish(reason, seq)
}

// live appends a text or thinking delta to the open block of that kind,
// opening one (and closing the other) as needed.
func (d *streamDecoder) live(kind llm.PartType, s string) {
	if s == "" {
		return
	}
	if d.open != kind {
		d.closeOpen()
		d.open, d.openIdx = kind, d.next
		d.next++
		d.push(llm.Event{Type: llm.EventBlockStart, Index: d.openIdx, Part: &llm.Part{Type: kind}})
	}
	d.push(llm.Event{Type: llm.EventDelta, Index: d.openIdx, Text: s})
}

func (d *streamDecoder) closeOpen() {
	if d.open != "" {
		d.push(llm.Event{Type: llm.EventBlockStop, Index: d.openIdx})
		d.open = ""
	}
}

func (d *streamDecoder) toolFragments(calls gjson.Result) {
	calls.ForEach(func(_, tc gjson.Result) bool {
		var ix, id, fn gjson.Result
		tc.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "index":
				ix = v
			case "id":
				id = v
			case "function":
				fn = v
			}
			return true
		})
		buf := d.toolBuf(ix, id.String())
		if buf == nil {
			return true
		}
		if buf.id == "" && id.Type == gjson.String {
			buf.id = id.Str
		}
		if fn.IsObject() {
			if name := fn.Get("name"); buf.name == "" && name.Type == gjson.String {
				buf.name = name.Str
			}
			switch args := fn.Get("arguments"); {
			case args.Type == gjson.String:
				buf.args = append(buf.args, args.Str...)
			case args.IsObject(): // some servers send the whole object
				buf.args = append(buf.args, args.Raw...)
			}
		}
		return true
	})
}

// toolBuf finds or creates the buffer of one tool call. Upstreams that omit
// "index" are matched by id, else continue the last call.
func (d *streamDecoder) toolBuf(ix gjson.Result, id string) *toolBuf {
	var index int
	switch {
	case ix.Type == gjson.Number:
		index = int(ix.Int())
		if index < 0 || index > 1<<16 {
			return nil
		}
	case id != "":
		for i := range d.tools {
			if d.tools[i].id == id {
				return &d.tools[i]
			}
		}
		index = 0
		for i := range d.tools {
			if d.tools[i].index >= index {
				index = d.tools[i].index + 1
			}
		}
	case len(d.tools) > 0:
		return &d.tools[len(d.tools)-1]
	}
	for i := range d.tools {
		if d.tools[i].index == index {
			return &d.tools[i]
		}
	}
	d.tools = append(d.tools, toolBuf{index: index})
	return &d.tools[len(d.tools)-1]
}

// flushTools emits each buffered tool call as one block, in index order.
func (d *streamDecoder) flushTools() {
	if len(d.tools) == 0 {
		return
	}
	d.closeOpen()
	// insertion sort: a handful of tools, usually already in order
	for i := 1; i < len(d.tools); i++ {
		for j := i; j > 0 && d.tools[j].index < d.tools[j-1].index; j-- {
			d.tools[j], d.tools[j-1] = d.tools[j-1], d.tools[j]
		}
	}
	for i := range d.tools {
		t := &d.tools[i]
		id := t.id
		if id == "" {
			id = newID("call_")
		}
		args := string(bytes.TrimSpace(t.args))
		if args == "" {
			args = "{}"
		}
		idx := d.next
		d.next++
		d.push(llm.Event{Type: llm.EventBlockStart, Index: idx,
			Part: &llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: id, Name: t.name}}})
		d.push(llm.Event{Type: llm.EventDelta, Index: idx, Text: args})
		d.push(llm.Event{Type: llm.EventBlockStop, Index: idx})
	}
	d.tools = d.tools[:0]
}

// finish closes the content and queues EventFinish; it returns the
// event's queue position.
func (d *streamDecoder) finish(reason llm.StopReason, seq string) int {
	hadTools := len(d.tools) > 0
	d.closeOpen()
	d.flushTools()
	if hadTools && reason == llm.StopEndTurn {
		reason = llm.StopToolUse // servers that say "stop" after tool calls
	}
	d.finished = true
	d.push(llm.Event{Type: llm.EventFinish, StopReason: reason, StopSequence: seq, Usage: d.usage})
	return len(d.queue) - 1
}

// end handles [DONE]: a stream that never said why it finished is closed
// with a synthesised finish.
func (d *streamDecoder) end() {
	if !d.started || d.finished {
		return
	}
	reason := llm.StopEndTurn
	if len(d.tools) > 0 {
		reason = llm.StopToolUse
	}
	d.finish(reason, "")
}
