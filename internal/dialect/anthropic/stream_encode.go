package anthropic

import (
	"bytes"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/jsonw"
	"github.com/tidegate/tidegate/internal/llm"
)

// StreamEncoder writes canonical stream events as a Messages API event
// stream. It is stateful and not safe for concurrent use.
//
// It synthesises message_start when the upstream sent no start event,
// renumbers blocks from 0 over the blocks it writes (image blocks and
// other parts with no Anthropic stream form are dropped, and a text or
// thinking block starts only with its first content, so a block that stays
// empty is never written: a caller would replay it, and Anthropic rejects
// empty text blocks), holds an
// EventFinish until the usage is known (an EventUsage, usage on the finish
// itself, or Finish) and then writes message_delta and message_stop.
// Events whose Raw is in the Anthropic dialect are written verbatim, with
// the state kept so Finish adds nothing twice.
type StreamEncoder struct {
	model string

	started   bool // message_start written
	stopped   bool // message_stop or error written: nothing more
	deltaSent bool // message_delta written
	finishing bool // EventFinish seen, message_delta pending

	open     bool // a block is open
	skip     bool // the open block is not written
	lazy     bool // the open block's start is not written yet
	openKind llm.PartType
	index    int // index of the open block, or of the next one

	stop    llm.StopReason
	stopSeq string
	usage   llm.Usage
	known   bool // usage after the finish is known
}

// NewStreamEncoder returns an encoder for a stream answering req.
func NewStreamEncoder(req *llm.Request) *StreamEncoder {
	e := &StreamEncoder{}
	if req != nil {
		e.model = req.Model
	}
	return e
}

// Encode appends the frames for ev to dst.
func (e *StreamEncoder) Encode(dst []byte, ev llm.Event) []byte {
	if ev.RawDialect == llm.DialectAnthropic && ev.Raw != nil && ev.Type != llm.EventResponse {
		dst = append(dst, ev.Raw...)
		switch string(frameType(ev.Raw)) {
		case "message_start":
			e.started = true
		case "message_delta":
			e.started, e.deltaSent = true, true
		case "message_stop", "error":
			e.started, e.deltaSent, e.stopped = true, true, true
		}
		return dst
	}
	if e.stopped {
		return dst
	}
	switch ev.Type {
	case llm.EventStart:
		if !e.started {
			if ev.Model != "" {
				e.model = ev.Model
			}
			if ev.Usage != nil {
				e.usage.Merge(*ev.Usage)
			}
			dst = e.writeStart(dst, ev.ID)
		}
	case llm.EventBlockStart:
		dst = e.ensureStarted(dst)
		dst = e.closeBlock(dst)
		dst = e.startBlock(dst, ev.Part)
	case llm.EventDelta:
		if e.open && !e.skip {
			dst = e.writeDelta(dst, ev.Text, ev.Signature)
		}
	case llm.EventBlockStop:
		dst = e.closeBlock(dst)
	case llm.EventFinish:
		dst = e.ensureStarted(dst)
		dst = e.closeBlock(dst)
		e.stop, e.stopSeq, e.finishing = ev.StopReason, ev.StopSequence, true
		if ev.Usage != nil {
			e.usage.Merge(*ev.Usage)
			e.known = true
		}
		if e.known {
			dst = e.writeEnd(dst)
		}
	case llm.EventUsage:
		if ev.Usage != nil {
			e.usage.Merge(*ev.Usage)
			e.known = true
		}
		if e.finishing {
			dst = e.writeEnd(dst)
		}
	case llm.EventPing:
		dst = append(dst, "event: ping\ndata: {\"type\":\"ping\"}\n\n"...)
	case llm.EventResponse:
		if ev.Response != nil {
			dst = e.encodeResponse(dst, ev.Response)
		}
	}
	return dst
}

