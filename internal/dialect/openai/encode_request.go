package openai

import (
	"bytes"
	"errors"
	"strconv"

	"github.com/tidegate/tidegate/internal/jsonw"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// EncodeChatRequest builds a Chat Completions body for an OpenAI-compatible
// upstream, with model = req.Model. It sends max_completion_tokens to
// reasoning models (info.Reasoning) and max_tokens otherwise, clamped to
// info.MaxOutput; reasoning_effort only to reasoning models, and then
// without temperature/top_p. Streams always ask for the usage chunk.
// Thinking parts are dropped (OpenAI rejects them in input). An
// OpCompletion request is sent as one user message.
func EncodeChatRequest(req *llm.Request, info llm.ModelInfo) ([]byte, error) {
	if err := req.Decode(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, requestSizeHint(req))
	b = append(b, `{"model":`...)
	b = jsonw.AppendString(b, req.Model)
	b = append(b, `,"messages":[`...)
	first := true
	if req.Op == llm.OpCompletion && len(req.Messages) == 0 {
		b = append(b, `{"role":"user","content":`...)
		b = jsonw.AppendString(b, req.Prompt)
		b = append(b, '}')
		first = false
	}
	for i := range req.Messages {
		b = appendMessage(b, &req.Messages[i], &first)
	}
	b = append(b, ']')

	if n := clampMax(req.MaxTokens, info); n > 0 {
		if info.Reasoning {
			b = append(b, `,"max_completion_tokens":`...)
		} else {
			b = append(b, `,"max_tokens":`...)
		}
		b = jsonw.AppendInt(b, n)
	}
	effort := ""
	if info.Reasoning {
		effort = reasoningEffort(req.Reasoning)
	}
	// Reasoning models reject sampling parameters whether or not an effort
	// is sent.
	b = appendSampling(b, req, info.Reasoning)
	if req.N > 1 {
		b = append(b, `,"n":`...)
		b = jsonw.AppendInt(b, req.N)
	}
	if req.Stream {
		b = append(b, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	if len(req.Tools) > 0 {
		var err error
		if b, err = appendTools(b, req.Tools); err != nil {
			return nil, err
		}
		if tc := req.ToolChoice; tc != nil {
			switch tc.Mode {
			case llm.ToolChoiceAuto, llm.ToolChoiceNone, llm.ToolChoiceRequired:
				b = append(b, `,"tool_choice":"`...)
				b = append(b, tc.Mode...)
				b = append(b, '"')
			case llm.ToolChoiceTool:
				if tc.Name == "" {
					return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "tool_choice", Message: "tool_choice names no tool"}
				}
				b = append(b, `,"tool_choice":{"type":"function","function":{"name":`...)
				b = jsonw.AppendString(b, tc.Name)
				b = append(b, `}}`...)
			}
		}
		parallel := req.ParallelToolCalls
		if req.ToolChoice != nil && req.ToolChoice.DisableParallel {
			f := false
			parallel = &f
		}
		if parallel != nil {
			b = append(b, `,"parallel_tool_calls":`...)
			b = jsonw.AppendBool(b, *parallel)
		}
	}
	if effort != "" {
		b = append(b, `,"reasoning_effort":`...)
		b = jsonw.AppendString(b, effort)
	}
	if rf := req.ResponseFormat; rf != nil && rf.Type != "" {
		switch rf.Type {
		case "json_schema":
			name := rf.Name
			if name == "" {
				name = "response"
			}
			b = append(b, `,"response_format":{"type":"json_schema","json_schema":{"name":`...)
			b = jsonw.AppendString(b, name)
			if len(rf.Schema) > 0 {
				if !gjson.ValidBytes(rf.Schema) {
					return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "response_format.json_schema.schema", Message: "response format schema is not valid JSON"}
				}
				b = append(b, `,"schema":`...)
				b = append(b, rf.Schema...)
			}
			if rf.Strict != nil {
				b = append(b, `,"strict":`...)
				b = jsonw.AppendBool(b, *rf.Strict)
			}
			b = append(b, `}}`...)
		default:
			b = append(b, `,"response_format":{"type":`...)
			b = jsonw.AppendString(b, rf.Type)
			b = append(b, '}')
		}
	}
	b = appendUser(b, req.User)
	return append(b, '}'), nil
}

// EncodeCompletionRequest builds a legacy Completions body. A chat request
// is flattened: the text of its messages joined by blank lines.
func EncodeCompletionRequest(req *llm.Request, info llm.ModelInfo) ([]byte, error) {
	if err := req.Decode(); err != nil {
		return nil, err
	}
	prompt := req.Prompt
	if req.Op != llm.OpCompletion && prompt == "" {
		prompt = flattenMessages(req.Messages)
	}
	b := make([]byte, 0, 256+len(prompt))
	b = append(b, `{"model":`...)
	b = jsonw.AppendString(b, req.Model)
	b = append(b, `,"prompt":`...)
	b = jsonw.AppendString(b, prompt)
	if n := clampMax(req.MaxTokens, info); n > 0 {
		b = append(b, `,"max_tokens":`...)
		b = jsonw.AppendInt(b, n)
	}
	b = appendSampling(b, req, false)
	if req.N > 1 {
		b = append(b, `,"n":`...)
		b = jsonw.AppendInt(b, req.N)
	}
	if req.Stream {
		b = append(b, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	b = appendUser(b, req.User)
	return append(b, '}'), nil
}

// RewriteRequest is the same-dialect passthrough: the caller's body with
// only "model" set and, for streams, stream_options.include_usage = true
// (tidegate always needs the usage). Every other byte is kept.
func RewriteRequest(body []byte, model string, stream bool) ([]byte, error) {
	out := body
	var err error
	switch m := gjson.GetBytes(body, "model"); {
	case !m.Exists():
		if out, err = appendRootKey(out, string(jsonw.AppendString([]byte(`"model":`), model))); err != nil {
			return nil, err
		}
	case m.Type != gjson.String || m.Str != model:
		if out, err = sjson.SetBytes(out, "model", model); err != nil {
			return nil, &llm.Error{Kind: llm.KindInvalidRequest, Message: "cannot rewrite request body", Err: err}
		}
	}
	if stream {
		if iu := gjson.GetBytes(out, "stream_options.include_usage"); iu.Type != gjson.True {
			so := gjson.GetBytes(out, "stream_options")
			if !so.Exists() {
				// Insert the key before the root's closing brace ourselves:
				// sjson would also drop the whitespace after it.
				if out, err = appendRootKey(out, `"stream_options":{"include_usage":true}`); err != nil {
					return nil, err
				}
				return out, nil
			}
			if !so.IsObject() {
				// null (or junk): replace the whole value, keeping the key's place.
				out, err = sjson.SetRawBytes(out, "stream_options", []byte(`{"include_usage":true}`))
			} else {
				out, err = sjson.SetBytes(out, "stream_options.include_usage", true)
			}
			if err != nil {
				return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "stream_options", Message: "cannot rewrite request body", Err: err}
			}
		}
	}
	return out, nil
}

// appendRootKey returns a copy of the JSON object body with member (a
// `"key":value` text) added as its last member; every other byte is kept.
func appendRootKey(body []byte, member string) ([]byte, error) {
	end := bytes.LastIndexByte(body, '}')
	start := bytes.IndexByte(body, '{')
	if start < 0 || end < start || len(bytes.TrimSpace(body[end+1:])) != 0 {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Message: "request body is not a JSON object"}
	}
	empty := len(bytes.TrimSpace(body[start+1:end])) == 0
	out := make([]byte, 0, len(body)+len(member)+1)
	out = append(out, body[:end]...)
	if !empty {
		out = append(out, ',')
	}
	out = append(out, member...)
	return append(out, body[end:]...), nil
}

func requestSizeHint(req *llm.Request) int {
	if n := len(req.Source.Body); n > 0 {
		return n + 256
	}
	n := 512 + len(req.Prompt)
	for i := range req.Messages {
		for j := range req.Messages[i].Content {
			p := &req.Messages[i].Content[j]
			n += 32 + len(p.Text)
			if p.Image != nil {
				n += 64 + len(p.Image.Data) + len(p.Image.URL)
			}
			if p.ToolCall != nil {
				n += 64 + len(p.ToolCall.Arguments)
			}
			if p.ToolResult != nil {
				for _, c := range p.ToolResult.Content {
					n += 16 + len(c.Text)
				}
			}
		}
	}
	for i := range req.Tools {
		n += 64 + len(req.Tools[i].Description) + len(req.Tools[i].Parameters)
	}
	return n
}

func clampMax(n int, info llm.ModelInfo) int {
	if info.MaxOutput > 0 && n > info.MaxOutput {
		return info.MaxOutput
	}
	return n
}

// reasoningEffort picks the reasoning_effort to send, "" for none.
func reasoningEffort(r *llm.Reasoning) string {
	switch {
	case r == nil:
		return ""
	case r.Effort == "max": // Anthropic's top level; OpenAI's is high
		return "high"
	case r.Effort != "":
		return r.Effort
	case !r.Enabled:
		return ""
	case r.Budget > 0 && r.Budget <= 2048:
		return "low"
	case r.Budget > 0 && r.Budget <= 8192:
		return "medium"
	case r.Budget > 0:
		return "high"
	default: // adaptive, or enabled without a level
		return "medium"
	}
}

// appendSampling appends temperature, top_p (unless reasoning is sent),
// stop, seed and the penalties.
func appendSampling(b []byte, req *llm.Request, reasoning bool) []byte {
	if !reasoning {
		if req.Temperature != nil {
			b = append(b, `,"temperature":`...)
			b = jsonw.AppendFloat(b, *req.Temperature)
		}
		if req.TopP != nil {
			b = append(b, `,"top_p":`...)
			b = jsonw.AppendFloat(b, *req.TopP)
		}
	}
	if len(req.Stop) > 0 {
		b = append(b, `,"stop":`...)
		b = appendStrings(b, req.Stop)
	}
	if req.Seed != nil {
		b = append(b, `,"seed":`...)
		b = jsonw.AppendInt(b, *req.Seed)
	}
	if req.PresencePenalty != nil {
		b = append(b, `,"presence_penalty":`...)
		b = jsonw.AppendFloat(b, *req.PresencePenalty)
	}
	if req.FrequencyPenalty != nil {
		b = append(b, `,"frequency_penalty":`...)
		b = jsonw.AppendFloat(b, *req.FrequencyPenalty)
	}
	return b
}

// appendStrings appends ss as a JSON array of strings.
func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonw.AppendString(b, s)
	}
	return append(b, ']')
}

