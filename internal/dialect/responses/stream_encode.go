package responses

import (
	"time"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/jsonw"
	"github.com/tidegate/tidegate/internal/llm"
)

// StreamEncoder renders canonical stream events as the Responses API's
// typed SSE events, numbered by sequence_number:
//
//	response.created, response.in_progress
//	per output item: response.output_item.added, then
//	  text:      content_part.added, output_text.delta…, output_text.done, content_part.done
//	  thinking:  reasoning_summary_part.added, reasoning_summary_text.delta…,
//	             reasoning_summary_text.done, reasoning_summary_part.done
//	  function:  function_call_arguments.delta…, function_call_arguments.done
//	  custom:    custom_tool_call_input.delta, custom_tool_call_input.done
//	  response.output_item.done with the whole item
//	response.completed (response.incomplete on a length or filter stop)
//
// and error + response.failed when the stream fails. Not safe for
// concurrent use; one per response.
type StreamEncoder struct {
	meta
	seq     int
	started bool
	ended   bool
	output  [][]byte
	cur     *item
	stop    llm.StopReason
	usage   llm.Usage
	final   []byte
	// passthrough: the upstream speaks Responses and its frames are
	// relayed as they are (see relay).
	passthrough bool
}

// NewStreamEncoder returns an encoder for a response to req.
func NewStreamEncoder(req *llm.Request) *StreamEncoder {
	return &StreamEncoder{meta: newMeta(req, time.Now())}
}

// Completed returns the final Response object once Finish has run (nil
// before, or after a failure): what the gateway stores for
// previous_response_id.
func (e *StreamEncoder) Completed() []byte { return e.final }

// Encode appends the SSE events for ev to dst. An event of an upstream
// that speaks Responses (RawDialect responses) is its frame, relayed as is.
func (e *StreamEncoder) Encode(dst []byte, ev llm.Event) []byte {
	if ev.RawDialect == Dialect {
		return e.relay(dst, ev)
	}
	if ev.Type == llm.EventStart && !e.started && ev.Model != "" {
		e.model = ev.Model
	}
	if ev.Type == 0 || ev.Type == llm.EventPing || e.ended {
		return dst
	}
	dst = e.start(dst)
	switch ev.Type {
	case llm.EventStart:
		if ev.Usage != nil {
			e.usage.Merge(*ev.Usage)
		}
	case llm.EventBlockStart:
		dst = e.closeItem(dst)
		dst = e.openItem(dst, ev.Part)
	case llm.EventDelta:
		if e.cur == nil {
			dst = e.openItem(dst, nil)
		}
		dst = e.delta(dst, ev.Text, ev.Signature)
	case llm.EventBlockStop:
		dst = e.closeItem(dst)
	case llm.EventFinish:
		e.stop = ev.StopReason
		if ev.Usage != nil {
			e.usage.Merge(*ev.Usage)
		}
	case llm.EventUsage:
		if ev.Usage != nil {
			e.usage.Merge(*ev.Usage)
		}
	case llm.EventResponse:
		if r := ev.Response; r != nil {
			if r.Model != "" && len(e.output) == 0 {
				e.model = r.Model
			}
			for i := range r.Content {
				p := r.Content[i]
				if p.Type == llm.PartImage || p.Type == llm.PartToolResult || (p.Type == llm.PartToolCall && p.ToolCall == nil) {
					continue
				}
				text := p.Text
				if p.ToolCall != nil {
					tc := *p.ToolCall
					text, tc.Arguments = tc.Arguments, ""
					p.ToolCall = &tc
				}
				p.Text = ""
				dst = e.closeItem(dst)
				dst = e.openItem(dst, &p)
				dst = e.delta(dst, text, "")
				dst = e.closeItem(dst)
			}
			e.stop = r.StopReason
			e.usage = r.Usage
		}
	}
	return dst
}

