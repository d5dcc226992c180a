package cohere

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/tidegate/tidegate/internal/llm"
)

// EncodeRequest builds a v2 Chat body. Thinking parts are not replayed;
// a named tool choice becomes REQUIRED with only that tool offered.
func EncodeRequest(req *llm.Request, info llm.ModelInfo) ([]byte, error) {
	if err := req.Decode(); err != nil {
		return nil, err
	}
	if req.N > 1 {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "n", Message: "Cohere models generate one choice per request through tidegate; n must be 1"}
	}
	out := request{Model: req.Model, Stream: req.Stream, MaxTokens: req.MaxTokens,
		Temperature: req.Temperature, P: req.TopP, K: req.TopK, StopSequences: req.Stop, Seed: req.Seed,
		FrequencyPenalty: req.FrequencyPenalty, PresencePenalty: req.PresencePenalty}
	if info.MaxOutput > 0 && out.MaxTokens > info.MaxOutput {
		out.MaxTokens = info.MaxOutput
	}
	if req.Op == llm.OpCompletion && len(req.Messages) == 0 {
		out.Messages = append(out.Messages, message{Role: "user", Content: text(req.Prompt)})
	}
	for i := range req.Messages {
		msgs, err := encodeMessage(&req.Messages[i], i)
		if err != nil {
			return nil, err
		}
		out.Messages = append(out.Messages, msgs...)
	}
	if len(out.Messages) == 0 {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "messages", Message: "Cohere needs at least one message"}
	}
	tools := req.Tools
	if tc := req.ToolChoice; tc != nil && len(tools) > 0 {
		switch tc.Mode {
		case llm.ToolChoiceNone:
			out.ToolChoice = "NONE"
		case llm.ToolChoiceRequired:
			out.ToolChoice = "REQUIRED"
		case llm.ToolChoiceTool:
			out.ToolChoice = "REQUIRED"
			tools = nil
			for _, t := range req.Tools {
				if t.Name == tc.Name {
					tools = append(tools, t)
				}
			}
			if len(tools) == 0 {
				return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "tool_choice", Message: "tool_choice names a tool that is not offered: " + strconv.Quote(tc.Name)}
			}
		}
	}
	for i, t := range tools {
		params := bytes.TrimSpace(t.Parameters)
		if len(params) == 0 || string(params) == "null" {
			params = []byte(`{"type":"object","properties":{}}`)
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(params, &obj) != nil {
			return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "tools[" + strconv.Itoa(i) + "].parameters", Message: "tool parameters are not a JSON object"}
		}
		out.Tools = append(out.Tools, tool{Type: "function", Function: toolFunction{Name: t.Name, Description: t.Description, Parameters: params}})
	}
	if rf := req.ResponseFormat; rf != nil && (rf.Type == "json_object" || rf.Type == "json_schema") {
		out.ResponseFormat = &responseFormat{Type: "json_object"}
		if rf.Type == "json_schema" && len(rf.Schema) > 0 {
			if !json.Valid(rf.Schema) {
				return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "response_format.json_schema.schema", Message: "response format schema is not valid JSON"}
			}
			out.ResponseFormat.JSONSchema = rf.Schema
		}
	}
	if r := req.Reasoning; r != nil && info.Reasoning {
		if r.Enabled || r.Budget > 0 || (r.Effort != "" && r.Effort != "none") {
			out.Thinking = &thinkingSetting{Type: "enabled", TokenBudget: r.Budget}
		} else {
			out.Thinking = &thinkingSetting{Type: "disabled"}
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Message: "cannot encode the request for Cohere", Err: err}
	}
	return b, nil
}

func text(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// encodeMessage turns one canonical message into Cohere messages: tool
// results become tool messages, the rest one message of the role.
func encodeMessage(m *llm.Message, i int) ([]message, error) {
	var out []message
	var parts []contentPart
	var calls []toolCall
	for j := range m.Content {
		p := &m.Content[j]
		switch p.Type {
		case llm.PartText:
			if p.Text != "" {
				parts = append(parts, contentPart{Type: "text", Text: p.Text})
			}
		case llm.PartImage:
			if m.Role != llm.RoleUser || p.Image == nil {
				continue
			}
			url := p.Image.URL
			if p.Image.Data != "" {
				mt := p.Image.MediaType
				if mt == "" {
					mt = "image/png"
				}
				url = "data:" + mt + ";base64," + p.Image.Data
			}
			if url != "" {
				parts = append(parts, contentPart{Type: "image_url", ImageURL: &imageURL{URL: url}})
			}
		case llm.PartToolCall:
			if tc := p.ToolCall; tc != nil {
				args := tc.Arguments
				if args == "" {
					args = "{}"
				}
				calls = append(calls, toolCall{ID: tc.ID, Type: "function", Function: function{Name: tc.Name, Arguments: args}})
			}
		case llm.PartToolResult:
			tr := p.ToolResult
			if tr == nil {
				continue
			}
			var s string
			for _, c := range tr.Content {
				if c.Type == llm.PartText {
					s += c.Text
				}
			}
			if s == "" {
				s = "(empty)"
			}
			out = append(out, message{Role: "tool", ToolCallID: tr.CallID, Content: text(s)})
		}
	}
	role := string(m.Role)
	if role == string(llm.RoleTool) {
		role = "user" // text beside tool results
	}
	if len(parts) == 0 && len(calls) == 0 {
		return out, nil
	}
	msg := message{Role: role, ToolCalls: calls}
	switch {
	case len(parts) == 1 && parts[0].Type == "text":
		msg.Content = text(parts[0].Text)
	case len(parts) > 0:
		if m.Role == llm.RoleSystem {
			var s string
			for k, p := range parts {
				if k > 0 {
					s += "\n\n"
				}
				s += p.Text
			}
			msg.Content = text(s)
		} else {
			b, err := json.Marshal(parts)
			if err != nil {
				return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "messages[" + strconv.Itoa(i) + "]", Message: "cannot encode message", Err: err}
			}
			msg.Content = b
		}
	}
	return append(out, msg), nil
}