// Finish appends what ends a clean stream: the pending message_delta and
// message_stop (and message_start, for an upstream that sent nothing).
func (e *StreamEncoder) Finish(dst []byte) []byte {
	if e.stopped {
		return dst
	}
	dst = e.ensureStarted(dst)
	dst = e.closeBlock(dst)
	if e.deltaSent {
		e.stopped = true
		return append(dst, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
	}
	return e.writeEnd(dst)
}

// Error appends an in-stream error event; nothing is written after it.
func (e *StreamEncoder) Error(dst []byte, err *llm.Error) []byte {
	e.stopped = true
	if err == nil {
		err = &llm.Error{Kind: llm.KindInternal, Message: "internal error"}
	}
	dst = append(dst, "event: error\ndata: "...)
	if err.BodyDialect == llm.DialectAnthropic && jsonw.IsObject(err.Body) {
		dst = jsonw.AppendCompact(dst, err.Body)
	} else {
		dst = appendErrorBody(dst, err)
	}
	return append(dst, '\n', '\n')
}

func (e *StreamEncoder) ensureStarted(dst []byte) []byte {
	if e.started {
		return dst
	}
	return e.writeStart(dst, "")
}

func (e *StreamEncoder) writeStart(dst []byte, id string) []byte {
	e.started = true
	if id == "" {
		id = newMessageID()
	}
	dst = append(dst, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":"...)
	dst = jsonw.AppendString(dst, id)
	dst = append(dst, `,"type":"message","role":"assistant","model":`...)
	dst = jsonw.AppendString(dst, e.model)
	dst = append(dst, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	dst = appendUsage(dst, e.usage)
	return append(dst, "}}\n\n"...)
}

func (e *StreamEncoder) frameHead(dst []byte, event string) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, event...)
	dst = append(dst, "\ndata: {\"type\":\""...)
	dst = append(dst, event...)
	dst = append(dst, `","index":`...)
	return jsonw.AppendInt(dst, e.index)
}

func (e *StreamEncoder) startBlock(dst []byte, p *llm.Part) []byte {
	e.open, e.skip, e.lazy = true, true, false
	if p == nil {
		return dst
	}
	e.openKind = p.Type
	switch p.Type {
	case llm.PartText, llm.PartThinking:
		e.skip, e.lazy = false, true
		return dst
	case llm.PartRedactedThinking:
		dst = e.frameHead(dst, "content_block_start")
		dst = append(dst, `,"content_block":`...)
		dst = appendRedacted(dst, p.Data)
		dst = append(dst, '}')
	case llm.PartToolCall:
		var id, name string
		if p.ToolCall != nil {
			id, name = p.ToolCall.ID, p.ToolCall.Name
		}
		dst = e.frameHead(dst, "content_block_start")
		dst = append(dst, `,"content_block":{"type":"tool_use","id":`...)
		dst = appendToolID(dst, id)
		dst = append(dst, `,"name":`...)
		dst = jsonw.AppendString(dst, name)
		dst = append(dst, `,"input":{}}}`...)
	default:
		return dst
	}
	e.skip = false
	return append(dst, '\n', '\n')
}

func (e *StreamEncoder) writeDelta(dst []byte, text, sig string) []byte {
	switch e.openKind {
	case llm.PartText, llm.PartThinking, llm.PartToolCall:
	default:
		return dst
	}
	if text == "" && (sig == "" || e.openKind != llm.PartThinking) {
		return dst
	}
	if e.lazy {
		e.lazy = false
		dst = e.frameHead(dst, "content_block_start")
		if e.openKind == llm.PartText {
			dst = append(dst, `,"content_block":{"type":"text","text":""}}`+"\n\n"...)
		} else {
			dst = append(dst, `,"content_block":{"type":"thinking","thinking":"","signature":""}}`+"\n\n"...)
		}
	}
	if text != "" {
		dst = e.frameHead(dst, "content_block_delta")
		switch e.openKind {
		case llm.PartText:
			dst = append(dst, `,"delta":{"type":"text_delta","text":`...)
		case llm.PartThinking:
			dst = append(dst, `,"delta":{"type":"thinking_delta","thinking":`...)
		default:
			dst = append(dst, `,"delta":{"type":"input_json_delta","partial_json":`...)
		}
		dst = jsonw.AppendString(dst, text)
		dst = append(dst, "}}\n\n"...)
	}
	if sig != "" && e.openKind == llm.PartThinking {
		dst = e.frameHead(dst, "content_block_delta")
		dst = append(dst, `,"delta":{"type":"signature_delta","signature":`...)
		dst = jsonw.AppendString(dst, sig)
		dst = append(dst, "}}\n\n"...)
	}
	return dst
}