func appendUser(b []byte, user string) []byte {
	if user == "" {
		return b
	}
	b = append(b, `,"user":`...)
	return jsonw.AppendString(b, user)
}

// appendMessage appends one canonical message as one or more OpenAI
// messages.
func appendMessage(b []byte, m *llm.Message, first *bool) []byte {
	open := func(role string) {
		if !*first {
			b = append(b, ',')
		}
		*first = false
		b = append(b, `{"role":"`...)
		b = append(b, role...)
		b = append(b, '"')
		if m.Name != "" && role != "tool" {
			b = append(b, `,"name":`...)
			b = jsonw.AppendString(b, m.Name)
		}
	}
	switch m.Role {
	case llm.RoleSystem:
		// One string: the widest-supported form among compat servers.
		open("system")
		b = append(b, `,"content":`...)
		b = appendJoinedText(b, m.Content, "\n\n")
		b = append(b, '}')
	case llm.RoleAssistant:
		open("assistant")
		b = append(b, `,"content":`...)
		b = appendAssistantText(b, m.Content)
		b = appendToolCalls(b, m.Content)
		b = append(b, '}')
	default: // user, tool: tool results become tool messages, the rest a user message
		rest := 0
		for i := range m.Content {
			p := &m.Content[i]
			if p.Type != llm.PartToolResult {
				if (p.Type == llm.PartText && p.Text != "") || sendableImage(p) {
					rest++
				}
				continue
			}
			if p.ToolResult == nil {
				continue
			}
			open("tool")
			b = append(b, `,"tool_call_id":`...)
			b = jsonw.AppendString(b, p.ToolResult.CallID)
			b = append(b, `,"content":`...)
			b = appendJoinedText(b, p.ToolResult.Content, "\n\n")
			b = append(b, '}')
		}
		if rest == 0 && m.Role != llm.RoleUser {
			return b
		}
		if rest == 0 {
			for i := range m.Content {
				if m.Content[i].Type == llm.PartToolResult {
					return b // a tool-results-only user turn
				}
			}
		}
		open("user")
		b = append(b, `,"content":`...)
		b = appendUserContent(b, m.Content, rest)
		b = append(b, '}')
	}
	return b
}

