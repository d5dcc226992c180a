package responses

import (
	"encoding/json"
	"time"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/jsonw"
	"github.com/tidegate/tidegate/internal/llm"
)

// item is one output item being built: a message (text), a reasoning
// item (thinking or redacted thinking) or a function/custom tool call.
type item struct {
	kind  llm.PartType
	id    string
	index int    // output_index
	text  []byte // text, reasoning text, or call arguments
	sig   string // thinking signature, or redacted data
	call  llm.ToolCall
}

// meta is what every Response object of one request repeats.
type meta struct {
	id      string
	created int64
	model   string
	tools   Tools
	tail    []byte // the request's echoed settings, starting with ','
	newID   func(prefix string) string
}

func newMeta(req *llm.Request, now time.Time) meta {
	m := meta{id: randomID("resp_"), created: now.Unix(), model: req.Model, newID: randomID}
	body := req.Source.Body
	m.tools = ToolsOf(body)
	m.tail = echo(gjson.ParseBytes(body))
	return m
}

// echo renders the request settings a Response object repeats, with
// OpenAI's defaults for the absent ones.
func echo(root gjson.Result) []byte {
	fields := [...]struct{ key, def string }{
		{"instructions", "null"},
		{"max_output_tokens", "null"},
		{"metadata", "{}"},
		{"parallel_tool_calls", "true"},
		{"previous_response_id", "null"},
		{"prompt_cache_key", "null"},
		{"reasoning", `{"effort":null,"summary":null}`},
		{"store", "true"},
		{"temperature", "1.0"},
		{"text", `{"format":{"type":"text"}}`},
		{"tool_choice", `"auto"`},
		{"tools", "[]"},
		{"top_p", "1.0"},
		{"truncation", `"disabled"`},
		{"user", "null"},
	}
	var b []byte
	for _, f := range fields {
		b = append(b, ',', '"')
		b = append(b, f.key...)
		b = append(b, '"', ':')
		if v := root.Get(f.key); v.Exists() && v.Type != gjson.Null {
			b = jsonw.AppendCompact(b, v.Raw)
		} else {
			b = append(b, f.def...)
		}
	}
	return b
}

