package responses

import (
	"encoding/json"
	"github.com/tidegate/tidegate/internal/dialect/oaierr"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/llm"
)

// DecodeRequest decodes a Responses API request body. Wrong types and
// missing required fields give a KindInvalidRequest *llm.Error with Param
// set ("input[2].content[0].text"); unknown fields are ignored. store,
// include, prompt_cache_key, metadata, truncation and service_tier are
// accepted and mean nothing to a translated model; previous_response_id
// must have been resolved by the server (its items prepended to input).
func DecodeRequest(body []byte) (*llm.Request, error) {
	if !gjson.ValidBytes(body) {
		return nil, malformed()
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, malformed()
	}
	req := &llm.Request{Op: llm.OpChat, Source: llm.Source{Dialect: Dialect, Body: body}}
	if err := decodeRequest(req, root); err != nil {
		return nil, oaierr.Finish(err)
	}
	return req, nil
}

func malformed() *llm.Error {
	return &llm.Error{Kind: llm.KindInvalidRequest, Code: "invalid_json",
		Message: "We could not parse the JSON body of your request. The body must be a JSON object."}
}

func decodeRequest(req *llm.Request, root gjson.Result) *llm.Error {
	var (
		err          *llm.Error
		instructions string
		input        gjson.Result
	)
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			req.Model, _, err = oaierr.String("model", v)
		case "input":
			input = v
		case "instructions":
			instructions, _, err = oaierr.String("instructions", v)
		case "stream":
			var b *bool
			if b, err = getBool("stream", v); b != nil {
				req.Stream = *b
			}
		case "max_output_tokens":
			var n int64
			var ok bool
			if n, ok, err = oaierr.Int("max_output_tokens", v); ok {
				if n < 1 {
					err = oaierr.Value("max_output_tokens", "expected a value >= 1.")
				}
				req.MaxTokens = int(n)
			}
		case "temperature":
			req.Temperature, err = oaierr.Float("temperature", v)
		case "top_p":
			req.TopP, err = oaierr.Float("top_p", v)
		case "tools":
			req.Tools, err = decodeTools(v)
		case "tool_choice":
			req.ToolChoice, err = decodeToolChoice(v)
		case "parallel_tool_calls":
			req.ParallelToolCalls, err = getBool("parallel_tool_calls", v)
		case "reasoning":
			req.Reasoning, err = decodeReasoning(v)
		case "text":
			req.ResponseFormat, err = decodeText(v)
		case "user", "safety_identifier":
			var s string
			if s, _, err = oaierr.String(k.Str, v); s != "" {
				req.User = s
			}
		case "previous_response_id", "prompt_cache_key":
			_, _, err = oaierr.String(k.Str, v)
		case "store":
			_, err = getBool(k.Str, v)
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	if req.Model == "" {
		return oaierr.Missing("model")
	}
	if instructions != "" {
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleSystem, Content: []llm.Part{llm.TextPart(instructions)}})
	}
	switch {
	case input.Type == gjson.String:
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleUser, Content: []llm.Part{llm.TextPart(input.Str)}})
	case input.IsArray():
		if req.Messages, err = decodeItems(input, req.Messages); err != nil {
			return within(err, "input")
		}
	case !input.Exists() || input.Type == gjson.Null:
		return oaierr.Missing("input")
	default:
		return oaierr.Type("input", "one of a string or array of input items", input)
	}
	if len(req.Messages) == 0 || (len(req.Messages) == 1 && req.Messages[0].Role == llm.RoleSystem) {
		return &llm.Error{Kind: llm.KindInvalidRequest, Param: "input", Code: "empty_array",
			Message: "Invalid 'input': the conversation is empty. Expected at least one input item."}
	}
	if req.ParallelToolCalls != nil && !*req.ParallelToolCalls {
		if req.ToolChoice == nil {
			req.ToolChoice = &llm.ToolChoice{Mode: llm.ToolChoiceAuto}
		}
		req.ToolChoice.DisableParallel = true
	}
	return nil
}