func hasText(parts []llm.Part) bool {
	for i := range parts {
		if parts[i].Type == llm.PartText && parts[i].Text != "" {
			return true
		}
	}
	return false
}

// appendAssistantText appends an assistant message's content: its text,
// null when it has none but calls tools, else "".
func appendAssistantText(b []byte, parts []llm.Part) []byte {
	if hasText(parts) {
		return appendJoinedText(b, parts, "")
	}
	for i := range parts {
		if parts[i].Type == llm.PartToolCall && parts[i].ToolCall != nil {
			return append(b, "null"...)
		}
	}
	return append(b, `""`...)
}

// appendToolCalls appends `,"tool_calls":[…]` for the tool-call parts;
// nothing when there are none.
func appendToolCalls(b []byte, parts []llm.Part) []byte {
	n := 0
	for i := range parts {
		tc := parts[i].ToolCall
		if parts[i].Type != llm.PartToolCall || tc == nil {
			continue
		}
		if n == 0 {
			b = append(b, `,"tool_calls":[`...)
		} else {
			b = append(b, ',')
		}
		n++
		b = append(b, `{"id":`...)
		b = jsonw.AppendString(b, tc.ID)
		b = append(b, `,"type":"function","function":{"name":`...)
		b = jsonw.AppendString(b, tc.Name)
		b = append(b, `,"arguments":`...)
		args := tc.Arguments
		if args == "" {
			args = "{}"
		}
		b = jsonw.AppendString(b, args)
		b = append(b, `}}`...)
	}
	if n > 0 {
		b = append(b, ']')
	}
	return b
}

