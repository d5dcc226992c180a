package anthropic

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/llm"
)

// DecodeMessagesRequest decodes a /v1/messages body into a canonical
// request. Wrong types and missing required fields (model, messages) give a
// KindInvalidRequest error with Param set; max_tokens is optional here
// (tidegate fills it when encoding for the upstream). Unknown fields are
// ignored; see the package comment for what cannot be translated.
func DecodeMessagesRequest(body []byte) (*llm.Request, error) {
	return decodeRequest(body, false)
}

// DecodeCountTokensRequest decodes a /v1/messages/count_tokens body: the
// same shape as a messages request, without max_tokens or stream.
func DecodeCountTokensRequest(body []byte) (*llm.Request, error) {
	return decodeRequest(body, true)
}

func decodeRequest(body []byte, count bool) (*llm.Request, error) {
	if !gjson.ValidBytes(body) {
		return nil, invalid("", "request body is not valid JSON")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, invalid("", "request body must be a JSON object")
	}
	req := &llm.Request{Op: llm.OpChat, Source: llm.Source{Dialect: llm.DialectAnthropic, Body: body}}
	var (
		system, messages, thinking gjson.Result
		outputConfig, outputFormat gjson.Result
		haveModel                  bool
		err                        error
	)
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			if v.Type != gjson.String || v.Str == "" {
				err = invalid("model", "must be a non-empty string")
				break
			}
			req.Model, haveModel = v.Str, true
		case "messages":
			messages = v
		case "system":
			system = v
		case "max_tokens":
			if count || v.Type == gjson.Null {
				break
			}
			var n int
			if n, err = intField(v, "max_tokens"); err == nil && n < 0 {
				err = invalid("max_tokens", "must be a positive integer")
			}
			req.MaxTokens = n
		case "stream":
			if count || v.Type == gjson.Null {
				break
			}
			if !v.IsBool() {
				err = invalid("stream", "must be a boolean")
				break
			}
			req.Stream = v.Bool()
		case "temperature":
			req.Temperature, err = floatPtr(v, "temperature")
		case "top_p":
			req.TopP, err = floatPtr(v, "top_p")
		case "top_k":
			if v.Type == gjson.Null {
				break
			}
			var n int
			if n, err = intField(v, "top_k"); err == nil {
				req.TopK = &n
			}
		case "stop_sequences":
			req.Stop, err = decodeStrings(v, "stop_sequences")
		case "metadata":
			err = decodeMetadata(req, v)
		case "tools":
			req.Tools, err = decodeTools(v)
		case "tool_choice":
			req.ToolChoice, err = decodeToolChoice(v)
		case "thinking":
			thinking = v
		case "output_config":
			outputConfig = v
		case "output_format": // the structured-outputs beta's top-level field
			outputFormat = v
		}
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	if !haveModel {
		return nil, invalid("model", "field required")
	}
	if err := decodeReasoning(req, thinking, outputConfig, outputFormat); err != nil {
		return nil, err
	}
	if err := decodeSystem(req, system); err != nil {
		return nil, err
	}
	if !messages.Exists() || messages.Type == gjson.Null {
		return nil, invalid("messages", "field required")
	}
	if !messages.IsArray() {
		return nil, invalid("messages", "must be an array")
	}
	if err := decodeMessages(req, messages); err != nil {
		return nil, err
	}
	return req, nil
}

// intField reads an integer.
func intField(v gjson.Result, param string) (int, error) {
	if v.Type != gjson.Number || v.Num != math.Trunc(v.Num) {
		return 0, invalid(param, "must be an integer")
	}
	if v.Num > math.MaxInt32 || v.Num < math.MinInt32 {
		return 0, invalid(param, "out of range")
	}
	return int(v.Num), nil
}

// floatPtr reads an optional number.
func floatPtr(v gjson.Result, param string) (*float64, error) {
	switch v.Type {
	case gjson.Null:
		return nil, nil
	case gjson.Number:
		f := v.Num
		return &f, nil
	}
	return nil, invalid(param, "must be a number")
}

