package ollama

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/tidegate/tidegate/internal/llm"
)

// textSeparator joins the text parts of one message: Ollama takes content
// as a single string.
const textSeparator = "\n"

// EncodeChatRequest renders req as an Ollama /api/chat body for model
// req.Model. System messages keep their positions (Ollama accepts them
// anywhere); tool results become one "tool" message each, named after the
// assistant tool call they answer. Fields Ollama has no equivalent for
// (tool_choice other than none, parallel_tool_calls, user, image detail)
// are dropped. An image given only by URL, n>1 and malformed schemas are
// KindInvalidRequest errors.
func EncodeChatRequest(req *llm.Request, info llm.ModelInfo) ([]byte, error) {
	if err := req.Decode(); err != nil {
		return nil, err
	}
	if req.N > 1 {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "n",
			Message: "Ollama generates one choice per request; n must be 1"}
	}
	out := chatRequest{Model: req.Model, Stream: req.Stream, Messages: []message{}}

	msgs := req.Messages
	if req.Op == llm.OpCompletion && len(msgs) == 0 {
		msgs = []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{llm.TextPart(req.Prompt)}}}
	}
	toolNames := map[string]string{} // tool-call ID → tool name, seen so far
	for i := range msgs {
		var err error
		out.Messages, err = appendMessage(out.Messages, &msgs[i], i, toolNames)
		if err != nil {
			return nil, err
		}
	}

	orderToolResults(out.Messages)
	out.Options = encodeOptions(req, info)

	if f := req.ResponseFormat; f != nil {
		switch f.Type {
		case "json_object":
			out.Format = json.RawMessage(`"json"`)
		case "json_schema":
			if len(bytes.TrimSpace(f.Schema)) == 0 {
				out.Format = json.RawMessage(`"json"`)
				break
			}
			schema, ok := compactObject(f.Schema)
			if !ok {
				return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "response_format.json_schema.schema",
					Message: "the response format schema must be a JSON object"}
			}
			out.Format = schema
		}
	}

	// Only models known to reason get think: Ollama rejects it for the
	// others, and turns thinking on by itself for models that can think.
	if r := req.Reasoning; r != nil && r.Enabled && info.Reasoning {
		switch r.Effort {
		case "low", "medium", "high":
			out.Think = json.RawMessage(`"` + r.Effort + `"`)
		default:
			out.Think = json.RawMessage(`true`)
		}
	}

	if len(req.Tools) > 0 && (req.ToolChoice == nil || req.ToolChoice.Mode != llm.ToolChoiceNone) {
		out.Tools = make([]tool, 0, len(req.Tools))
		for i, t := range req.Tools {
			params := json.RawMessage(`{"type":"object","properties":{}}`)
			if len(bytes.TrimSpace(t.Parameters)) > 0 {
				p, ok := compactObject(t.Parameters)
				if !ok {
					return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: fmt.Sprintf("tools[%d].parameters", i),
						Message: "tool parameters must be a JSON Schema object"}
				}
				params = p
			}
			out.Tools = append(out.Tools, tool{Type: "function", Function: toolFunction{
				Name: t.Name, Description: t.Description, Parameters: params,
			}})
		}
	}

	return marshal(out)
}

// appendMessage appends the Ollama messages for one canonical message:
// first one "tool" message per tool result, then the message itself unless
// it held only tool results.
func appendMessage(dst []message, m *llm.Message, idx int, toolNames map[string]string) ([]message, error) {
	role := string(m.Role)
	switch m.Role {
	case llm.RoleSystem, llm.RoleUser, llm.RoleAssistant, llm.RoleTool:
	default:
		role = string(llm.RoleUser)
	}
	param := fmt.Sprintf("messages[%d].content", idx)

	var (
		out      = message{Role: role}
		texts    []string
		thinking []string
		rest     bool // the message has parts other than tool results
		results  bool
	)
	for _, p := range m.Content {
		switch p.Type {
		case llm.PartText:
			texts = append(texts, p.Text)
			rest = true
		case llm.PartImage:
			img, err := encodeImage(p.Image, param)
			if err != nil {
				return nil, err
			}
			if img != "" {
				out.Images = append(out.Images, img)
			}
			rest = true
		case llm.PartThinking:
			if m.Role == llm.RoleAssistant && p.Text != "" {
				thinking = append(thinking, p.Text)
			}
		case llm.PartToolCall:
			if p.ToolCall == nil {
				continue
			}
			tc := p.ToolCall
			if tc.ID != "" {
				toolNames[tc.ID] = tc.Name
			}
			out.callIDs = append(out.callIDs, tc.ID)
			out.ToolCalls = append(out.ToolCalls, toolCall{Function: toolCallFunction{
				Name: tc.Name, Arguments: encodeArguments(tc.Arguments),
			}})
			rest = true
		case llm.PartToolResult:
			if p.ToolResult == nil {
				continue
			}
			results = true
			tm, err := encodeToolResult(p.ToolResult, toolNames, param)
			if err != nil {
				return nil, err
			}
			dst = append(dst, tm)
		}
		// Redacted thinking and unknown parts have no Ollama form.
	}
	if results && !rest {
		return dst, nil
	}
	if results && m.Role == llm.RoleTool {
		// Text beside tool results in one turn (Anthropic style) follows
		// them as a user message.
		out.Role = string(llm.RoleUser)
	}
	out.Content = strings.Join(texts, textSeparator)
	out.Thinking = strings.Join(thinking, "")
	if out.Role != string(llm.RoleAssistant) {
		out.ToolCalls = nil
	}
	return append(dst, out), nil
}