// appendJoinedText appends the non-empty text parts joined by sep, as one
// JSON string.
func appendJoinedText(b []byte, parts []llm.Part, sep string) []byte {
	n := 0
	var only string
	for i := range parts {
		if parts[i].Type == llm.PartText && parts[i].Text != "" {
			n++
			only = parts[i].Text
		}
	}
	if n <= 1 {
		return jsonw.AppendString(b, only)
	}
	var sb []byte
	for i := range parts {
		if parts[i].Type == llm.PartText && parts[i].Text != "" {
			if len(sb) > 0 {
				sb = append(sb, sep...)
			}
			sb = append(sb, parts[i].Text...)
		}
	}
	return jsonw.AppendString(b, string(sb))
}

// appendUserContent appends a user message's content: a plain string for a
// single text part, else an array of text and image_url parts. n is the
// number of sendable parts.
func appendUserContent(b []byte, parts []llm.Part, n int) []byte {
	if n == 0 {
		return append(b, `""`...)
	}
	if n == 1 {
		for i := range parts {
			if parts[i].Type == llm.PartText && parts[i].Text != "" {
				return jsonw.AppendString(b, parts[i].Text)
			}
		}
	}
	b = append(b, '[')
	k := 0
	for i := range parts {
		p := &parts[i]
		switch {
		case p.Type == llm.PartText && p.Text != "":
			if k > 0 {
				b = append(b, ',')
			}
			k++
			b = append(b, `{"type":"text","text":`...)
			b = jsonw.AppendString(b, p.Text)
			b = append(b, '}')
		case sendableImage(p):
			if k > 0 {
				b = append(b, ',')
			}
			k++
			b = append(b, `{"type":"image_url","image_url":{"url":`...)
			b = appendImageURL(b, p.Image)
			if p.Image.Detail != "" {
				b = append(b, `,"detail":`...)
				b = jsonw.AppendString(b, p.Image.Detail)
			}
			b = append(b, `}}`...)
		}
	}
	return append(b, ']')
}