// relay appends an upstream frame unchanged, keeping what Error and
// Completed need: the response id, the last sequence number, and the
// final Response object.
func (e *StreamEncoder) relay(dst []byte, ev llm.Event) []byte {
	e.passthrough, e.started = true, true
	if len(ev.Raw) == 0 || e.ended {
		return dst
	}
	data := frameData(ev.Raw)
	if n := gjson.GetBytes(data, "sequence_number"); n.Exists() {
		e.seq = int(n.Int()) + 1
	}
	switch ev.Type {
	case llm.EventStart:
		if ev.ID != "" {
			e.id = ev.ID
		}
		if ev.Model != "" {
			e.model = ev.Model
		}
	case llm.EventFinish:
		if r := gjson.GetBytes(data, "response"); r.IsObject() {
			e.final = []byte(r.Raw)
		}
	}
	return append(dst, ev.Raw...)
}

// Finish closes what is open and appends response.completed (or
// response.incomplete) with the whole response and its usage. A relayed
// stream has had its own.
func (e *StreamEncoder) Finish(dst []byte) []byte {
	if e.ended {
		return dst
	}
	if e.passthrough {
		e.ended = true
		return dst
	}
	dst = e.start(dst)
	dst = e.closeItem(dst)
	e.ended = true
	status, _ := stopStatus(e.stop)
	typ := "response.completed"
	if status == "incomplete" {
		typ = "response.incomplete"
	}
	e.final = e.appendResponse(nil, status, e.output, e.stop, &e.usage, nil)
	dst = e.event(dst, typ)
	dst = append(dst, `,"response":`...)
	dst = append(dst, e.final...)
	return e.end(dst)
}

// Error appends an error event and response.failed.
func (e *StreamEncoder) Error(dst []byte, err *llm.Error) []byte {
	if e.ended {
		return dst
	}
	dst = e.start(dst)
	e.ended = true
	dst = e.event(dst, "error")
	dst = append(dst, `,"code":`...)
	dst = jsonw.AppendString(dst, failCode(err))
	dst = append(dst, `,"message":`...)
	dst = jsonw.AppendString(dst, failMessage(err))
	dst = append(dst, `,"param":`...)
	if err.Param != "" {
		dst = jsonw.AppendString(dst, err.Param)
	} else {
		dst = append(dst, "null"...)
	}
	dst = e.end(dst)
	dst = e.event(dst, "response.failed")
	dst = append(dst, `,"response":`...)
	dst = e.appendResponse(dst, "failed", e.output, "", nil, err)
	return e.end(dst)
}

// start appends response.created and response.in_progress once.
func (e *StreamEncoder) start(dst []byte) []byte {
	if e.started {
		return dst
	}
	e.started = true
	for _, typ := range [...]string{"response.created", "response.in_progress"} {
		dst = e.event(dst, typ)
		dst = append(dst, `,"response":`...)
		dst = e.appendResponse(dst, "in_progress", nil, "", nil, nil)
		dst = e.end(dst)
	}
	return dst
}

// event opens an SSE event of type typ: its event line and the start of
// its data object, up to and including sequence_number.
func (e *StreamEncoder) event(dst []byte, typ string) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, typ...)
	dst = append(dst, "\ndata: {\"type\":\""...)
	dst = append(dst, typ...)
	dst = append(dst, `","sequence_number":`...)
	dst = jsonw.AppendInt(dst, e.seq)
	e.seq++
	return dst
}

func (e *StreamEncoder) end(dst []byte) []byte { return append(dst, "}\n\n"...) }

// itemEvent opens an event about the current item.
func (e *StreamEncoder) itemEvent(dst []byte, typ string) []byte {
	dst = e.event(dst, typ)
	dst = append(dst, `,"item_id":`...)
	dst = jsonw.AppendString(dst, e.cur.id)
	dst = append(dst, `,"output_index":`...)
	return jsonw.AppendInt(dst, e.cur.index)
}

func (e *StreamEncoder) openItem(dst []byte, p *llm.Part) []byte {
	it := e.newItem(p, len(e.output))
	initial := it.text
	it.text = nil
	e.cur = it
	dst = e.event(dst, "response.output_item.added")
	dst = append(dst, `,"output_index":`...)
	dst = jsonw.AppendInt(dst, it.index)
	dst = append(dst, `,"item":`...)
	dst = e.appendItem(dst, it, false)
	dst = e.end(dst)
	switch it.kind {
	case llm.PartText:
		dst = e.itemEvent(dst, "response.content_part.added")
		dst = append(dst, `,"content_index":0,"part":`...)
		dst = appendTextPart(dst, nil)
		dst = e.end(dst)
	case llm.PartThinking:
		dst = e.itemEvent(dst, "response.reasoning_summary_part.added")
		dst = append(dst, `,"summary_index":0,"part":`...)
		dst = appendSummaryPart(dst, nil)
		dst = e.end(dst)
	}
	return e.delta(dst, string(initial), "")
}

