package anthropic

import (
	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/jsonw"
	"github.com/tidegate/tidegate/internal/llm"
)

// wireUsage is usage as Anthropic counts it: input excludes cache reads and
// writes.
type wireUsage struct {
	input, output, cacheRead, cacheWrite, thinking int
}

// merge takes every non-zero count of an Anthropic usage object.
func (w *wireUsage) merge(v gjson.Result) {
	if !v.IsObject() {
		return
	}
	v.ForEach(func(k, f gjson.Result) bool {
		switch k.Str {
		case "input_tokens":
			setCount(&w.input, f)
		case "output_tokens":
			setCount(&w.output, f)
		case "cache_read_input_tokens":
			setCount(&w.cacheRead, f)
		case "cache_creation_input_tokens":
			setCount(&w.cacheWrite, f)
		case "output_tokens_details":
			setCount(&w.thinking, f.Get("thinking_tokens"))
		}
		return true
	})
}

func setCount(dst *int, v gjson.Result) {
	if v.Type == gjson.Number && v.Num > 0 && v.Num < 1<<53 {
		*dst = int(v.Num)
	}
}

// canonical converts to llm.Usage, whose input includes the cache.
func (w wireUsage) canonical() llm.Usage {
	return llm.Usage{
		InputTokens:      w.input + w.cacheRead + w.cacheWrite,
		OutputTokens:     w.output,
		CacheReadTokens:  w.cacheRead,
		CacheWriteTokens: w.cacheWrite,
		ReasoningTokens:  w.thinking,
	}
}

// uncachedInput is Anthropic's input_tokens for a canonical usage.
func uncachedInput(u llm.Usage) int {
	return max(u.InputTokens-u.CacheReadTokens-u.CacheWriteTokens, 0)
}

// appendUsage writes the four usage counts Anthropic always reports.
func appendUsage(b []byte, u llm.Usage) []byte {
	b = append(b, `{"input_tokens":`...)
	b = jsonw.AppendInt(b, uncachedInput(u))
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = jsonw.AppendInt(b, u.CacheWriteTokens)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = jsonw.AppendInt(b, u.CacheReadTokens)
	b = append(b, `,"output_tokens":`...)
	b = jsonw.AppendInt(b, u.OutputTokens)
	return append(b, '}')
}

// EncodeResponse encodes a whole non-stream response as a Messages API
// message. Empty text blocks are left out; an answer with no content has
// "content":[], as the Anthropic API itself returns. Tool call ids are
// mapped to Anthropic's character set so the caller can send them back to
// an Anthropic upstream.
func EncodeResponse(resp *llm.Response) []byte {
	size := 256 + len(resp.ID) + len(resp.Model)
	for i := range resp.Content {
		size += partSize(&resp.Content[i])
	}
	b := make([]byte, 0, size+size/16)
	b = append(b, `{"id":`...)
	id := resp.ID
	if id == "" {
		id = newMessageID()
	}
	b = jsonw.AppendString(b, id)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = jsonw.AppendString(b, resp.Model)
	b = append(b, `,"content":[`...)
	for i := range resp.Content {
		p := &resp.Content[i]
		switch p.Type {
		case llm.PartText:
			if p.Text == "" {
				continue
			}
			b = appendComma(b)
			b = appendTextBlock(b, p.Text, nil)
		case llm.PartThinking:
			b = appendComma(b)
			b = appendThinking(b, p.Text, p.Signature)
		case llm.PartRedactedThinking:
			b = appendComma(b)
			b = appendRedacted(b, p.Data)
		case llm.PartToolCall:
			if p.ToolCall == nil {
				continue
			}
			b = appendComma(b)
			b = appendToolUse(b, p.ToolCall.ID, p.ToolCall.Name, p.ToolCall.Arguments, nil)
		}
	}
	b = append(b, `],"stop_reason":`...)
	b = jsonw.AppendString(b, wireStopReason(resp.StopReason))
	b = append(b, `,"stop_sequence":`...)
	b = appendStopSequence(b, resp.StopReason, resp.StopSequence)
	b = append(b, `,"usage":`...)
	b = appendUsage(b, resp.Usage)
	return append(b, '}')
}

