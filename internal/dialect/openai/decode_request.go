package openai

import (
	"strings"

	"github.com/tidegate/tidegate/internal/dialect/oaierr"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidwall/gjson"
)

// DecodeChatRequest decodes a Chat Completions request body. Wrong types
// and missing required fields give a KindInvalidRequest *llm.Error with
// Param set ("messages.[2].content"); unknown fields are ignored (they
// survive only the same-dialect passthrough). Source is set to the body.
func DecodeChatRequest(body []byte) (*llm.Request, error) {
	root, e := parseBody(body)
	if e != nil {
		return nil, e
	}
	req := &llm.Request{Op: llm.OpChat, Source: llm.Source{Dialect: Dialect, Body: body}}
	if e := decodeChat(req, root); e != nil {
		return nil, oaierr.Finish(e)
	}
	return req, nil
}

// DecodeCompletionRequest decodes a legacy Completions request body into
// an OpCompletion request. The prompt is a string or a one-element array
// of strings; several prompts or token arrays cannot be expressed
// canonically and are refused (the passthrough still serves them when the
// request is decoded lazily, see NewLazyCompletionRequest).
func DecodeCompletionRequest(body []byte) (*llm.Request, error) {
	root, e := parseBody(body)
	if e != nil {
		return nil, e
	}
	req := &llm.Request{Op: llm.OpCompletion, Source: llm.Source{Dialect: Dialect, Body: body}}
	if e := decodeCompletion(req, root); e != nil {
		return nil, oaierr.Finish(e)
	}
	return req, nil
}

// NewLazyChatRequest reads only the envelope of a Chat Completions body
// (model, stream, stream_options.include_usage) and returns a lazy request
// whose Decode runs DecodeChatRequest. The same-dialect passthrough never
// pays for the full decode.
func NewLazyChatRequest(body []byte) (*llm.Request, error) {
	return newLazy(llm.OpChat, body, func(req *llm.Request, root gjson.Result) *llm.Error {
		return decodeChat(req, root)
	})
}

// NewLazyCompletionRequest is NewLazyChatRequest for legacy Completions.
func NewLazyCompletionRequest(body []byte) (*llm.Request, error) {
	return newLazy(llm.OpCompletion, body, func(req *llm.Request, root gjson.Result) *llm.Error {
		return decodeCompletion(req, root)
	})
}

func newLazy(op llm.Operation, body []byte, decode func(*llm.Request, gjson.Result) *llm.Error) (*llm.Request, error) {
	root, e := parseBody(body)
	if e != nil {
		return nil, e
	}
	var env llm.Request
	var model string
	var err *llm.Error
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			model, _, err = oaierr.String("model", v)
		case "stream", "stream_options":
			_, err = decodeCommon(&env, k.Str, v)
		}
		return err == nil
	})
	if err != nil {
		return nil, oaierr.Finish(err)
	}
	if model == "" {
		return nil, oaierr.Finish(oaierr.Missing("model"))
	}
	src := llm.Source{Dialect: Dialect, Body: body}
	return llm.NewLazyRequest(op, model, env.Stream, env.IncludeUsage, src, func(r *llm.Request) error {
		root, e := parseBody(r.Source.Body)
		if e != nil {
			return e
		}
		full := llm.Request{Op: op, Source: r.Source}
		if e := decode(&full, root); e != nil {
			return oaierr.Finish(e)
		}
		*r = full
		return nil
	}), nil
}