func (e *StreamEncoder) delta(dst []byte, text, sig string) []byte {
	it := e.cur
	it.sig += sig
	if text == "" {
		return dst
	}
	it.text = append(it.text, text...)
	switch it.kind {
	case llm.PartText:
		dst = e.itemEvent(dst, "response.output_text.delta")
		dst = append(dst, `,"content_index":0,"delta":`...)
		dst = jsonw.AppendString(dst, text)
		dst = append(dst, `,"logprobs":[]`...)
	case llm.PartThinking:
		dst = e.itemEvent(dst, "response.reasoning_summary_text.delta")
		dst = append(dst, `,"summary_index":0,"delta":`...)
		dst = jsonw.AppendString(dst, text)
	case llm.PartToolCall:
		if e.tools[it.call.Name].Custom {
			return dst // the freeform input is inside JSON: sent whole at the end
		}
		dst = e.itemEvent(dst, "response.function_call_arguments.delta")
		dst = append(dst, `,"delta":`...)
		dst = jsonw.AppendString(dst, text)
	default:
		return dst
	}
	return e.end(dst)
}

func (e *StreamEncoder) closeItem(dst []byte) []byte {
	it := e.cur
	if it == nil {
		return dst
	}
	e.cur = nil
	switch it.kind {
	case llm.PartText:
		e.cur = it
		dst = e.itemEvent(dst, "response.output_text.done")
		dst = append(dst, `,"content_index":0,"text":`...)
		dst = jsonw.AppendString(dst, string(it.text))
		dst = append(dst, `,"logprobs":[]`...)
		dst = e.end(dst)
		dst = e.itemEvent(dst, "response.content_part.done")
		dst = append(dst, `,"content_index":0,"part":`...)
		dst = appendTextPart(dst, it.text)
		dst = e.end(dst)
	case llm.PartThinking:
		e.cur = it
		dst = e.itemEvent(dst, "response.reasoning_summary_text.done")
		dst = append(dst, `,"summary_index":0,"text":`...)
		dst = jsonw.AppendString(dst, string(it.text))
		dst = e.end(dst)
		dst = e.itemEvent(dst, "response.reasoning_summary_part.done")
		dst = append(dst, `,"summary_index":0,"part":`...)
		dst = appendSummaryPart(dst, it.text)
		dst = e.end(dst)
	case llm.PartToolCall:
		e.cur = it
		if len(it.text) == 0 {
			it.text = append(it.text, "{}"...)
		}
		tn, ok := e.tools[it.call.Name]
		if ok && tn.Custom {
			in := customInput(it.text)
			dst = e.itemEvent(dst, "response.custom_tool_call_input.delta")
			dst = append(dst, `,"delta":`...)
			dst = jsonw.AppendString(dst, in)
			dst = e.end(dst)
			dst = e.itemEvent(dst, "response.custom_tool_call_input.done")
			dst = append(dst, `,"input":`...)
			dst = jsonw.AppendString(dst, in)
		} else {
			if !ok {
				tn.Name = it.call.Name
			}
			dst = e.itemEvent(dst, "response.function_call_arguments.done")
			dst = append(dst, `,"name":`...)
			dst = jsonw.AppendString(dst, tn.Name)
			dst = append(dst, `,"arguments":`...)
			dst = jsonw.AppendString(dst, string(it.text))
		}
		dst = e.end(dst)
	}
	e.cur = nil
	done := e.appendItem(nil, it, true)
	e.output = append(e.output, done)
	dst = e.event(dst, "response.output_item.done")
	dst = append(dst, `,"output_index":`...)
	dst = jsonw.AppendInt(dst, it.index)
	dst = append(dst, `,"item":`...)
	dst = append(dst, done...)
	return e.end(dst)
}