func encodeToolResult(r *llm.ToolResult, toolNames map[string]string, param string) (message, error) {
	out := message{Role: string(llm.RoleTool), ToolName: toolNames[r.CallID], callID: r.CallID}
	var texts []string
	for _, p := range r.Content {
		switch p.Type {
		case llm.PartText:
			texts = append(texts, p.Text)
		case llm.PartImage:
			img, err := encodeImage(p.Image, param)
			if err != nil {
				return message{}, err
			}
			if img != "" {
				out.Images = append(out.Images, img)
			}
		}
	}
	out.Content = strings.Join(texts, textSeparator)
	return out, nil
}

// encodeImage returns the base64 data of an inline image. tidegate never
// fetches caller-supplied URLs, and Ollama accepts only inline images.
func encodeImage(img *llm.Image, param string) (string, error) {
	if img == nil {
		return "", nil
	}
	if img.Data == "" && img.URL != "" {
		return "", &llm.Error{Kind: llm.KindInvalidRequest, Param: param,
			Message: "image URLs are not supported by Ollama; send the image inline as base64"}
	}
	return img.Data, nil
}

// encodeArguments turns tool-call arguments text into the JSON object
// Ollama expects; anything but a JSON object becomes {}.
func encodeArguments(args string) json.RawMessage {
	if obj, ok := compactObject([]byte(args)); ok {
		return obj
	}
	return json.RawMessage(`{}`)
}

func encodeOptions(req *llm.Request, info llm.ModelInfo) *options {
	var o options
	set := false
	if req.MaxTokens > 0 {
		n := req.MaxTokens
		if info.MaxOutput > 0 && n > info.MaxOutput {
			n = info.MaxOutput
		}
		o.NumPredict, set = &n, true
	}
	if req.Temperature != nil {
		o.Temperature, set = req.Temperature, true
	}
	if req.TopP != nil {
		o.TopP, set = req.TopP, true
	}
	if req.TopK != nil {
		o.TopK, set = req.TopK, true
	}
	if len(req.Stop) > 0 {
		o.Stop, set = req.Stop, true
	}
	if req.Seed != nil {
		o.Seed, set = req.Seed, true
	}
	if req.PresencePenalty != nil {
		o.PresencePenalty, set = req.PresencePenalty, true
	}
	if req.FrequencyPenalty != nil {
		o.FrequencyPenalty, set = req.FrequencyPenalty, true
	}
	if !set {
		return nil
	}
	return &o
}

// compactObject reports whether b is a JSON object and returns it compacted.
func compactObject(b []byte) (json.RawMessage, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, false
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, false
	}
	return buf.Bytes(), true
}

// marshal encodes v without HTML escaping and without a trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, &llm.Error{Kind: llm.KindInternal, Message: "encoding the Ollama request failed", Err: err}
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// orderToolResults puts each run of tool messages in the order of the
// calls they answer. Ollama pairs results with calls by position, having
// no call ids, while callers (Claude Code with parallel tools) may send
// results in the order the tools finished.
func orderToolResults(msgs []message) {
	var calls map[string]int // call ID → position in the last assistant turn
	for i := 0; i < len(msgs); i++ {
		if msgs[i].Role == string(llm.RoleAssistant) {
			calls = map[string]int{}
			for _, id := range msgs[i].callIDs {
				calls[id] = len(calls)
			}
			continue
		}
		if msgs[i].Role != string(llm.RoleTool) {
			continue
		}
		j := i
		for j < len(msgs) && msgs[j].Role == string(llm.RoleTool) {
			j++
		}
		run := msgs[i:j]
		sort.SliceStable(run, func(a, b int) bool {
			pa, oka := calls[run[a].callID]
			pb, okb := calls[run[b].callID]
			return oka && okb && pa < pb
		})
		i = j - 1
	}
}