// decodeStrings reads an optional array of strings.
func decodeStrings(v gjson.Result, param string) ([]string, error) {
	if v.Type == gjson.Null {
		return nil, nil
	}
	if !v.IsArray() {
		return nil, invalid(param, "must be an array of strings")
	}
	var out []string
	var err error
	i := 0
	v.ForEach(func(_, s gjson.Result) bool {
		if s.Type != gjson.String {
			err = invalid(fmt.Sprintf("%s.%d", param, i), "must be a string")
			return false
		}
		out = append(out, s.Str)
		i++
		return true
	})
	return out, err
}

// rawObject returns an optional object field as compact JSON; ok is false
// when the field is set to something else.
func rawObject(v gjson.Result) (raw json.RawMessage, ok bool) {
	switch {
	case !v.Exists() || v.Type == gjson.Null:
		return nil, true
	case v.IsObject():
		return compactBytes(v.Raw), true
	}
	return nil, false
}

func decodeMetadata(req *llm.Request, v gjson.Result) error {
	if v.Type == gjson.Null {
		return nil
	}
	if !v.IsObject() {
		return invalid("metadata", "must be an object")
	}
	u := v.Get("user_id")
	switch u.Type {
	case gjson.Null:
	case gjson.String:
		// Claude Code sends a JSON-encoded object here; it is kept as the
		// string it is.
		req.User = u.Str
	default:
		return invalid("metadata.user_id", "must be a string")
	}
	return nil
}

func decodeTools(v gjson.Result) ([]llm.Tool, error) {
	if v.Type == gjson.Null {
		return nil, nil
	}
	if !v.IsArray() {
		return nil, invalid("tools", "must be an array")
	}
	var (
		tools []llm.Tool
		err   error
		i     = -1
	)
	v.ForEach(func(_, t gjson.Result) bool {
		i++
		if !t.IsObject() {
			err = invalid(fmt.Sprintf("tools.%d", i), "must be an object")
			return false
		}
		var typ, name, desc, schema, cache, strict gjson.Result
		t.ForEach(func(k, f gjson.Result) bool {
			switch k.Str {
			case "type":
				typ = f
			case "name":
				name = f
			case "description":
				desc = f
			case "input_schema":
				schema = f
			case "cache_control":
				cache = f
			case "strict":
				strict = f
			}
			return true
		})
		if typ.Exists() && typ.Type != gjson.Null {
			if typ.Type != gjson.String {
				err = invalid(fmt.Sprintf("tools.%d.type", i), "must be a string")
				return false
			}
			if typ.Str != "custom" {
				// A server tool (web search, bash, text editor, …): it only
				// exists on Anthropic, so it only works on the passthrough.
				return true
			}
		}
		var tool llm.Tool
		if name.Type != gjson.String || name.Str == "" {
			err = invalid(fmt.Sprintf("tools.%d.name", i), "must be a non-empty string")
			return false
		}
		tool.Name = name.Str
		switch desc.Type {
		case gjson.Null:
		case gjson.String:
			tool.Description = desc.Str
		default:
			err = invalid(fmt.Sprintf("tools.%d.description", i), "must be a string")
			return false
		}
		var ok bool
		if tool.Parameters, ok = rawObject(schema); !ok {
			err = invalid(fmt.Sprintf("tools.%d.input_schema", i), "must be an object")
			return false
		}
		if tool.CacheControl, ok = rawObject(cache); !ok {
			err = invalid(fmt.Sprintf("tools.%d.cache_control", i), "must be an object")
			return false
		}
		if strict.Exists() && strict.Type != gjson.Null {
			if !strict.IsBool() {
				err = invalid(fmt.Sprintf("tools.%d.strict", i), "must be a boolean")
				return false
			}
			b := strict.Bool()
			tool.Strict = &b
		}
		tools = append(tools, tool)
		return true
	})
	return tools, err
}

