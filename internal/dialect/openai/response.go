package openai

import (
	"time"

	"github.com/tidegate/tidegate/internal/jsonw"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidwall/gjson"
)

// EncodeResponse renders a whole non-stream response: a chat.completion,
// or a text_completion when resp.Op is OpCompletion. Thinking parts are
// rendered as reasoning_content (the DeepSeek/vLLM convention many clients
// read). A missing ID or Created is generated.
func EncodeResponse(resp *llm.Response) []byte {
	n := 384
	for i := range resp.Content {
		p := &resp.Content[i]
		n += len(p.Text) + 8
		if p.ToolCall != nil {
			n += 80 + len(p.ToolCall.Name) + len(p.ToolCall.Arguments)
		}
	}
	b := make([]byte, 0, n)
	completion := resp.Op == llm.OpCompletion
	id := resp.ID
	if id == "" {
		if completion {
			id = newID("cmpl-")
		} else {
			id = newID("chatcmpl-")
		}
	}
	created := resp.Created
	if created == 0 {
		created = time.Now().Unix()
	}
	b = append(b, `{"id":`...)
	b = jsonw.AppendString(b, id)
	if completion {
		b = append(b, `,"object":"text_completion","created":`...)
	} else {
		b = append(b, `,"object":"chat.completion","created":`...)
	}
	b = jsonw.AppendInt(b, created)
	b = append(b, `,"model":`...)
	b = jsonw.AppendString(b, resp.Model)
	if completion {
		b = append(b, `,"choices":[{"text":`...)
		b = appendJoinedText(b, resp.Content, "")
		b = append(b, `,"index":0,"logprobs":null,"finish_reason":"`...)
	} else {
		b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
		b = appendAssistantText(b, resp.Content)
		for i := range resp.Content {
			if resp.Content[i].Type == llm.PartThinking && resp.Content[i].Text != "" {
				b = append(b, `,"reasoning_content":`...)
				b = appendJoinedThinking(b, resp.Content)
				break
			}
		}
		b = appendToolCalls(b, resp.Content)
		b = append(b, `,"refusal":null},"logprobs":null,"finish_reason":"`...)
	}
	b = append(b, finishReason(resp.StopReason)...)
	b = append(b, `"}],"usage":`...)
	b = appendUsage(b, resp.Usage)
	return append(b, '}')
}

func appendJoinedThinking(b []byte, parts []llm.Part) []byte {
	b = append(b, '"')
	for i := range parts {
		if parts[i].Type == llm.PartThinking {
			b = jsonw.AppendEscaped(b, parts[i].Text)
		}
	}
	return append(b, '"')
}

// DecodeResponse decodes a whole upstream response, chat.completion or
// text_completion (first choice). Invalid JSON is KindUpstream; an error
// object in a 2xx body is returned as the error it describes.
func DecodeResponse(body []byte) (*llm.Response, error) {
	if !gjson.ValidBytes(body) {
		return nil, errUpstreamJSON()
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, errUpstreamJSON()
	}
	resp := &llm.Response{}
	var choice, errv gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			resp.ID = v.String()
		case "object":
			if v.Str == "text_completion" {
				resp.Op = llm.OpCompletion
			}
		case "created":
			resp.Created = v.Int()
		case "model":
			resp.Model = v.String()
		case "choices":
			choice = firstChoice(v)
		case "usage":
			if v.IsObject() {
				resp.Usage = decodeUsage(v)
			}
		case "error":
			errv = v
		}
		return true
	})
	if errv.Exists() && errv.Type != gjson.Null && !choice.Exists() {
		return nil, errorFromBody(0, errv, root)
	}
	if !choice.Exists() {
		return resp, nil
	}
	var finish string
	choice.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "text":
			resp.Op = llm.OpCompletion
			if s := v.String(); s != "" {
				resp.Content = append(resp.Content, llm.TextPart(s))
			}
		case "message":
			resp.Content = decodeMessageOut(v, resp.Content)
		case "finish_reason":
			finish = v.String()
		case "stop_reason": // vLLM: the matched stop string (or token id)
			if v.Type == gjson.String && v.Str != "" {
				resp.StopSequence = v.Str
			}
		}
		return true
	})
	resp.StopReason = stopReason(finish)
	if resp.StopSequence != "" && resp.StopReason == llm.StopEndTurn {
		resp.StopReason = llm.StopSequence
	}
	return resp, nil
}

// firstChoice returns the choice with index 0 (or the first one).
func firstChoice(choices gjson.Result) gjson.Result {
	var first, zero gjson.Result
	choices.ForEach(func(_, c gjson.Result) bool {
		if !first.Exists() {
			first = c
		}
		if ix := c.Get("index"); !ix.Exists() || ix.Int() == 0 {
			zero = c
			return false
		}
		return true
	})
	if zero.Exists() {
		return zero
	}
	return first
}

// decodeMessageOut decodes an assistant message of a response: reasoning,
// then text (content, or refusal when there is none), then tool calls.
func decodeMessageOut(m gjson.Result, parts []llm.Part) []llm.Part {
	var reasoning, refusal string
	var content, calls gjson.Result
	m.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "reasoning_content":
			if v.Type == gjson.String {
				reasoning = v.Str
			}
		case "reasoning":
			if v.Type == gjson.String && reasoning == "" {
				reasoning = v.Str
			}
		case "content":
			content = v
		case "refusal":
			if v.Type == gjson.String {
				refusal = v.Str
			}
		case "tool_calls":
			calls = v
		}
		return true
	})
	if reasoning != "" {
		parts = append(parts, llm.Part{Type: llm.PartThinking, Text: reasoning})
	}
	text := len(parts)
	switch {
	case content.Type == gjson.String:
		if content.Str != "" {
			parts = append(parts, llm.TextPart(content.Str))
		}
	case content.IsArray(): // some compat servers answer with parts
		content.ForEach(func(_, p gjson.Result) bool {
			if s := p.Get("text"); s.Type == gjson.String && s.Str != "" {
				parts = append(parts, llm.TextPart(s.Str))
			}
			return true
		})
	}
	if refusal != "" && len(parts) == text {
		parts = append(parts, llm.TextPart(refusal))
	}
	calls.ForEach(func(_, tc gjson.Result) bool {
		fn := tc.Get("function")
		call := &llm.ToolCall{ID: tc.Get("id").String(), Name: fn.Get("name").String()}
		switch args := fn.Get("arguments"); {
		case args.Type == gjson.String:
			call.Arguments = args.Str
		case args.IsObject():
			call.Arguments = args.Raw
		}
		if call.Arguments == "" {
			call.Arguments = "{}"
		}
		parts = append(parts, llm.Part{Type: llm.PartToolCall, ToolCall: call})
		return true
	})
	return parts
}
