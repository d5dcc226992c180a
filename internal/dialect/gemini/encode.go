package gemini

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"github.com/tidegate/tidegate/internal/llm"
)

// SkipSignature is Google's documented placeholder for a function call
// that has no thought signature (a conversation that did not come from
// Gemini); Gemini 3 models reject function calls without one.
const SkipSignature = "skip_thought_signature_validator"

// EncodeRequest builds a generateContent body (the model goes in the URL).
// System messages become systemInstruction; tool results become
// functionResponse parts named after their call; images must be inline.
func EncodeRequest(req *llm.Request, info llm.ModelInfo) ([]byte, error) {
	if err := req.Decode(); err != nil {
		return nil, err
	}
	if req.N > 1 {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "n", Message: "Gemini models generate one choice per request through tidegate; n must be 1"}
	}
	out := request{}
	if sys := req.SystemText(); sys != "" {
		out.SystemInstruction = &content{Parts: []part{{Text: sys}}}
	}
	if req.Op == llm.OpCompletion && len(req.Messages) == 0 {
		out.Contents = append(out.Contents, content{Role: "user", Parts: []part{{Text: req.Prompt}}})
	}
	names := map[string]string{} // tool call ID → function name
	needSignatures := wantsSignatures(req.Model)
	for i := range req.Messages {
		m := &req.Messages[i]
		if m.Role == llm.RoleSystem {
			continue
		}
		role := "user"
		if m.Role == llm.RoleAssistant {
			role = "model"
		}
		parts, err := encodeParts(m, i, names, needSignatures)
		if err != nil {
			return nil, err
		}
		if len(parts) == 0 {
			continue
		}
		// Gemini wants one turn per role change: tool results and the
		// user text that follows them share a user turn.
		if n := len(out.Contents); n > 0 && out.Contents[n-1].Role == role {
			out.Contents[n-1].Parts = append(out.Contents[n-1].Parts, parts...)
		} else {
			out.Contents = append(out.Contents, content{Role: role, Parts: parts})
		}
	}
	if len(out.Contents) == 0 {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "messages", Message: "Gemini needs at least one user or assistant message"}
	}
	if len(req.Tools) > 0 {
		decls := make([]functionDecl, 0, len(req.Tools))
		for i, t := range req.Tools {
			params, err := schema(t.Parameters)
			if err != nil {
				return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "tools[" + strconv.Itoa(i) + "].parameters", Message: "tool parameters are not a JSON object"}
			}
			decls = append(decls, functionDecl{Name: t.Name, Description: t.Description, ParametersJSONSchema: params})
		}
		out.Tools = []toolDecl{{FunctionDeclarations: decls}}
		if tc := req.ToolChoice; tc != nil {
			switch tc.Mode {
			case llm.ToolChoiceAuto:
				out.ToolConfig = &toolConfig{functionCallingConfig{Mode: "AUTO"}}
			case llm.ToolChoiceNone:
				out.ToolConfig = &toolConfig{functionCallingConfig{Mode: "NONE"}}
			case llm.ToolChoiceRequired:
				out.ToolConfig = &toolConfig{functionCallingConfig{Mode: "ANY"}}
			case llm.ToolChoiceTool:
				out.ToolConfig = &toolConfig{functionCallingConfig{Mode: "ANY", AllowedFunctionNames: []string{tc.Name}}}
			}
		}
	}
	gc, err := generation(req, info)
	if err != nil {
		return nil, err
	}
	out.GenerationConfig = gc
	b, err := json.Marshal(out)
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Message: "cannot encode the request for Gemini", Err: err}
	}
	return b, nil
}

// wantsSignatures reports whether the model validates thought signatures
// on function calls (Gemini 3 and later).
func wantsSignatures(model string) bool {
	m := model[strings.LastIndexByte(model, '/')+1:]
	return strings.HasPrefix(m, "gemini-") && !strings.HasPrefix(m, "gemini-1") && !strings.HasPrefix(m, "gemini-2")
}