// appendResponse renders the Response object with the given output items
// (already-encoded JSON objects).
func (m *meta) appendResponse(dst []byte, status string, output [][]byte, stop llm.StopReason, usage *llm.Usage, fail *llm.Error) []byte {
	dst = append(dst, `{"id":`...)
	dst = jsonw.AppendString(dst, m.id)
	dst = append(dst, `,"object":"response","created_at":`...)
	dst = jsonw.AppendInt(dst, m.created)
	dst = append(dst, `,"status":"`...)
	dst = append(dst, status...)
	dst = append(dst, `","background":false,"error":`...)
	if fail != nil {
		dst = append(dst, `{"code":`...)
		dst = jsonw.AppendString(dst, failCode(fail))
		dst = append(dst, `,"message":`...)
		dst = jsonw.AppendString(dst, failMessage(fail))
		dst = append(dst, '}')
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"incomplete_details":`...)
	if _, reason := stopStatus(stop); status == "incomplete" && reason != "" {
		dst = append(dst, `{"reason":"`...)
		dst = append(dst, reason...)
		dst = append(dst, `"}`...)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"model":`...)
	dst = jsonw.AppendString(dst, m.model)
	dst = append(dst, `,"output":[`...)
	for i, o := range output {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, o...)
	}
	dst = append(dst, ']')
	dst = append(dst, m.tail...)
	dst = append(dst, `,"usage":`...)
	if usage != nil {
		dst = appendUsage(dst, *usage)
	} else {
		dst = append(dst, "null"...)
	}
	return append(dst, '}')
}

func failCode(e *llm.Error) string {
	switch e.Kind {
	case llm.KindRateLimit, llm.KindBudget:
		return "rate_limit_exceeded"
	case llm.KindInvalidRequest, llm.KindTooLarge:
		return "invalid_prompt"
	}
	return "server_error"
}

func failMessage(e *llm.Error) string {
	if e.Message != "" {
		return e.Message
	}
	return e.Kind.String()
}

func appendUsage(dst []byte, u llm.Usage) []byte {
	dst = append(dst, `{"input_tokens":`...)
	dst = jsonw.AppendInt(dst, u.InputTokens)
	dst = append(dst, `,"input_tokens_details":{"cached_tokens":`...)
	dst = jsonw.AppendInt(dst, u.CacheReadTokens)
	dst = append(dst, `},"output_tokens":`...)
	dst = jsonw.AppendInt(dst, u.OutputTokens)
	dst = append(dst, `,"output_tokens_details":{"reasoning_tokens":`...)
	dst = jsonw.AppendInt(dst, u.ReasoningTokens)
	dst = append(dst, `},"total_tokens":`...)
	dst = jsonw.AppendInt(dst, u.Total())
	return append(dst, '}')
}

// newItem starts an output item for a canonical part.
func (m *meta) newItem(p *llm.Part, index int) *item {
	it := &item{kind: llm.PartText, index: index}
	if p != nil {
		it.kind = p.Type
	}
	switch it.kind {
	case llm.PartToolCall:
		if p.ToolCall != nil {
			it.call = *p.ToolCall
			it.text = append(it.text, p.ToolCall.Arguments...)
		}
		it.id = m.newID("fc_")
		if m.tools[it.call.Name].Custom {
			it.id = m.newID("ctc_")
		}
	case llm.PartThinking:
		it.id = m.newID("rs_")
		it.text = append(it.text, p.Text...)
		it.sig = p.Signature
	case llm.PartRedactedThinking:
		it.id = m.newID("rs_")
		it.sig = p.Data
	default:
		it.kind = llm.PartText
		it.id = m.newID("msg_")
		if p != nil {
			it.text = append(it.text, p.Text...)
		}
	}
	return it
}

// appendItem renders it as an output item; done says it is complete.
func (m *meta) appendItem(dst []byte, it *item, done bool) []byte {
	status := "in_progress"
	if done {
		status = "completed"
	}
	dst = append(dst, `{"id":`...)
	dst = jsonw.AppendString(dst, it.id)
	switch it.kind {
	case llm.PartText:
		dst = append(dst, `,"type":"message","status":"`...)
		dst = append(dst, status...)
		dst = append(dst, `","content":[`...)
		if done {
			dst = appendTextPart(dst, it.text)
		}
		dst = append(dst, `],"role":"assistant"`...)
	case llm.PartThinking, llm.PartRedactedThinking:
		dst = append(dst, `,"type":"reasoning","summary":[`...)
		if done && len(it.text) > 0 {
			dst = appendSummaryPart(dst, it.text)
		}
		dst = append(dst, ']')
		if done && it.sig != "" {
			dst = append(dst, `,"encrypted_content":`...)
			prefix := sigPrefix
			if it.kind == llm.PartRedactedThinking {
				prefix = redactedPrefix
			}
			dst = jsonw.AppendString(dst, prefix+it.sig)
		}
	case llm.PartToolCall:
		tn, mapped := m.tools[it.call.Name]
		if !mapped {
			tn = ToolName{Name: it.call.Name}
		}
		if tn.Custom {
			dst = append(dst, `,"type":"custom_tool_call","status":"`...)
			dst = append(dst, status...)
			dst = append(dst, `","call_id":`...)
			dst = jsonw.AppendString(dst, it.call.ID)
			dst = append(dst, `,"input":`...)
			in := ""
			if done {
				in = customInput(it.text)
			}
			dst = jsonw.AppendString(dst, in)
		} else {
			dst = append(dst, `,"type":"function_call","status":"`...)
			dst = append(dst, status...)
			dst = append(dst, `","arguments":`...)
			args := string(it.text)
			if done && args == "" {
				args = "{}"
			}
			dst = jsonw.AppendString(dst, args)
			dst = append(dst, `,"call_id":`...)
			dst = jsonw.AppendString(dst, it.call.ID)
		}
		dst = append(dst, `,"name":`...)
		dst = jsonw.AppendString(dst, tn.Name)
		if tn.Namespace != "" {
			dst = append(dst, `,"namespace":`...)
			dst = jsonw.AppendString(dst, tn.Namespace)
		}
	}
	return append(dst, '}')
}

// customInput unwraps a custom tool's {"input": …} arguments; anything
// else the model produced is passed on as the input itself.
func customInput(args []byte) string {
	var v struct {
		Input *string `json:"input"`
	}
	if json.Unmarshal(args, &v) == nil && v.Input != nil {
		return *v.Input
	}
	return string(args)
}

func appendTextPart(dst []byte, text []byte) []byte {
	dst = append(dst, `{"type":"output_text","annotations":[],"logprobs":[],"text":`...)
	dst = jsonw.AppendString(dst, string(text))
	return append(dst, '}')
}

func appendSummaryPart(dst []byte, text []byte) []byte {
	dst = append(dst, `{"type":"summary_text","text":`...)
	dst = jsonw.AppendString(dst, string(text))
	return append(dst, '}')
}

// EncodeResponse renders a whole non-stream Response object for req.
// Consecutive text parts form one message item; thinking becomes a
// reasoning item, tool calls function_call (or custom_tool_call) items.
func EncodeResponse(req *llm.Request, resp *llm.Response) []byte {
	m := newMeta(req, time.Now())
	if resp.Model != "" {
		m.model = resp.Model
	}
	return m.encode(resp)
}

func (m *meta) encode(resp *llm.Response) []byte {
	var output [][]byte
	var text *item
	flush := func() {
		if text != nil {
			output = append(output, m.appendItem(nil, text, true))
			text = nil
		}
	}
	for i := range resp.Content {
		p := &resp.Content[i]
		if p.Type == llm.PartText {
			if text == nil {
				text = m.newItem(p, len(output))
			} else {
				text.text = append(text.text, p.Text...)
			}
			continue
		}
		if p.Type == llm.PartToolCall && p.ToolCall == nil || p.Type == llm.PartImage || p.Type == llm.PartToolResult {
			continue
		}
		flush()
		output = append(output, m.appendItem(nil, m.newItem(p, len(output)), true))
	}
	flush()
	status, _ := stopStatus(resp.StopReason)
	return m.appendResponse(nil, status, output, resp.StopReason, &resp.Usage, nil)
}