// decodeCommon handles the sampling and envelope fields shared by Chat
// Completions and Completions. It reports whether key was one of them.
func decodeCommon(req *llm.Request, key string, v gjson.Result) (bool, *llm.Error) {
	var err *llm.Error
	switch key {
	case "max_tokens":
		var n int64
		var ok bool
		if n, ok, err = oaierr.Int(key, v); ok {
			if n < 0 {
				return true, oaierr.Value(key, "expected a value >= 1.")
			}
			req.MaxTokens = int(n)
		}
	case "temperature":
		req.Temperature, err = oaierr.Float(key, v)
	case "top_p":
		req.TopP, err = oaierr.Float(key, v)
	case "presence_penalty":
		req.PresencePenalty, err = oaierr.Float(key, v)
	case "frequency_penalty":
		req.FrequencyPenalty, err = oaierr.Float(key, v)
	case "top_k": // vLLM and other compat servers
		var n int64
		var ok bool
		if n, ok, err = oaierr.Int(key, v); ok {
			k := int(n)
			req.TopK = &k
		}
	case "n":
		var n int64
		var ok bool
		if n, ok, err = oaierr.Int(key, v); ok {
			if n < 1 {
				return true, oaierr.Value(key, "expected a value >= 1.")
			}
			req.N = int(n)
		}
	case "seed":
		var n int64
		var ok bool
		if n, ok, err = oaierr.Int(key, v); ok {
			req.Seed = &n
		}
	case "user":
		req.User, _, err = oaierr.String(key, v)
	case "stop":
		req.Stop, err = decodeStop(v)
	case "stream":
		req.Stream, _, err = getBool(key, v)
	case "stream_options":
		switch {
		case v.Type == gjson.Null:
		case v.IsObject():
			req.IncludeUsage, _, err = getBool("stream_options.include_usage", v.Get("include_usage"))
		default:
			err = oaierr.Type(key, "an object", v)
		}
	default:
		return false, nil
	}
	return true, err
}

func decodeStop(v gjson.Result) ([]string, *llm.Error) {
	switch {
	case v.Type == gjson.Null:
		return nil, nil
	case v.Type == gjson.String:
		if v.Str == "" {
			return nil, nil
		}
		return []string{v.Str}, nil
	case v.IsArray():
		var out []string
		var err *llm.Error
		i := 0
		v.ForEach(func(_, s gjson.Result) bool {
			if s.Type != gjson.String {
				err = oaierr.Type(idx("stop", i), "a string", s)
				return false
			}
			if s.Str != "" {
				out = append(out, s.Str)
			}
			i++
			return true
		})
		return out, err
	}
	return nil, oaierr.Type("stop", "one of a string or array of strings", v)
}