func decodeToolChoice(v gjson.Result) (*llm.ToolChoice, error) {
	if v.Type == gjson.Null {
		return nil, nil
	}
	if !v.IsObject() {
		return nil, invalid("tool_choice", "must be an object")
	}
	var typ, name, dp gjson.Result
	v.ForEach(func(k, f gjson.Result) bool {
		switch k.Str {
		case "type":
			typ = f
		case "name":
			name = f
		case "disable_parallel_tool_use":
			dp = f
		}
		return true
	})
	tc := &llm.ToolChoice{}
	switch typ.Str {
	case "auto":
		tc.Mode = llm.ToolChoiceAuto
	case "any":
		tc.Mode = llm.ToolChoiceRequired
	case "none":
		tc.Mode = llm.ToolChoiceNone
	case "tool":
		tc.Mode = llm.ToolChoiceTool
		if name.Type != gjson.String || name.Str == "" {
			return nil, invalid("tool_choice.name", "must be a non-empty string")
		}
		tc.Name = name.Str
	default:
		if typ.Type != gjson.String {
			return nil, invalid("tool_choice.type", "field required")
		}
		return nil, invalid("tool_choice.type", "must be one of \"auto\", \"any\", \"tool\", \"none\"")
	}
	if dp.Exists() && dp.Type != gjson.Null {
		if !dp.IsBool() {
			return nil, invalid("tool_choice.disable_parallel_tool_use", "must be a boolean")
		}
		tc.DisableParallel = dp.Bool()
	}
	return tc, nil
}

// decodeReasoning reads thinking, output_config (effort, format) and the
// beta output_format.
func decodeReasoning(req *llm.Request, thinking, outputConfig, outputFormat gjson.Result) error {
	var r llm.Reasoning
	disabled := false
	if thinking.Exists() && thinking.Type != gjson.Null {
		if !thinking.IsObject() {
			return invalid("thinking", "must be an object")
		}
		var typ, budget gjson.Result
		thinking.ForEach(func(k, f gjson.Result) bool {
			switch k.Str {
			case "type":
				typ = f
			case "budget_tokens":
				budget = f
			}
			return true
		})
		switch typ.Str {
		case "enabled":
			r.Enabled = true
			if budget.Exists() && budget.Type != gjson.Null {
				n, err := intField(budget, "thinking.budget_tokens")
				if err != nil {
					return err
				}
				r.Budget = n
			}
		case "adaptive":
			r.Enabled, r.Adaptive = true, true
		case "disabled":
			disabled = true
		default:
			return invalid("thinking.type", "must be one of \"enabled\", \"adaptive\", \"disabled\"")
		}
	}
	format, formatParam := outputFormat, "output_format"
	if outputConfig.Exists() && outputConfig.Type != gjson.Null {
		if !outputConfig.IsObject() {
			return invalid("output_config", "must be an object")
		}
		var effort gjson.Result
		outputConfig.ForEach(func(k, f gjson.Result) bool {
			switch k.Str {
			case "effort":
				effort = f
			case "format":
				format, formatParam = f, "output_config.format"
			}
			return true
		})
		switch effort.Type {
		case gjson.Null:
		case gjson.String:
			if effort.Str != "" {
				r.Enabled, r.Effort = true, effort.Str
			}
		default:
			return invalid("output_config.effort", "must be a string")
		}
	}
	if !disabled && r.Enabled {
		req.Reasoning = &r
	}
	if format.Exists() && format.Type != gjson.Null {
		param := formatParam
		if !format.IsObject() {
			return invalid(param, "must be an object")
		}
		typ, schema := format.Get("type"), format.Get("schema")
		if typ.Str != "json_schema" {
			return invalid(param+".type", "must be \"json_schema\"")
		}
		if !schema.IsObject() {
			return invalid(param+".schema", "must be an object")
		}
		req.ResponseFormat = &llm.ResponseFormat{Type: "json_schema", Schema: compactBytes(schema.Raw)}
	}
	return nil
}