func encodeParts(m *llm.Message, i int, names map[string]string, needSignatures bool) ([]part, error) {
	var parts []part
	pending := "" // a signature carried by an empty thinking part, for the next call
	firstCall := true
	for j := range m.Content {
		p := &m.Content[j]
		param := "messages[" + strconv.Itoa(i) + "].content[" + strconv.Itoa(j) + "]"
		switch p.Type {
		case llm.PartText:
			if p.Text != "" {
				parts = append(parts, part{Text: p.Text})
			}
		case llm.PartThinking:
			if m.Role != llm.RoleAssistant {
				continue
			}
			if p.Text == "" {
				pending = p.Signature
				continue
			}
			parts = append(parts, part{Text: p.Text, Thought: true, ThoughtSignature: p.Signature})
		case llm.PartImage:
			img := p.Image
			if img == nil {
				continue
			}
			if img.Data == "" {
				return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: param, Message: "Gemini accepts images inline only (base64 data, not a URL)"}
			}
			mt := img.MediaType
			if mt == "" {
				mt = "image/png"
			}
			parts = append(parts, part{InlineData: &blob{MimeType: mt, Data: img.Data}})
		case llm.PartToolCall:
			tc := p.ToolCall
			if tc == nil {
				continue
			}
			names[tc.ID] = tc.Name
			a := json.RawMessage(tc.Arguments)
			if len(bytes.TrimSpace(a)) == 0 {
				a = json.RawMessage("{}")
			}
			if !json.Valid(a) || bytes.TrimSpace(a)[0] != '{' {
				return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: param, Message: "tool call arguments are not a JSON object"}
			}
			sig := pending
			pending = ""
			if sig == "" && firstCall && needSignatures {
				// Only the first of parallel calls carries a signature.
				sig = SkipSignature
			}
			firstCall = false
			parts = append(parts, part{FunctionCall: &functionCall{Name: tc.Name, Args: a}, ThoughtSignature: sig})
		case llm.PartToolResult:
			tr := p.ToolResult
			if tr == nil {
				continue
			}
			name, ok := names[tr.CallID]
			if !ok {
				return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: param, Message: "tool result " + strconv.Quote(tr.CallID) + " answers no earlier tool call"}
			}
			parts = append(parts, part{FunctionResponse: &functionResponse{Name: name, Response: toolResponse(tr)}})
			for k := range tr.Content {
				if img := tr.Content[k].Image; tr.Content[k].Type == llm.PartImage && img != nil && img.Data != "" {
					parts = append(parts, part{InlineData: &blob{MimeType: img.MediaType, Data: img.Data}})
				}
			}
		}
	}
	return parts, nil
}

// toolResponse is a functionResponse's response object: the result
// itself when it is a JSON object, else {"result": text} (or "error").
func toolResponse(tr *llm.ToolResult) json.RawMessage {
	var text strings.Builder
	for _, c := range tr.Content {
		if c.Type == llm.PartText {
			text.WriteString(c.Text)
		}
	}
	t := strings.TrimSpace(text.String())
	if !tr.IsError && strings.HasPrefix(t, "{") && json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	key := "result"
	if tr.IsError {
		key = "error"
	}
	b, _ := json.Marshal(map[string]string{key: text.String()})
	return b
}

// schema returns the parameters schema to send, without "$schema".
func schema(params json.RawMessage) (json.RawMessage, error) {
	t := bytes.TrimSpace(params)
	if len(t) == 0 || string(t) == "null" {
		return json.RawMessage(`{"type":"object","properties":{}}`), nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(t, &obj); err != nil {
		return nil, err
	}
	if _, ok := obj["$schema"]; !ok {
		return t, nil
	}
	delete(obj, "$schema")
	return json.Marshal(obj)
}

func generation(req *llm.Request, info llm.ModelInfo) (*generationConfig, error) {
	gc := &generationConfig{
		Temperature: req.Temperature, TopP: req.TopP, TopK: req.TopK, Seed: req.Seed,
		PresencePenalty: req.PresencePenalty, FrequencyPenalty: req.FrequencyPenalty,
		StopSequences: req.Stop,
	}
	gc.MaxOutputTokens = req.MaxTokens
	if info.MaxOutput > 0 && gc.MaxOutputTokens > info.MaxOutput {
		gc.MaxOutputTokens = info.MaxOutput
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case "json_object":
			gc.ResponseMimeType = "application/json"
		case "json_schema":
			gc.ResponseMimeType = "application/json"
			if len(rf.Schema) > 0 {
				s, err := schema(rf.Schema)
				if err != nil {
					return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "response_format.json_schema.schema", Message: "response format schema is not a JSON object"}
				}
				gc.ResponseJSONSchema = s
			}
		}
	}
	gc.ThinkingConfig = thinking(req.Reasoning, req.Model)
	if reflect.ValueOf(*gc).IsZero() {
		return nil, nil
	}
	return gc, nil
}

// thinking maps the canonical reasoning settings: Gemini 3 takes a
// thinking level, 2.5 a token budget. Thoughts are asked for whenever
// reasoning is on, so they reach the caller as thinking.
func thinking(r *llm.Reasoning, model string) *thinkingConfig {
	if r == nil {
		return nil
	}
	if !r.Enabled && r.Effort == "" && r.Budget == 0 {
		if wantsSignatures(model) {
			return nil // Gemini 3 cannot turn thinking off
		}
		zero := 0
		return &thinkingConfig{ThinkingBudget: &zero}
	}
	if r.Effort == "none" {
		zero := 0
		return &thinkingConfig{ThinkingBudget: &zero}
	}
	tc := &thinkingConfig{IncludeThoughts: true}
	if wantsSignatures(model) {
		switch r.Effort {
		case "minimal", "low":
			tc.ThinkingLevel = "low"
		case "":
			if r.Budget > 0 && r.Budget <= 4096 {
				tc.ThinkingLevel = "low"
			}
		default:
			tc.ThinkingLevel = "high"
		}
		return tc
	}
	budget := r.Budget
	switch r.Effort {
	case "minimal":
		budget = 512
	case "low":
		budget = 1024
	case "medium":
		budget = 8192
	case "high", "max":
		budget = 24576
	}
	if budget == 0 {
		budget = -1 // dynamic: the model decides
	}
	tc.ThinkingBudget = &budget
	return tc
}