func decodeReasoning(v gjson.Result) (*llm.Reasoning, *llm.Error) {
	switch {
	case v.Type == gjson.Null:
		return nil, nil
	case !v.IsObject():
		return nil, oaierr.Type("reasoning", "an object", v)
	}
	effort, _, err := oaierr.String("reasoning.effort", v.Get("effort"))
	if err != nil || effort == "" {
		return nil, err
	}
	return &llm.Reasoning{Enabled: effort != "none", Effort: effort}, nil
}

// decodeText reads text.format (verbosity has no canonical meaning).
func decodeText(v gjson.Result) (*llm.ResponseFormat, *llm.Error) {
	switch {
	case v.Type == gjson.Null:
		return nil, nil
	case !v.IsObject():
		return nil, oaierr.Type("text", "an object", v)
	}
	f := v.Get("format")
	switch {
	case !f.Exists() || f.Type == gjson.Null:
		return nil, nil
	case !f.IsObject():
		return nil, oaierr.Type("text.format", "an object", f)
	}
	typ, err := requireString("text.format.type", f.Get("type"))
	if err != nil {
		return nil, err
	}
	rf := &llm.ResponseFormat{Type: typ}
	switch typ {
	case "text", "json_object":
	case "json_schema":
		if rf.Name, _, err = oaierr.String("text.format.name", f.Get("name")); err != nil {
			return nil, err
		}
		s := f.Get("schema")
		if !s.IsObject() {
			if !s.Exists() || s.Type == gjson.Null {
				return nil, oaierr.Missing("text.format.schema")
			}
			return nil, oaierr.Type("text.format.schema", "an object", s)
		}
		rf.Schema = json.RawMessage(s.Raw)
		if rf.Strict, err = getBool("text.format.strict", f.Get("strict")); err != nil {
			return nil, err
		}
	default:
		return nil, oaierr.Value("text.format.type", "expected one of 'text', 'json_object' or 'json_schema', but got '"+typ+"'.")
	}
	return rf, nil
}

// decodeItems appends the canonical messages of the input items to msgs.
// Consecutive assistant-side items (reasoning, assistant messages,
// function calls) form one assistant turn; each call output is a tool
// message.
func decodeItems(v gjson.Result, msgs []llm.Message) ([]llm.Message, *llm.Error) {
	var err *llm.Error
	i := 0
	v.ForEach(func(_, item gjson.Result) bool {
		msgs, err = decodeItem(item, msgs)
		err = within(err, oaierr.At(i))
		i++
		return err == nil
	})
	return msgs, err
}

// assistant appends parts to the trailing assistant message, or starts one.
func assistant(msgs []llm.Message, parts ...llm.Part) []llm.Message {
	if n := len(msgs); n > 0 && msgs[n-1].Role == llm.RoleAssistant {
		msgs[n-1].Content = append(msgs[n-1].Content, parts...)
		return msgs
	}
	return append(msgs, llm.Message{Role: llm.RoleAssistant, Content: parts})
}