// decodeSystem turns the top-level system prompt into a leading RoleSystem
// message, one text part per block (cache_control kept per part).
func decodeSystem(req *llm.Request, v gjson.Result) error {
	switch {
	case !v.Exists() || v.Type == gjson.Null:
		return nil
	case v.Type == gjson.String:
		if v.Str != "" {
			req.Messages = append(req.Messages, llm.Message{Role: llm.RoleSystem, Content: []llm.Part{llm.TextPart(v.Str)}})
		}
		return nil
	case !v.IsArray():
		return invalid("system", "must be a string or an array of text blocks")
	}
	parts, err := decodeTextBlocks(v, "system")
	if err != nil {
		return err
	}
	if len(parts) > 0 {
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleSystem, Content: parts})
	}
	return nil
}

// decodeTextBlocks reads an array of text blocks (system prompts, system
// messages), dropping empty ones.
func decodeTextBlocks(v gjson.Result, param string) ([]llm.Part, error) {
	var (
		parts []llm.Part
		err   error
		j     = -1
	)
	v.ForEach(func(_, b gjson.Result) bool {
		j++
		if !b.IsObject() {
			err = invalid(fmt.Sprintf("%s.%d", param, j), "must be an object")
			return false
		}
		var typ, text, cache gjson.Result
		b.ForEach(func(k, f gjson.Result) bool {
			switch k.Str {
			case "type":
				typ = f
			case "text":
				text = f
			case "cache_control":
				cache = f
			}
			return true
		})
		if typ.Str != "text" {
			err = invalid(fmt.Sprintf("%s.%d.type", param, j), "only text blocks are allowed here")
			return false
		}
		if text.Type != gjson.String {
			err = invalid(fmt.Sprintf("%s.%d.text", param, j), "must be a string")
			return false
		}
		p := llm.Part{Type: llm.PartText, Text: text.Str}
		var ok bool
		if p.CacheControl, ok = rawObject(cache); !ok {
			err = invalid(fmt.Sprintf("%s.%d.cache_control", param, j), "must be an object")
			return false
		}
		if p.Text != "" {
			parts = append(parts, p)
		}
		return true
	})
	return parts, err
}

func decodeMessages(req *llm.Request, v gjson.Result) error {
	var err error
	i := -1
	v.ForEach(func(_, m gjson.Result) bool {
		i++
		err = decodeMessage(req, i, m)
		return err == nil
	})
	if err == nil && i < 0 {
		err = invalid("messages", "at least one message is required")
	}
	return err
}

func decodeMessage(req *llm.Request, i int, m gjson.Result) error {
	if !m.IsObject() {
		return invalid(fmt.Sprintf("messages.%d", i), "must be an object")
	}
	var role, content gjson.Result
	m.ForEach(func(k, f gjson.Result) bool {
		switch k.Str {
		case "role":
			role = f
		case "content":
			content = f
		}
		return true
	})
	var r llm.Role
	switch role.Str {
	case "user":
		r = llm.RoleUser
	case "assistant":
		r = llm.RoleAssistant
	case "system":
		r = llm.RoleSystem
	default:
		if role.Type != gjson.String {
			return invalid(fmt.Sprintf("messages.%d.role", i), "field required")
		}
		return invalid(fmt.Sprintf("messages.%d.role", i), "must be one of \"user\", \"assistant\"")
	}
	switch {
	case !content.Exists() || content.Type == gjson.Null:
		return invalid(fmt.Sprintf("messages.%d.content", i), "field required")
	case content.Type == gjson.String:
		if content.Str != "" {
			req.Messages = append(req.Messages, llm.Message{Role: r, Content: []llm.Part{llm.TextPart(content.Str)}})
		}
		return nil
	case !content.IsArray():
		return invalid(fmt.Sprintf("messages.%d.content", i), "must be a string or an array of content blocks")
	}
	if r == llm.RoleSystem {
		parts, err := decodeTextBlocks(content, fmt.Sprintf("messages.%d.content", i))
		if err == nil && len(parts) > 0 {
			req.Messages = append(req.Messages, llm.Message{Role: r, Content: parts})
		}
		return err
	}
	var (
		parts, results []llm.Part
		err            error
		j              = -1
	)
	content.ForEach(func(_, b gjson.Result) bool {
		j++
		var p llm.Part
		p, err = decodeBlock(r, b, i, j, -1)
		if err != nil {
			return false
		}
		switch {
		case p.Type == llm.PartToolResult:
			results = append(results, p)
		case p.Type == llm.PartText && p.Text == "":
			// Empty text blocks carry nothing; Anthropic rejects them anyway.
		default:
			parts = append(parts, p)
		}
		return true
	})
	if err != nil {
		return err
	}
	// A user turn's tool results become a RoleTool message placed before
	// whatever else the turn says.
	if len(results) > 0 {
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleTool, Content: results})
	}
	if len(parts) > 0 {
		req.Messages = append(req.Messages, llm.Message{Role: r, Content: parts})
	}
	return nil
}

