package openai

import (
	"bytes"
	"time"

	"github.com/tidegate/tidegate/internal/jsonw"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidwall/gjson"
)

// StreamEncoder renders canonical stream events as OpenAI SSE chunks
// (chat.completion.chunk, or text_completion for OpCompletion). It is not
// safe for concurrent use; one per response.
type StreamEncoder struct {
	completion   bool
	includeUsage bool

	id      string
	model   string
	created int64
	prefix  []byte // `{"id":…,"object":…,"created":…,"model":…,"choices":[`

	started     bool
	finished    bool
	passthrough bool

	block     llm.PartType // kind of the current block
	toolIndex int          // ordinal of the current tool block
	tools     int          // tool blocks seen

	usage     llm.Usage
	haveUsage bool

	now func() time.Time
}

// NewStreamEncoder returns an encoder for a response to req.
func NewStreamEncoder(req *llm.Request) *StreamEncoder {
	return &StreamEncoder{
		completion:   req.Op == llm.OpCompletion,
		includeUsage: req.IncludeUsage,
		model:        req.Model,
		now:          time.Now,
	}
}

// Encode appends the SSE frames for ev to dst.
//
// Same-dialect passthrough: an event with RawDialect "openai" is written as
// its Raw bytes (nothing when Raw is empty: its frame went out with an
// earlier event), except that a usage-only chunk is dropped when the
// caller did not ask for usage (tidegate asked the upstream for it).
func (e *StreamEncoder) Encode(dst []byte, ev llm.Event) []byte {
	if ev.RawDialect == Dialect {
		e.passthrough = true
		if len(ev.Raw) == 0 {
			return dst
		}
		if ev.Type == llm.EventUsage && !e.includeUsage && usageOnlyFrame(ev.Raw) {
			return dst
		}
		return append(dst, ev.Raw...)
	}
	switch ev.Type {
	case llm.EventStart:
		if !e.started {
			if ev.ID != "" {
				e.id = ev.ID
			}
			if ev.Model != "" {
				e.model = ev.Model
			}
		}
		dst = e.start(dst)
	case llm.EventBlockStart:
		dst = e.start(dst)
		e.block = llm.PartText
		if ev.Part == nil {
			break
		}
		e.block = ev.Part.Type
		switch ev.Part.Type {
		case llm.PartToolCall:
			e.toolIndex = e.tools
			e.tools++
			if tc := ev.Part.ToolCall; tc != nil {
				dst = e.toolStart(dst, tc.ID, tc.Name, tc.Arguments)
			} else {
				dst = e.toolStart(dst, "", "", "")
			}
		case llm.PartText:
			dst = e.textDelta(dst, ev.Part.Text)
		case llm.PartThinking:
			dst = e.reasoningDelta(dst, ev.Part.Text)
		}
	case llm.EventDelta:
		dst = e.start(dst)
		switch e.block {
		case llm.PartToolCall:
			dst = e.argsDelta(dst, ev.Text)
		case llm.PartThinking:
			dst = e.reasoningDelta(dst, ev.Text)
		case llm.PartText, "":
			dst = e.textDelta(dst, ev.Text)
		}
	case llm.EventBlockStop:
		e.block = ""
	case llm.EventFinish:
		dst = e.start(dst)
		dst = e.finish(dst, ev.StopReason)
		if ev.Usage != nil {
			e.addUsage(*ev.Usage)
		}
	case llm.EventUsage:
		if ev.Usage != nil {
			e.addUsage(*ev.Usage)
		}
	case llm.EventResponse:
		if ev.Response != nil {
			dst = e.response(dst, ev.Response)
		}
	}
	return dst
}

// Finish appends the end of a clean stream: the finish chunk if none was
// sent, the usage chunk when the caller asked for it, and data: [DONE].
func (e *StreamEncoder) Finish(dst []byte) []byte {
	if !e.passthrough {
		dst = e.start(dst)
		if !e.finished {
			reason := llm.StopEndTurn
			if e.tools > 0 && !e.completion {
				reason = llm.StopToolUse
			}
			dst = e.finish(dst, reason)
		}
		if e.includeUsage && e.haveUsage {
			dst = append(dst, "data: "...)
			dst = append(dst, e.prefix...)
			dst = append(dst, `],"usage":`...)
			dst = appendUsage(dst, e.usage)
			dst = append(dst, "}\n\n"...)
		}
	}
	return append(dst, "data: [DONE]\n\n"...)
}

// Error appends an in-stream error event: data: {"error":{…}}.
func (e *StreamEncoder) Error(dst []byte, err *llm.Error) []byte {
	dst = append(dst, `data: {"error":{"message":`...)
	dst = jsonw.AppendString(dst, errorMessage(err))
	dst = append(dst, `,"type":"`...)
	dst = append(dst, errorType(err.Kind)...)
	dst = append(dst, `","code":`...)
	dst = appendStringOrNull(dst, errorCode(err))
	return append(dst, "}}\n\n"...)
}

func (e *StreamEncoder) addUsage(u llm.Usage) {
	e.usage.Merge(u)
	e.haveUsage = true
}

// start writes the opening chunk (chat: the assistant role) once.
func (e *StreamEncoder) start(dst []byte) []byte {
	if e.started {
		return dst
	}
	e.started = true
	if e.id == "" {
		if e.completion {
			e.id = newID("cmpl-")
		} else {
			e.id = newID("chatcmpl-")
		}
	}
	if e.created == 0 {
		e.created = e.now().Unix()
	}
	p := make([]byte, 0, 96+len(e.id)+len(e.model))
	p = append(p, `{"id":`...)
	p = jsonw.AppendString(p, e.id)
	if e.completion {
		p = append(p, `,"object":"text_completion","created":`...)
	} else {
		p = append(p, `,"object":"chat.completion.chunk","created":`...)
	}
	p = jsonw.AppendInt(p, e.created)
	p = append(p, `,"model":`...)
	p = jsonw.AppendString(p, e.model)
	p = append(p, `,"choices":[`...)
	e.prefix = p
	if e.completion {
		return dst
	}
	return e.delta(dst, `{"role":"assistant","content":""}`)
}