func sendableImage(p *llm.Part) bool {
	return p.Type == llm.PartImage && p.Image != nil && (p.Image.Data != "" || p.Image.URL != "")
}

func appendImageURL(b []byte, img *llm.Image) []byte {
	if img.Data == "" {
		return jsonw.AppendString(b, img.URL)
	}
	mt := img.MediaType
	if mt == "" {
		mt = "image/png"
	}
	// The media type and base64 data need no escaping in practice, but a
	// hostile value must still produce valid JSON.
	b = append(b, `"data:`...)
	b = jsonw.AppendEscaped(b, mt)
	b = append(b, ";base64,"...)
	b = jsonw.AppendEscaped(b, img.Data)
	return append(b, '"')
}

func appendTools(b []byte, tools []llm.Tool) ([]byte, error) {
	b = append(b, `,"tools":[`...)
	for i := range tools {
		t := &tools[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":"function","function":{"name":`...)
		b = jsonw.AppendString(b, t.Name)
		if t.Description != "" {
			b = append(b, `,"description":`...)
			b = jsonw.AppendString(b, t.Description)
		}
		b = append(b, `,"parameters":`...)
		params, err := toolParameters(t.Parameters)
		if err != nil {
			return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "tools.[" + strconv.Itoa(i) + "].parameters", Message: "tool parameters are not a JSON object"}
		}
		b = append(b, params...)
		if t.Strict != nil {
			b = append(b, `,"strict":`...)
			b = jsonw.AppendBool(b, *t.Strict)
		}
		b = append(b, `}}`...)
	}
	return append(b, ']'), nil
}

const emptyObjectSchema = `{"type":"object","properties":{}}`

// toolParameters returns the schema to send: a default for an empty one,
// and without a top-level "$schema" key, which some OpenAI-compatible
// servers reject.
func toolParameters(params []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(params)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return []byte(emptyObjectSchema), nil
	}
	root := gjson.ParseBytes(trimmed)
	if !root.IsObject() || !gjson.ValidBytes(trimmed) {
		return nil, errors.New("tool parameters are not a JSON object")
	}
	empty := true
	hasSchema := false
	root.ForEach(func(k, _ gjson.Result) bool {
		empty = false
		if k.Str == "$schema" {
			hasSchema = true
			return false
		}
		return true
	})
	if empty {
		return []byte(emptyObjectSchema), nil
	}
	if !hasSchema {
		return trimmed, nil
	}
	out := make([]byte, 0, len(trimmed))
	out = append(out, '{')
	n := 0
	root.ForEach(func(k, v gjson.Result) bool {
		if k.Str == "$schema" {
			return true
		}
		if n > 0 {
			out = append(out, ',')
		}
		n++
		out = append(out, k.Raw...)
		out = append(out, ':')
		out = append(out, v.Raw...)
		return true
	})
	return append(out, '}'), nil
}

func flattenMessages(msgs []llm.Message) string {
	var b []byte
	for i := range msgs {
		for _, p := range msgs[i].Content {
			if p.Type == llm.PartText && p.Text != "" {
				if len(b) > 0 {
					b = append(b, "\n\n"...)
				}
				b = append(b, p.Text...)
			}
		}
	}
	return string(b)
}
