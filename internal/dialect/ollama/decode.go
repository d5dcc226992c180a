package ollama

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/tidegate/tidegate/internal/llm"
)

// DecodeResponse decodes a whole (non-stream) /api/chat answer. Content
// comes out as thinking, then text, then tool calls; tool calls get the
// upstream ID when there is one, else a synthesised "call_<n>_<hex>".
func DecodeResponse(body []byte) (*llm.Response, error) {
	var r chatResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, upstreamError("upstream returned invalid JSON", err)
	}
	if e := inlineError(r.Error); e != nil {
		return nil, e
	}
	g := newIDs()
	resp := &llm.Response{
		ID:      messageID(),
		Model:   r.Model,
		Created: parseCreated(r.CreatedAt),
		Usage:   llm.Usage{InputTokens: r.PromptEvalCount, OutputTokens: r.EvalCount},
	}
	if r.Message.Thinking != "" {
		resp.Content = append(resp.Content, llm.Part{Type: llm.PartThinking, Text: r.Message.Thinking})
	}
	if r.Message.Content != "" {
		resp.Content = append(resp.Content, llm.TextPart(r.Message.Content))
	}
	for _, tc := range r.Message.ToolCalls {
		resp.Content = append(resp.Content, llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{
			ID:        g.toolCallID(tc.ID),
			Name:      tc.Function.Name,
			Arguments: decodeArguments(tc.Function.Arguments),
		}})
	}
	resp.StopReason = stopReason(r.DoneReason, len(r.Message.ToolCalls) > 0)
	return resp, nil
}

// stopReason maps Ollama's done_reason; tool calls win over "stop".
func stopReason(doneReason string, toolCalls bool) llm.StopReason {
	if toolCalls {
		return llm.StopToolUse
	}
	if doneReason == "length" {
		return llm.StopMaxTokens
	}
	return llm.StopEndTurn
}

// decodeArguments renders a tool call's arguments as compact JSON object
// text. Ollama sends an object; a JSON string holding an object is
// accepted too; anything else becomes "{}".
func decodeArguments(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			raw = []byte(s)
		}
	}
	if obj, ok := compactObject(raw); ok {
		return string(obj)
	}
	return "{}"
}

// inlineError returns the error an answer carries in its "error" field,
// if any: {"error":"message"}.
func inlineError(raw json.RawMessage) *llm.Error {
	msg, ok := errorMessage(raw)
	if !ok {
		return nil
	}
	return upstreamError(msg, nil)
}

// errorMessage extracts Ollama's error message: a string, or an object
// with a "message" field as some proxies in front of Ollama send.
func errorMessage(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return "", false
		}
		return s, true
	}
	var obj struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.Message != "" {
		return obj.Message, true
	}
	return "upstream reported an error", true
}

// parseCreated turns created_at (RFC 3339 with nanoseconds) into unix
// seconds; 0 when absent or unparsable.
func parseCreated(s string) int64 {
	if s == "" {
		return 0
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0
	}
	return t.Unix()
}