func decodeItem(item gjson.Result, msgs []llm.Message) ([]llm.Message, *llm.Error) {
	if !item.IsObject() {
		return msgs, oaierr.Type("", "an object", item)
	}
	typ, _, err := oaierr.String("type", item.Get("type"))
	if err != nil {
		return msgs, err
	}
	if typ == "" && item.Get("role").Exists() {
		typ = "message" // EasyInputMessage
	}
	switch typ {
	case "message":
		return decodeMessage(item, msgs)
	case "function_call", "custom_tool_call":
		call := &llm.ToolCall{}
		if call.ID, err = requireString("call_id", item.Get("call_id")); err != nil {
			return msgs, err
		}
		if call.Name, err = requireString("name", item.Get("name")); err != nil {
			return msgs, err
		}
		ns, _, err := oaierr.String("namespace", item.Get("namespace"))
		if err != nil {
			return msgs, err
		}
		call.Name = flatName(ns, call.Name)
		if typ == "custom_tool_call" {
			in, _, err := oaierr.String("input", item.Get("input"))
			if err != nil {
				return msgs, err
			}
			call.Arguments = customArgs(in)
		} else {
			args, _, err := oaierr.String("arguments", item.Get("arguments"))
			if err != nil {
				return msgs, err
			}
			if strings.TrimSpace(args) == "" {
				args = "{}"
			}
			call.Arguments = args
		}
		return assistant(msgs, llm.Part{Type: llm.PartToolCall, ToolCall: call}), nil
	case "function_call_output", "custom_tool_call_output":
		res := &llm.ToolResult{}
		if res.CallID, err = requireString("call_id", item.Get("call_id")); err != nil {
			return msgs, err
		}
		out := item.Get("output")
		switch {
		case out.Type == gjson.String:
			if out.Str != "" {
				res.Content = []llm.Part{llm.TextPart(out.Str)}
			}
		case out.IsArray():
			if res.Content, err = decodeParts(out, "user"); err != nil {
				return msgs, within(err, "output")
			}
		case !out.Exists() || out.Type == gjson.Null:
			return msgs, oaierr.Missing("output")
		default:
			return msgs, oaierr.Type("output", "one of a string or array of content parts", out)
		}
		return append(msgs, llm.Message{Role: llm.RoleTool, Content: []llm.Part{{Type: llm.PartToolResult, ToolResult: res}}}), nil
	case "reasoning":
		p, err := decodeReasoningItem(item)
		if err != nil || p == nil {
			return msgs, err
		}
		return assistant(msgs, *p), nil
	case "item_reference":
		return msgs, oaierr.Unsupported("type", "Input items of type 'item_reference' are not supported by this gateway; send the items themselves.")
	case "":
		return msgs, oaierr.Missing("type")
	}
	if hostedItem(typ) {
		return msgs, nil // see hostedItem
	}
	return msgs, oaierr.Unsupported("type", "Input item type '"+typ+"' is not supported by this gateway.")
}

// customArgs wraps a custom tool's freeform input as canonical arguments.
func customArgs(input string) string {
	b, _ := json.Marshal(map[string]string{"input": input})
	return string(b)
}

func decodeMessage(item gjson.Result, msgs []llm.Message) ([]llm.Message, *llm.Error) {
	role, err := requireString("role", item.Get("role"))
	if err != nil {
		return msgs, err
	}
	var r llm.Role
	switch role {
	case "user":
		r = llm.RoleUser
	case "assistant":
		r = llm.RoleAssistant
	case "system", "developer":
		r = llm.RoleSystem
	default:
		return msgs, oaierr.Value("role", "expected one of 'user', 'assistant', 'system' or 'developer', but got '"+role+"'.")
	}
	var parts []llm.Part
	switch c := item.Get("content"); {
	case c.Type == gjson.String:
		if c.Str != "" {
			parts = []llm.Part{llm.TextPart(c.Str)}
		}
	case c.IsArray():
		if parts, err = decodeParts(c, role); err != nil {
			return msgs, within(err, "content")
		}
	case !c.Exists() || c.Type == gjson.Null:
		return msgs, oaierr.Missing("content")
	default:
		return msgs, oaierr.Type("content", "one of a string or array of content parts", c)
	}
	if r == llm.RoleAssistant {
		if len(parts) == 0 {
			return msgs, nil
		}
		return assistant(msgs, parts...), nil
	}
	return append(msgs, llm.Message{Role: r, Content: parts}), nil
}

// decodeParts decodes content parts; images only outside assistant
// messages.
func decodeParts(v gjson.Result, role string) ([]llm.Part, *llm.Error) {
	var parts []llm.Part
	var err *llm.Error
	i := 0
	v.ForEach(func(_, p gjson.Result) bool {
		parts, err = decodePart(p, role, parts)
		err = within(err, oaierr.At(i))
		i++
		return err == nil
	})
	return parts, err
}