// blockFields are the fields of a content block, read in one pass.
type blockFields struct {
	typ, text, source, cache, id, name, input, toolUseID, content, isError, thinking, signature, data gjson.Result
}

func readBlock(b gjson.Result) blockFields {
	var f blockFields
	b.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "type":
			f.typ = v
		case "text":
			f.text = v
		case "source":
			f.source = v
		case "cache_control":
			f.cache = v
		case "id":
			f.id = v
		case "name":
			f.name = v
		case "input":
			f.input = v
		case "tool_use_id":
			f.toolUseID = v
		case "content":
			f.content = v
		case "is_error":
			f.isError = v
		case "thinking":
			f.thinking = v
		case "signature":
			f.signature = v
		case "data":
			f.data = v
		}
		return true
	})
	return f
}

// decodeBlock reads content block j of message i or, when k >= 0, block k
// of that block's own content (a tool_result's). Inside a tool_result, role
// is llm.RoleTool and only text and image blocks are allowed.
func decodeBlock(role llm.Role, b gjson.Result, i, j, k int) (llm.Part, error) {
	at := func(field string) string {
		s := fmt.Sprintf("messages.%d.content.%d", i, j)
		if k >= 0 {
			s += fmt.Sprintf(".content.%d", k)
		}
		if field != "" {
			s += "." + field
		}
		return s
	}
	if !b.IsObject() {
		return llm.Part{}, invalid(at(""), "must be an object")
	}
	f := readBlock(b)
	var p llm.Part
	var err error
	var ok bool
	if p.CacheControl, ok = rawObject(f.cache); !ok {
		return p, invalid(at("cache_control"), "must be an object")
	}
	typ := f.typ.Str
	if role == llm.RoleTool && typ != "text" && typ != "image" {
		typ = "" // not translatable inside a tool_result
	}
	switch typ {
	case "text":
		if f.text.Type != gjson.String {
			return p, invalid(at("text"), "must be a string")
		}
		p.Type, p.Text = llm.PartText, f.text.Str
	case "image":
		p.Type = llm.PartImage
		if p.Image, err = decodeImage(f.source, func() string { return at("source") }); err != nil {
			return p, err
		}
	case "tool_use":
		if role != llm.RoleAssistant {
			return p, invalid(at("type"), "tool_use blocks are only allowed in assistant messages")
		}
		if f.id.Type != gjson.String || f.id.Str == "" {
			return p, invalid(at("id"), "must be a non-empty string")
		}
		if f.name.Type != gjson.String || f.name.Str == "" {
			return p, invalid(at("name"), "must be a non-empty string")
		}
		args := "{}"
		switch {
		case !f.input.Exists() || f.input.Type == gjson.Null:
		case f.input.IsObject():
			if c := compactBytes(f.input.Raw); len(c) > 2 {
				args = string(c)
			}
		default:
			return p, invalid(at("input"), "must be an object")
		}
		p.Type = llm.PartToolCall
		p.ToolCall = &llm.ToolCall{ID: f.id.Str, Name: f.name.Str, Arguments: args}
	case "tool_result":
		if role != llm.RoleUser {
			return p, invalid(at("type"), "tool_result blocks are only allowed in user messages")
		}
		if f.toolUseID.Type != gjson.String || f.toolUseID.Str == "" {
			return p, invalid(at("tool_use_id"), "must be a non-empty string")
		}
		res := &llm.ToolResult{CallID: f.toolUseID.Str}
		switch f.isError.Type {
		case gjson.Null:
		case gjson.True, gjson.False:
			res.IsError = f.isError.Bool()
		default:
			return p, invalid(at("is_error"), "must be a boolean")
		}
		if res.Content, err = decodeToolResultContent(f.content, i, j); err != nil {
			return p, err
		}
		p.Type, p.ToolResult = llm.PartToolResult, res
	case "thinking":
		if f.thinking.Type != gjson.String {
			return p, invalid(at("thinking"), "must be a string")
		}
		if f.signature.Type != gjson.String && f.signature.Type != gjson.Null {
			return p, invalid(at("signature"), "must be a string")
		}
		p.Type, p.Text, p.Signature = llm.PartThinking, f.thinking.Str, f.signature.Str
	case "redacted_thinking":
		if f.data.Type != gjson.String {
			return p, invalid(at("data"), "must be a string")
		}
		p.Type, p.Data = llm.PartRedactedThinking, f.data.Str
	default:
		if f.typ.Type != gjson.String {
			return p, invalid(at("type"), "field required")
		}
		return p, invalid(at("type"), "content block type %q cannot be translated for this model (it works only when the upstream is Anthropic)", f.typ.Str)
	}
	return p, nil
}

