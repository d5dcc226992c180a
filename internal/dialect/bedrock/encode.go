package bedrock

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/tidegate/tidegate/internal/llm"
)

// EncodeRequest builds a Converse (or ConverseStream) body; the model goes
// in the URL. System messages become the system list, tool results user
// turns, thinking reasoningContent (with its signature, as Claude on
// Bedrock requires when replaying). Claude's thinking budget and top_k go
// in additionalModelRequestFields.
func EncodeRequest(req *llm.Request, info llm.ModelInfo) ([]byte, error) {
	if err := req.Decode(); err != nil {
		return nil, err
	}
	if req.N > 1 {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "n", Message: "Bedrock models generate one choice per request through tidegate; n must be 1"}
	}
	out := request{}
	if sys := req.SystemText(); sys != "" {
		out.System = []block{{Text: sys}}
	}
	if req.Op == llm.OpCompletion && len(req.Messages) == 0 {
		out.Messages = append(out.Messages, message{Role: "user", Content: []block{{Text: req.Prompt}}})
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		if m.Role == llm.RoleSystem {
			continue
		}
		role := "user"
		if m.Role == llm.RoleAssistant {
			role = "assistant"
		}
		blocks, err := encodeBlocks(m, i)
		if err != nil {
			return nil, err
		}
		if len(blocks) == 0 {
			continue
		}
		if n := len(out.Messages); n > 0 && out.Messages[n-1].Role == role {
			out.Messages[n-1].Content = append(out.Messages[n-1].Content, blocks...)
		} else {
			out.Messages = append(out.Messages, message{Role: role, Content: blocks})
		}
	}
	if len(out.Messages) == 0 {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "messages", Message: "Bedrock needs at least one user or assistant message"}
	}
	ic := &inferenceConfig{Temperature: req.Temperature, TopP: req.TopP, StopSequences: req.Stop, MaxTokens: req.MaxTokens}
	if info.MaxOutput > 0 && (ic.MaxTokens == 0 || ic.MaxTokens > info.MaxOutput) {
		ic.MaxTokens = info.MaxOutput
	}
	extra := map[string]any{}
	if r := req.Reasoning; r != nil && info.Reasoning && (r.Enabled || r.Budget > 0) {
		budget := r.Budget
		if budget < 1024 {
			budget = 1024
		}
		if ic.MaxTokens > 0 && budget >= ic.MaxTokens {
			budget = ic.MaxTokens - 1
		}
		if budget >= 1024 {
			extra["thinking"] = map[string]any{"type": "enabled", "budget_tokens": budget}
			// Claude rejects sampling changes while thinking.
			ic.Temperature, ic.TopP = nil, nil
		}
	}
	if req.TopK != nil {
		extra["top_k"] = *req.TopK
	}
	if len(extra) > 0 {
		out.AdditionalModelRequestFields = extra
	}
	if ic.MaxTokens > 0 || ic.Temperature != nil || ic.TopP != nil || len(ic.StopSequences) > 0 {
		out.InferenceConfig = ic
	}
	if len(req.Tools) > 0 && (req.ToolChoice == nil || req.ToolChoice.Mode != llm.ToolChoiceNone) {
		tc := &toolConfig{}
		for i, t := range req.Tools {
			s, err := schema(t.Parameters)
			if err != nil {
				return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "tools[" + strconv.Itoa(i) + "].parameters", Message: "tool parameters are not a JSON object"}
			}
			tc.Tools = append(tc.Tools, tool{toolSpec{Name: t.Name, Description: t.Description, InputSchema: inputSchema{JSON: s}}})
		}
		if c := req.ToolChoice; c != nil {
			switch c.Mode {
			case llm.ToolChoiceAuto:
				tc.ToolChoice = json.RawMessage(`{"auto":{}}`)
			case llm.ToolChoiceRequired:
				tc.ToolChoice = json.RawMessage(`{"any":{}}`)
			case llm.ToolChoiceTool:
				name, _ := json.Marshal(c.Name)
				tc.ToolChoice = json.RawMessage(`{"tool":{"name":` + string(name) + `}}`)
			}
		}
		out.ToolConfig = tc
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Message: "cannot encode the request for Bedrock", Err: err}
	}
	return b, nil
}

func encodeBlocks(m *llm.Message, i int) ([]block, error) {
	var out []block
	for j := range m.Content {
		p := &m.Content[j]
		param := "messages[" + strconv.Itoa(i) + "].content[" + strconv.Itoa(j) + "]"
		switch p.Type {
		case llm.PartText:
			if p.Text != "" {
				out = append(out, block{Text: p.Text})
			}
		case llm.PartThinking:
			if m.Role == llm.RoleAssistant && p.Text != "" {
				out = append(out, block{ReasoningContent: &reasoningContent{ReasoningText: &reasoningText{Text: p.Text, Signature: p.Signature}}})
			}
		case llm.PartRedactedThinking:
			if m.Role == llm.RoleAssistant && p.Data != "" {
				out = append(out, block{ReasoningContent: &reasoningContent{RedactedContent: p.Data}})
			}
		case llm.PartImage:
			img, err := encodeImage(p.Image, param)
			if err != nil {
				return nil, err
			}
			if img != nil {
				out = append(out, block{Image: img})
			}
		case llm.PartToolCall:
			tc := p.ToolCall
			if tc == nil {
				continue
			}
			args := json.RawMessage(bytes.TrimSpace([]byte(tc.Arguments)))
			if len(args) == 0 {
				args = json.RawMessage("{}")
			}
			if args[0] != '{' || !json.Valid(args) {
				return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: param, Message: "tool call arguments are not a JSON object"}
			}
			out = append(out, block{ToolUse: &toolUse{ToolUseID: tc.ID, Name: tc.Name, Input: args}})
		case llm.PartToolResult:
			tr := p.ToolResult
			if tr == nil {
				continue
			}
			res := &toolResult{ToolUseID: tr.CallID}
			if tr.IsError {
				res.Status = "error"
			}
			for k := range tr.Content {
				c := &tr.Content[k]
				switch {
				case c.Type == llm.PartText && c.Text != "":
					res.Content = append(res.Content, resultBlock{Text: c.Text})
				case c.Type == llm.PartImage:
					img, err := encodeImage(c.Image, param)
					if err != nil {
						return nil, err
					}
					if img != nil {
						res.Content = append(res.Content, resultBlock{Image: img})
					}
				}
			}
			if len(res.Content) == 0 {
				res.Content = []resultBlock{{Text: "(empty)"}}
			}
			out = append(out, block{ToolResult: res})
		}
	}
	return out, nil
}

func encodeImage(img *llm.Image, param string) (*image, error) {
	if img == nil {
		return nil, nil
	}
	if img.Data == "" {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: param, Message: "Bedrock accepts images inline only (base64 data, not a URL)"}
	}
	format, ok := imageFormat(strings.ToLower(img.MediaType))
	if !ok {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: param, Message: "Bedrock accepts png, jpeg, gif and webp images, not " + strconv.Quote(img.MediaType)}
	}
	return &image{Format: format, Source: imageSource{Bytes: img.Data}}, nil
}

// schema returns a tool's input schema, defaulting an empty one.
func schema(params json.RawMessage) (json.RawMessage, error) {
	t := bytes.TrimSpace(params)
	if len(t) == 0 || string(t) == "null" {
		return json.RawMessage(`{"type":"object","properties":{}}`), nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(t, &obj); err != nil {
		return nil, err
	}
	return t, nil
}