func decodePart(p gjson.Result, role string, parts []llm.Part) ([]llm.Part, *llm.Error) {
	if !p.IsObject() {
		return parts, oaierr.Type("", "an object", p)
	}
	typ, err := requireString("type", p.Get("type"))
	if err != nil {
		return parts, err
	}
	switch {
	case typ == "input_text" || typ == "output_text" || typ == "text" || typ == "summary_text":
		s, ok, err := oaierr.String("text", p.Get("text"))
		if err != nil {
			return parts, err
		} else if !ok {
			return parts, oaierr.Missing("text")
		}
		if s != "" {
			parts = append(parts, llm.TextPart(s))
		}
	case typ == "refusal":
		s, _, err := oaierr.String("refusal", p.Get("refusal"))
		if err != nil {
			return parts, err
		}
		if s != "" {
			parts = append(parts, llm.TextPart(s))
		}
	case typ == "input_image" && role != "assistant":
		img, err := decodeImage(p)
		if err != nil {
			return parts, err
		}
		parts = append(parts, llm.Part{Type: llm.PartImage, Image: img})
	case typ == "input_file":
		return parts, oaierr.Unsupported("type", "Content parts of type 'input_file' are not supported by this gateway.")
	default:
		return parts, oaierr.Unsupported("type", "Content part type '"+typ+"' is not supported in this item.")
	}
	return parts, nil
}

// decodeImage reads an input_image part: image_url (an http(s) URL or a
// base64 data URL) and detail; file_id needs OpenAI's file store.
func decodeImage(p gjson.Result) (*llm.Image, *llm.Error) {
	url, _, err := oaierr.String("image_url", p.Get("image_url"))
	if err != nil {
		return nil, err
	}
	detail, _, err := oaierr.String("detail", p.Get("detail"))
	if err != nil {
		return nil, err
	}
	if url == "" {
		if p.Get("file_id").Exists() {
			return nil, oaierr.Unsupported("file_id", "Images by 'file_id' are not supported by this gateway; send 'image_url'.")
		}
		return nil, oaierr.Missing("image_url")
	}
	img := &llm.Image{Detail: detail}
	switch {
	case hasPrefixFold(url, "data:"):
		comma := strings.IndexByte(url, ',')
		if comma < 0 || !strings.HasSuffix(url[:comma], ";base64") || comma == len(url)-1 {
			return nil, oaierr.Value("image_url", "expected a base64 data URL.")
		}
		meta := url[len("data:") : comma-len(";base64")]
		if semi := strings.IndexByte(meta, ';'); semi >= 0 {
			meta = meta[:semi]
		}
		img.MediaType, img.Data = meta, url[comma+1:]
	case hasPrefixFold(url, "https://"), hasPrefixFold(url, "http://"):
		img.URL = url
	default:
		return nil, oaierr.Value("image_url", "expected an http(s) URL or a base64 data URL.")
	}
	return img, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// decodeReasoningItem turns a reasoning item into a thinking part: its
// reasoning text (or summary), and the Anthropic signature or redacted
// data the gateway put in encrypted_content. nil when nothing is left.
func decodeReasoningItem(item gjson.Result) (*llm.Part, *llm.Error) {
	enc, _, err := oaierr.String("encrypted_content", item.Get("encrypted_content"))
	if err != nil {
		return nil, err
	}
	if data, ok := strings.CutPrefix(enc, redactedPrefix); ok {
		return &llm.Part{Type: llm.PartRedactedThinking, Data: data}, nil
	}
	var text strings.Builder
	for _, key := range [...]string{"content", "summary"} {
		v := item.Get(key)
		if v.Type == gjson.Null || !v.Exists() {
			continue
		}
		if !v.IsArray() {
			return nil, oaierr.Type(key, "an array", v)
		}
		i := 0
		v.ForEach(func(_, p gjson.Result) bool {
			if !p.IsObject() {
				err = within(oaierr.Type("", "an object", p), oaierr.At(i))
				return false
			}
			var s string
			if s, _, err = oaierr.String("text", p.Get("text")); err != nil {
				err = within(err, oaierr.At(i))
				return false
			}
			if s != "" && text.Len() > 0 {
				text.WriteString("\n\n")
			}
			text.WriteString(s)
			i++
			return true
		})
		if err != nil {
			return nil, within(err, key)
		}
		if text.Len() > 0 {
			break // content is the whole reasoning; the summary only repeats it
		}
	}
	sig, _ := strings.CutPrefix(enc, sigPrefix)
	if sig == enc {
		sig = "" // not ours: meaningless to a translated model
	}
	if text.Len() == 0 && sig == "" {
		return nil, nil
	}
	return &llm.Part{Type: llm.PartThinking, Text: text.String(), Signature: sig}, nil
}