// decodeImage reads an image block's source; param names it, lazily, for
// errors.
func decodeImage(src gjson.Result, param func() string) (*llm.Image, error) {
	if !src.IsObject() {
		return nil, invalid(param(), "must be an object")
	}
	var typ, mediaType, data, url gjson.Result
	src.ForEach(func(k, f gjson.Result) bool {
		switch k.Str {
		case "type":
			typ = f
		case "media_type":
			mediaType = f
		case "data":
			data = f
		case "url":
			url = f
		}
		return true
	})
	switch typ.Str {
	case "base64":
		if mediaType.Type != gjson.String || mediaType.Str == "" {
			return nil, invalid(param()+".media_type", "must be a non-empty string")
		}
		if data.Type != gjson.String || data.Str == "" {
			return nil, invalid(param()+".data", "must be a non-empty string")
		}
		return &llm.Image{MediaType: mediaType.Str, Data: data.Str}, nil
	case "url":
		if url.Type != gjson.String || url.Str == "" {
			return nil, invalid(param()+".url", "must be a non-empty string")
		}
		return &llm.Image{URL: url.Str}, nil
	}
	if typ.Type != gjson.String {
		return nil, invalid(param()+".type", "field required")
	}
	return nil, invalid(param()+".type", "image source type %q cannot be translated for this model", typ.Str)
}

// decodeToolResultContent reads the content of block j of message i, a
// tool_result: a string or an array of text and image blocks.
func decodeToolResultContent(v gjson.Result, i, j int) ([]llm.Part, error) {
	switch {
	case !v.Exists() || v.Type == gjson.Null:
		return nil, nil
	case v.Type == gjson.String:
		if v.Str == "" {
			return nil, nil
		}
		return []llm.Part{llm.TextPart(v.Str)}, nil
	case !v.IsArray():
		return nil, invalid(fmt.Sprintf("messages.%d.content.%d.content", i, j), "must be a string or an array of content blocks")
	}
	var (
		parts []llm.Part
		err   error
		k     = -1
	)
	v.ForEach(func(_, b gjson.Result) bool {
		k++
		var p llm.Part
		if p, err = decodeBlock(llm.RoleTool, b, i, j, k); err != nil {
			return false
		}
		if p.Type != llm.PartText || p.Text != "" {
			parts = append(parts, p)
		}
		return true
	})
	return parts, err
}