// delta appends a chat chunk with the given delta object.
func (e *StreamEncoder) delta(dst []byte, delta string) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, e.prefix...)
	dst = append(dst, `{"index":0,"delta":`...)
	dst = append(dst, delta...)
	return append(dst, `,"logprobs":null,"finish_reason":null}]}`+"\n\n"...)
}

func (e *StreamEncoder) textDelta(dst []byte, s string) []byte {
	if s == "" {
		return dst
	}
	dst = append(dst, "data: "...)
	dst = append(dst, e.prefix...)
	if e.completion {
		dst = append(dst, `{"text":`...)
		dst = jsonw.AppendString(dst, s)
		return append(dst, `,"index":0,"logprobs":null,"finish_reason":null}]}`+"\n\n"...)
	}
	dst = append(dst, `{"index":0,"delta":{"content":`...)
	dst = jsonw.AppendString(dst, s)
	return append(dst, `},"logprobs":null,"finish_reason":null}]}`+"\n\n"...)
}

func (e *StreamEncoder) reasoningDelta(dst []byte, s string) []byte {
	if s == "" || e.completion {
		return dst
	}
	dst = append(dst, "data: "...)
	dst = append(dst, e.prefix...)
	dst = append(dst, `{"index":0,"delta":{"reasoning_content":`...)
	dst = jsonw.AppendString(dst, s)
	return append(dst, `},"logprobs":null,"finish_reason":null}]}`+"\n\n"...)
}

func (e *StreamEncoder) toolStart(dst []byte, id, name, args string) []byte {
	if e.completion {
		return dst
	}
	dst = append(dst, "data: "...)
	dst = append(dst, e.prefix...)
	dst = append(dst, `{"index":0,"delta":{"tool_calls":[{"index":`...)
	dst = jsonw.AppendInt(dst, e.toolIndex)
	dst = append(dst, `,"id":`...)
	dst = jsonw.AppendString(dst, id)
	dst = append(dst, `,"type":"function","function":{"name":`...)
	dst = jsonw.AppendString(dst, name)
	dst = append(dst, `,"arguments":`...)
	dst = jsonw.AppendString(dst, args)
	return append(dst, `}}]},"logprobs":null,"finish_reason":null}]}`+"\n\n"...)
}

func (e *StreamEncoder) argsDelta(dst []byte, frag string) []byte {
	if frag == "" || e.completion {
		return dst
	}
	dst = append(dst, "data: "...)
	dst = append(dst, e.prefix...)
	dst = append(dst, `{"index":0,"delta":{"tool_calls":[{"index":`...)
	dst = jsonw.AppendInt(dst, e.toolIndex)
	dst = append(dst, `,"function":{"arguments":`...)
	dst = jsonw.AppendString(dst, frag)
	return append(dst, `}}]},"logprobs":null,"finish_reason":null}]}`+"\n\n"...)
}

func (e *StreamEncoder) finish(dst []byte, reason llm.StopReason) []byte {
	if e.finished {
		return dst
	}
	e.finished = true
	dst = append(dst, "data: "...)
	dst = append(dst, e.prefix...)
	if e.completion {
		dst = append(dst, `{"text":"","index":0,"logprobs":null,"finish_reason":"`...)
	} else {
		dst = append(dst, `{"index":0,"delta":{},"logprobs":null,"finish_reason":"`...)
	}
	dst = append(dst, finishReason(reason)...)
	return append(dst, `"}]}`+"\n\n"...)
}

// response renders a whole response (a replayed or synthesised answer to
// a stream request) as a sequence of chunks.
func (e *StreamEncoder) response(dst []byte, r *llm.Response) []byte {
	if !e.started {
		if r.ID != "" {
			e.id = r.ID
		}
		if r.Model != "" {
			e.model = r.Model
		}
		e.created = r.Created
	}
	dst = e.start(dst)
	for i := range r.Content {
		p := &r.Content[i]
		switch p.Type {
		case llm.PartText:
			dst = e.textDelta(dst, p.Text)
		case llm.PartThinking:
			dst = e.reasoningDelta(dst, p.Text)
		case llm.PartToolCall:
			if p.ToolCall == nil {
				continue
			}
			e.toolIndex = e.tools
			e.tools++
			args := p.ToolCall.Arguments
			if args == "" {
				args = "{}"
			}
			dst = e.toolStart(dst, p.ToolCall.ID, p.ToolCall.Name, args)
		}
	}
	e.block = ""
	dst = e.finish(dst, r.StopReason)
	e.addUsage(r.Usage)
	return dst
}

// usageOnlyFrame reports whether an upstream SSE frame is OpenAI's final
// usage chunk (choices empty).
func usageOnlyFrame(raw []byte) bool {
	i := bytes.Index(raw, []byte("data:"))
	if i < 0 {
		return false
	}
	data := raw[i+len("data:"):]
	choices := gjson.GetBytes(data, "choices")
	if choices.Exists() && !choices.IsArray() {
		return false
	}
	empty := true
	choices.ForEach(func(_, _ gjson.Result) bool {
		empty = false
		return false
	})
	return empty && gjson.GetBytes(data, "usage").IsObject()
}