func (e *StreamEncoder) closeBlock(dst []byte) []byte {
	if !e.open {
		return dst
	}
	e.open = false
	if e.skip || e.lazy {
		return dst
	}
	dst = e.frameHead(dst, "content_block_stop")
	e.index++
	return append(dst, "}\n\n"...)
}

// writeEnd writes message_delta and message_stop.
func (e *StreamEncoder) writeEnd(dst []byte) []byte {
	e.deltaSent, e.stopped = true, true
	dst = append(dst, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"...)
	dst = jsonw.AppendString(dst, wireStopReason(e.stop))
	dst = append(dst, `,"stop_sequence":`...)
	dst = appendStopSequence(dst, e.stop, e.stopSeq)
	dst = append(dst, `},"usage":`...)
	u := e.usage
	if u.InputTokens > 0 || u.CacheReadTokens > 0 || u.CacheWriteTokens > 0 {
		dst = appendUsage(dst, u)
	} else {
		dst = append(dst, `{"output_tokens":`...)
		dst = jsonw.AppendInt(dst, u.OutputTokens)
		dst = append(dst, '}')
	}
	dst = append(dst, "}\n\n"...)
	return append(dst, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
}

// encodeResponse writes a whole response (a non-stream upstream answering a
// stream caller) as a complete event stream.
func (e *StreamEncoder) encodeResponse(dst []byte, r *llm.Response) []byte {
	in := r.Usage
	in.OutputTokens, in.ReasoningTokens = 0, 0
	dst = e.Encode(dst, llm.Event{Type: llm.EventStart, ID: r.ID, Model: r.Model, Usage: &in})
	for i := range r.Content {
		p := &r.Content[i]
		dst = e.Encode(dst, llm.Event{Type: llm.EventBlockStart, Index: i, Part: p})
		switch p.Type {
		case llm.PartText, llm.PartThinking:
			dst = e.Encode(dst, llm.Event{Type: llm.EventDelta, Index: i, Text: p.Text, Signature: p.Signature})
		case llm.PartToolCall:
			if p.ToolCall != nil {
				dst = e.Encode(dst, llm.Event{Type: llm.EventDelta, Index: i, Text: p.ToolCall.Arguments})
			}
		}
		dst = e.Encode(dst, llm.Event{Type: llm.EventBlockStop, Index: i})
	}
	u := r.Usage
	return e.Encode(dst, llm.Event{Type: llm.EventFinish, StopReason: r.StopReason, StopSequence: r.StopSequence, Usage: &u})
}

// frameType is the event name of a raw SSE frame (Anthropic names every
// event), or else the "type" of its data.
func frameType(raw []byte) []byte {
	for len(raw) > 0 {
		line, rest, _ := bytes.Cut(raw, []byte{'\n'})
		raw = rest
		switch {
		case bytes.HasPrefix(line, []byte("event:")):
			return bytes.TrimPrefix(line[len("event:"):], []byte{' '})
		case bytes.HasPrefix(line, []byte("data:")):
			data := bytes.TrimPrefix(line[len("data:"):], []byte{' '})
			if t := gjson.GetBytes(data, "type"); t.Type == gjson.String {
				return []byte(t.Str)
			}
			return nil
		}
	}
	return nil
}