func decodeChat(req *llm.Request, root gjson.Result) *llm.Error {
	var err *llm.Error
	var maxCompletion int64 = -1
	var haveMessages bool
	root.ForEach(func(k, v gjson.Result) bool {
		var handled bool
		if handled, err = decodeCommon(req, k.Str, v); handled {
			return err == nil
		}
		switch k.Str {
		case "model":
			req.Model, _, err = oaierr.String("model", v)
		case "messages":
			haveMessages = v.Type != gjson.Null
			if haveMessages {
				req.Messages, err = decodeMessages(v)
			}
		case "max_completion_tokens":
			var n int64
			var ok bool
			if n, ok, err = oaierr.Int(k.Str, v); ok {
				if n < 0 {
					err = oaierr.Value(k.Str, "expected a value >= 1.")
				}
				maxCompletion = n
			}
		case "parallel_tool_calls":
			err = setBool(&req.ParallelToolCalls, k.Str, v)
		case "tools":
			req.Tools, err = decodeTools(v)
		case "tool_choice":
			req.ToolChoice, err = decodeToolChoice(v)
		case "reasoning_effort":
			var s string
			var ok bool
			if s, ok, err = oaierr.String(k.Str, v); ok && s != "" {
				req.Reasoning = &llm.Reasoning{Enabled: s != "none", Effort: s}
			}
		case "response_format":
			req.ResponseFormat, err = decodeResponseFormat(v)
		case "functions", "function_call":
			if v.Type != gjson.Null {
				err = oaierr.Unsupported(k.Str, "The legacy '"+k.Str+"' parameter is not supported; use 'tools' and 'tool_choice'.")
			}
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	if maxCompletion >= 0 {
		req.MaxTokens = int(maxCompletion)
	}
	if req.Model == "" {
		return oaierr.Missing("model")
	}
	if !haveMessages {
		return oaierr.Missing("messages")
	}
	if len(req.Messages) == 0 {
		return &llm.Error{Kind: llm.KindInvalidRequest, Param: "messages", Code: "empty_array",
			Message: "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead."}
	}
	if req.ParallelToolCalls != nil && !*req.ParallelToolCalls {
		if req.ToolChoice == nil {
			req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceAuto}
		}
		req.ToolChoice.DisableParallel = true
	}
	return nil
}

func decodeCompletion(req *llm.Request, root gjson.Result) *llm.Error {
	var err *llm.Error
	var havePrompt bool
	root.ForEach(func(k, v gjson.Result) bool {
		var handled bool
		if handled, err = decodeCommon(req, k.Str, v); handled {
			return err == nil
		}
		switch k.Str {
		case "model":
			req.Model, _, err = oaierr.String("model", v)
		case "prompt":
			havePrompt = v.Type != gjson.Null
			req.Prompt, err = decodePrompt(v)
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	if req.Model == "" {
		return oaierr.Missing("model")
	}
	if !havePrompt {
		return oaierr.Missing("prompt")
	}
	return nil
}

func decodePrompt(v gjson.Result) (string, *llm.Error) {
	switch {
	case v.Type == gjson.Null:
		return "", nil
	case v.Type == gjson.String:
		return v.Str, nil
	case v.IsArray():
		arr := v.Array()
		switch {
		case len(arr) == 0:
			return "", oaierr.Value("prompt", "expected a non-empty prompt.")
		case arr[0].Type == gjson.Number || arr[0].IsArray():
			return "", oaierr.Unsupported("prompt", "Token-array prompts are not supported by this endpoint; send the prompt as a string.")
		case len(arr) > 1:
			return "", oaierr.Unsupported("prompt", "Only one prompt per request is supported; send a string or a one-element array.")
		case arr[0].Type != gjson.String:
			return "", oaierr.Type(idx("prompt", 0), "a string", arr[0])
		}
		return arr[0].Str, nil
	}
	return "", oaierr.Type("prompt", "one of a string or array of strings", v)
}

func decodeMessages(v gjson.Result) ([]llm.Message, *llm.Error) {
	if !v.IsArray() {
		return nil, oaierr.Type("messages", "an array", v)
	}
	var err *llm.Error
	msgs := make([]llm.Message, 0, 8)
	i := 0
	v.ForEach(func(_, m gjson.Result) bool {
		var msg llm.Message
		if msg, err = decodeMessage(m); err != nil {
			err = withPrefix(err, idx("messages", i))
			return false
		}
		msgs = append(msgs, msg)
		i++
		return true
	})
	return msgs, err
}

// decodeMessage decodes one message; error Params are relative to it.
func decodeMessage(m gjson.Result) (llm.Message, *llm.Error) {
	var msg llm.Message
	if !m.IsObject() {
		return msg, oaierr.Type("", "an object", m)
	}
	var (
		err                         *llm.Error
		role, toolCallID, reasoning string
		content, toolCalls          gjson.Result
		haveContent, haveCallID     bool
		refusal                     string
	)
	m.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "role":
			role, _, err = oaierr.String("role", v)
		case "content":
			content, haveContent = v, v.Type != gjson.Null
		case "name":
			msg.Name, _, err = oaierr.String("name", v)
		case "tool_calls":
			toolCalls = v
		case "tool_call_id":
			toolCallID, haveCallID, err = oaierr.String("tool_call_id", v)
		case "reasoning_content":
			reasoning, _, err = oaierr.String("reasoning_content", v)
		case "reasoning": // some compat servers echo it under this name
			var s string
			if s, _, err = oaierr.String("reasoning", v); reasoning == "" {
				reasoning = s
			}
		case "refusal":
			refusal, _, err = oaierr.String("refusal", v)
		case "function_call":
			if v.Type != gjson.Null {
				err = oaierr.Unsupported("function_call", "The legacy 'function_call' message field is not supported; use 'tool_calls'.")
			}
		}
		return err == nil
	})
	if err != nil {
		return msg, err
	}
	switch role {
	case "":
		return msg, oaierr.Missing("role")
	case "system", "developer":
		msg.Role = llm.RoleSystem
		if !haveContent {
			return msg, oaierr.Missing("content")
		}
		msg.Content, err = decodeContent(content, false, false)
	case "user":
		msg.Role = llm.RoleUser
		if !haveContent {
			return msg, oaierr.Missing("content")
		}
		msg.Content, err = decodeContent(content, true, false)
	case "assistant":
		msg.Role = llm.RoleAssistant
		if reasoning != "" {
			msg.Content = append(msg.Content, llm.Part{Type: llm.PartThinking, Text: reasoning})
		}
		if haveContent {
			var parts []llm.Part
			parts, err = decodeContent(content, false, true)
			msg.Content = append(msg.Content, parts...)
		}
		if err == nil && refusal != "" && len(msg.Content) == 0 {
			msg.Content = append(msg.Content, llm.TextPart(refusal))
		}
		if err == nil && toolCalls.Exists() && toolCalls.Type != gjson.Null {
			if msg.Content, err = decodeToolCalls(toolCalls, msg.Content); err != nil {
				return msg, withPrefix(err, "tool_calls")
			}
		}
	case "tool":
		msg.Role = llm.RoleTool
		if !haveCallID {
			return msg, oaierr.Missing("tool_call_id")
		}
		var parts []llm.Part
		if haveContent {
			parts, err = decodeContent(content, false, false)
		}
		msg.Content = []llm.Part{{Type: llm.PartToolResult, ToolResult: &llm.ToolResult{CallID: toolCallID, Content: parts}}}
	case "function":
		return msg, oaierr.Unsupported("role", "The legacy 'function' role is not supported; use 'tool' messages.")
	default:
		return msg, oaierr.Value("role", "expected one of 'system', 'developer', 'user', 'assistant' or 'tool', but got '"+role+"'.")
	}
	return msg, withPrefix(err, "content")
}

// decodeContent decodes a content string or array of parts. images allows
// image_url parts (user messages); assistant allows refusal parts. Error
// Params are relative to the content value.
func decodeContent(v gjson.Result, images, assistant bool) ([]llm.Part, *llm.Error) {
	switch {
	case v.Type == gjson.Null:
		return nil, nil
	case v.Type == gjson.String:
		if v.Str == "" {
			return nil, nil
		}
		return []llm.Part{llm.TextPart(v.Str)}, nil
	case !v.IsArray():
		return nil, oaierr.Type("", "one of a string or array of objects", v)
	}
	var parts []llm.Part
	var err *llm.Error
	j := 0
	v.ForEach(func(_, item gjson.Result) bool {
		if parts, err = decodePart(item, images, assistant, parts); err != nil {
			err = withPrefix(err, oaierr.At(j))
			return false
		}
		j++
		return true
	})
	return parts, err
}

func decodePart(item gjson.Result, images, assistant bool, parts []llm.Part) ([]llm.Part, *llm.Error) {
	if !item.IsObject() {
		return parts, oaierr.Type("", "an object", item)
	}
	typ, ok, err := oaierr.String("type", item.Get("type"))
	if err != nil {
		return parts, err
	} else if !ok {
		return parts, oaierr.Missing("type")
	}
	switch {
	case typ == "text":
		s, ok, err := oaierr.String("text", item.Get("text"))
		if err != nil {
			return parts, err
		} else if !ok {
			return parts, oaierr.Missing("text")
		}
		if s != "" {
			parts = append(parts, llm.TextPart(s))
		}
	case typ == "refusal" && assistant:
		s, _, err := oaierr.String("refusal", item.Get("refusal"))
		if err != nil {
			return parts, err
		}
		if s != "" {
			parts = append(parts, llm.TextPart(s))
		}
	case typ == "image_url" && images:
		img, err := decodeImage(item.Get("image_url"))
		if err != nil {
			return parts, withPrefix(err, "image_url")
		}
		parts = append(parts, llm.Part{Type: llm.PartImage, Image: img})
	default:
		return parts, oaierr.Unsupported("type", "Content part type '"+typ+"' is not supported in this message.")
	}
	return parts, nil
}

// decodeImage decodes an image_url object; error Params are relative to it.
func decodeImage(v gjson.Result) (*llm.Image, *llm.Error) {
	var url, detail string
	var err *llm.Error
	switch {
	case v.Type == gjson.String: // lenient: "image_url": "https://..."
		url = v.Str
	case v.IsObject():
		if url, _, err = oaierr.String("url", v.Get("url")); err != nil {
			return nil, err
		}
		if detail, _, err = oaierr.String("detail", v.Get("detail")); err != nil {
			return nil, err
		}
	case !v.Exists():
		return nil, oaierr.Missing("")
	default:
		return nil, oaierr.Type("", "an object", v)
	}
	if url == "" {
		return nil, oaierr.Missing("url")
	}
	img := &llm.Image{Detail: detail}
	switch {
	case hasPrefixFold(url, "data:"):
		comma := strings.IndexByte(url, ',')
		if comma < 0 {
			return nil, oaierr.Value("url", "expected a base64 data URL.")
		}
		meta := url[len("data:"):comma]
		if !strings.HasSuffix(meta, ";base64") {
			return nil, oaierr.Value("url", "expected a base64 data URL.")
		}
		meta = meta[:len(meta)-len(";base64")]
		if semi := strings.IndexByte(meta, ';'); semi >= 0 {
			meta = meta[:semi]
		}
		img.MediaType = meta
		img.Data = url[comma+1:]
		if img.Data == "" {
			return nil, oaierr.Value("url", "the data URL holds no image data.")
		}
	case hasPrefixFold(url, "https://"), hasPrefixFold(url, "http://"):
		img.URL = url
	default:
		return nil, oaierr.Value("url", "expected an http(s) URL or a base64 data URL.")
	}
	return img, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// decodeToolCalls decodes an assistant's tool_calls; error Params are
// relative to the array.
func decodeToolCalls(v gjson.Result, parts []llm.Part) ([]llm.Part, *llm.Error) {
	if !v.IsArray() {
		return parts, oaierr.Type("", "an array", v)
	}
	var err *llm.Error
	j := 0
	v.ForEach(func(_, tc gjson.Result) bool {
		var call *llm.ToolCall
		if call, err = decodeToolCall(tc); err != nil {
			err = withPrefix(err, oaierr.At(j))
			return false
		}
		j++
		parts = append(parts, llm.Part{Type: llm.PartToolCall, ToolCall: call})
		return true
	})
	return parts, err
}

func decodeToolCall(tc gjson.Result) (*llm.ToolCall, *llm.Error) {
	if !tc.IsObject() {
		return nil, oaierr.Type("", "an object", tc)
	}
	call := &llm.ToolCall{}
	var fn gjson.Result
	var err *llm.Error
	tc.ForEach(func(k, f gjson.Result) bool {
		switch k.Str {
		case "id":
			call.ID, _, err = oaierr.String("id", f)
		case "type":
			var typ string
			if typ, _, err = oaierr.String("type", f); err == nil && typ != "" && typ != "function" {
				err = oaierr.Unsupported("type", "Tool call type '"+typ+"' is not supported; only 'function' tool calls are.")
			}
		case "function":
			fn = f
		}
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	if call.ID == "" {
		return nil, oaierr.Missing("id")
	}
	if err := requireObject("function", fn); err != nil {
		return nil, err
	}
	if call.Name, _, err = oaierr.String("function.name", fn.Get("name")); err != nil {
		return nil, err
	}
	if call.Name == "" {
		return nil, oaierr.Missing("function.name")
	}
	switch args := fn.Get("arguments"); {
	case args.Type == gjson.String:
		call.Arguments = args.Str
	case args.IsObject(): // lenient: arguments sent as an object
		call.Arguments = args.Raw
	case !args.Exists() || args.Type == gjson.Null:
	default:
		return nil, oaierr.Type("function.arguments", "a string", args)
	}
	if strings.TrimSpace(call.Arguments) == "" {
		call.Arguments = "{}"
	}
	return call, nil
}

func decodeTools(v gjson.Result) ([]llm.Tool, *llm.Error) {
	if v.Type == gjson.Null {
		return nil, nil
	}
	if !v.IsArray() {
		return nil, oaierr.Type("tools", "an array", v)
	}
	var tools []llm.Tool
	var err *llm.Error
	j := 0
	v.ForEach(func(_, t gjson.Result) bool {
		var tool llm.Tool
		if tool, err = decodeTool(t); err != nil {
			err = withPrefix(err, idx("tools", j))
			return false
		}
		j++
		tools = append(tools, tool)
		return true
	})
	return tools, err
}

// decodeTool decodes one tool; error Params are relative to it.
func decodeTool(t gjson.Result) (llm.Tool, *llm.Error) {
	var tool llm.Tool
	if !t.IsObject() {
		return tool, oaierr.Type("", "an object", t)
	}
	typ, _, err := oaierr.String("type", t.Get("type"))
	if err != nil {
		return tool, err
	}
	if typ != "" && typ != "function" {
		return tool, oaierr.Unsupported("type", "Tool type '"+typ+"' is not supported; only 'function' tools are.")
	}
	fn := t.Get("function")
	if err := requireObject("function", fn); err != nil {
		return tool, err
	}
	fn.ForEach(func(k, f gjson.Result) bool {
		switch k.Str {
		case "name":
			tool.Name, _, err = oaierr.String("function.name", f)
		case "description":
			tool.Description, _, err = oaierr.String("function.description", f)
		case "parameters":
			err = setObject(&tool.Parameters, "function.parameters", f)
		case "strict":
			err = setBool(&tool.Strict, "function.strict", f)
		}
		return err == nil
	})
	if err != nil {
		return tool, err
	}
	if tool.Name == "" {
		return tool, oaierr.Missing("function.name")
	}
	return tool, nil
}

// ToolChoiceMode reads tool_choice given as a string ("auto", "none" or
// "required"), which Chat Completions and the Responses API share.
func ToolChoiceMode(s string) (*llm.ToolChoice, *llm.Error) {
	switch s {
	case "auto":
		return &llm.ToolChoice{Mode: llm.ToolChoiceAuto}, nil
	case "none":
		return &llm.ToolChoice{Mode: llm.ToolChoiceNone}, nil
	case "required":
		return &llm.ToolChoice{Mode: llm.ToolChoiceRequired}, nil
	}
	return nil, oaierr.Value("tool_choice", "expected one of 'none', 'auto' or 'required', but got '"+s+"'.")
}

func decodeToolChoice(v gjson.Result) (*llm.ToolChoice, *llm.Error) {
	switch {
	case v.Type == gjson.Null:
		return nil, nil
	case v.Type == gjson.String:
		return ToolChoiceMode(v.Str)
	case v.IsObject():
		typ, _, err := oaierr.String("tool_choice.type", v.Get("type"))
		if err != nil {
			return nil, err
		}
		if typ != "function" {
			return nil, oaierr.Unsupported("tool_choice.type", "tool_choice of type '"+typ+"' is not supported; use 'function'.")
		}
		fn := v.Get("function")
		if !fn.IsObject() {
			return nil, oaierr.Missing("tool_choice.function")
		}
		name, _, err := oaierr.String("tool_choice.function.name", fn.Get("name"))
		if err != nil {
			return nil, err
		}
		if name == "" {
			return nil, oaierr.Missing("tool_choice.function.name")
		}
		return &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: name}, nil
	}
	return nil, oaierr.Type("tool_choice", "one of a string or object", v)
}

func decodeResponseFormat(v gjson.Result) (*llm.ResponseFormat, *llm.Error) {
	if v.Type == gjson.Null {
		return nil, nil
	}
	if !v.IsObject() {
		return nil, oaierr.Type("response_format", "an object", v)
	}
	typ, _, err := oaierr.String("response_format.type", v.Get("type"))
	if err != nil {
		return nil, err
	}
	rf := &llm.ResponseFormat{Type: typ}
	switch typ {
	case "":
		return nil, oaierr.Missing("response_format.type")
	case "text", "json_object":
	case "json_schema":
		js := v.Get("json_schema")
		if err := requireObject("response_format.json_schema", js); err != nil {
			return nil, err
		}
		js.ForEach(func(k, f gjson.Result) bool {
			switch k.Str {
			case "name":
				rf.Name, _, err = oaierr.String("response_format.json_schema.name", f)
			case "schema":
				err = setObject(&rf.Schema, "response_format.json_schema.schema", f)
			case "strict":
				err = setBool(&rf.Strict, "response_format.json_schema.strict", f)
			}
			return err == nil
		})
		if err != nil {
			return nil, err
		}
	default:
		return nil, oaierr.Value("response_format.type", "expected one of 'text', 'json_object' or 'json_schema', but got '"+typ+"'.")
	}
	return rf, nil
}