func appendStopSequence(b []byte, r llm.StopReason, seq string) []byte {
	if r == llm.StopSequence && seq != "" {
		return jsonw.AppendString(b, seq)
	}
	return append(b, "null"...)
}

// DecodeResponse decodes an upstream's whole non-stream message. Server
// tool blocks (server_tool_use, web_search_tool_result, …) have no
// canonical form and are skipped. Invalid JSON is a KindUpstream error; an
// error object is decoded as the error it reports.
func DecodeResponse(body []byte) (*llm.Response, error) {
	if !gjson.ValidBytes(body) {
		return nil, upstreamError("upstream response is not valid JSON", nil)
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, upstreamError("upstream response is not a JSON object", nil)
	}
	resp := &llm.Response{}
	var (
		content, usage gjson.Result
		isError        bool
		stop           string
	)
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "type":
			isError = v.Str == "error"
		case "id":
			resp.ID = v.String()
		case "model":
			resp.Model = v.String()
		case "content":
			content = v
		case "stop_reason":
			stop = v.String()
		case "stop_sequence":
			if v.Type == gjson.String {
				resp.StopSequence = v.Str
			}
		case "usage":
			usage = v
		}
		return true
	})
	if isError {
		return nil, DecodeError(0, body)
	}
	resp.StopReason = stopReason(stop)
	var w wireUsage
	w.merge(usage)
	resp.Usage = w.canonical()
	if content.IsArray() {
		content.ForEach(func(_, c gjson.Result) bool {
			if p, ok := decodeOutputBlock(c); ok {
				resp.Content = append(resp.Content, p)
			}
			return true
		})
	}
	return resp, nil
}

// decodeOutputBlock reads one content block of a response.
func decodeOutputBlock(c gjson.Result) (llm.Part, bool) {
	if !c.IsObject() {
		return llm.Part{}, false
	}
	f := readBlock(c)
	switch f.typ.Str {
	case "text":
		if f.text.Str == "" {
			return llm.Part{}, false
		}
		return llm.TextPart(f.text.Str), true
	case "thinking":
		return llm.Part{Type: llm.PartThinking, Text: f.thinking.Str, Signature: f.signature.Str}, true
	case "redacted_thinking":
		return llm.Part{Type: llm.PartRedactedThinking, Data: f.data.Str}, true
	case "tool_use":
		args := "{}"
		if f.input.IsObject() {
			if c := compactBytes(f.input.Raw); len(c) > 2 {
				args = string(c)
			}
		}
		return llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: f.id.Str, Name: f.name.Str, Arguments: args}}, true
	}
	return llm.Part{}, false
}

// EncodeCountTokensResponse is the /v1/messages/count_tokens answer.
func EncodeCountTokensResponse(n int) []byte {
	b := make([]byte, 0, 32)
	b = append(b, `{"input_tokens":`...)
	b = jsonw.AppendInt(b, n)
	return append(b, '}')
}

// DecodeCountTokensResponse reads input_tokens from an upstream's
// count_tokens answer.
func DecodeCountTokensResponse(body []byte) (int, error) {
	if !gjson.ValidBytes(body) {
		return 0, upstreamError("upstream count_tokens response is not valid JSON", nil)
	}
	root := gjson.ParseBytes(body)
	if root.Get("type").Str == "error" {
		return 0, DecodeError(0, body)
	}
	n := root.Get("input_tokens")
	if n.Type != gjson.Number || n.Num < 0 || n.Num >= 1<<53 {
		return 0, upstreamError("upstream count_tokens response has no input_tokens", nil)
	}
	return int(n.Num), nil
}

func upstreamError(msg string, err error) *llm.Error {
	return &llm.Error{Kind: llm.KindUpstream, Message: msg, Err: err}
}
