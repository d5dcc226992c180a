// Package cohere converts between tidegate's canonical types and Cohere's
// v2 Chat API (POST /v2/chat, SSE streams of typed events). Only the
// upstream side exists.
//
// v2 Chat is close to OpenAI's Chat Completions: system, user, assistant
// and tool messages, function tools with JSON Schema parameters, tool
// calls with string arguments. It differs in its sampling names (p, k,
// stop_sequences), its tool_choice (only REQUIRED or NONE), its finish
// reasons (COMPLETE, MAX_TOKENS, TOOL_CALL, …), its usage (tokens and
// billed_units) and its stream, whose events are named by "type"
// (message-start, content-delta, tool-call-start, …, message-end).
package cohere

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/tidegate/tidegate/internal/llm"
)

// Dialect names Cohere's v2 Chat format.
const Dialect llm.Dialect = "cohere"

type request struct {
	Model            string           `json:"model"`
	Messages         []message        `json:"messages"`
	Tools            []tool           `json:"tools,omitempty"`
	ToolChoice       string           `json:"tool_choice,omitempty"`
	Stream           bool             `json:"stream,omitempty"`
	MaxTokens        int              `json:"max_tokens,omitempty"`
	Temperature      *float64         `json:"temperature,omitempty"`
	P                *float64         `json:"p,omitempty"`
	K                *int             `json:"k,omitempty"`
	StopSequences    []string         `json:"stop_sequences,omitempty"`
	Seed             *int64           `json:"seed,omitempty"`
	FrequencyPenalty *float64         `json:"frequency_penalty,omitempty"`
	PresencePenalty  *float64         `json:"presence_penalty,omitempty"`
	ResponseFormat   *responseFormat  `json:"response_format,omitempty"`
	Thinking         *thinkingSetting `json:"thinking,omitempty"`
}

type message struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content,omitempty"`
	ToolCalls  []toolCall      `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
}

type contentPart struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	Thinking string    `json:"thinking,omitempty"`
	ImageURL *imageURL `json:"image_url,omitempty"`
}

type imageURL struct {
	URL string `json:"url"`
}

type toolCall struct {
	ID       string   `json:"id"`
	Type     string   `json:"type"`
	Function function `json:"function"`
}

type function struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type tool struct {
	Type     string       `json:"type"`
	Function toolFunction `json:"function"`
}

type toolFunction struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters"`
}

type responseFormat struct {
	Type       string          `json:"type"`
	JSONSchema json.RawMessage `json:"json_schema,omitempty"`
}

type thinkingSetting struct {
	Type        string `json:"type"`
	TokenBudget int    `json:"token_budget,omitempty"`
}

// response is a whole v2 Chat answer.
type response struct {
	ID           string `json:"id"`
	FinishReason string `json:"finish_reason"`
	Message      struct {
		Content   []contentPart `json:"content"`
		ToolCalls []toolCall    `json:"tool_calls"`
	} `json:"message"`
	Usage *usage `json:"usage"`
}

type usage struct {
	BilledUnits *tokens `json:"billed_units"`
	Tokens      *tokens `json:"tokens"`
	CachedTkns  int     `json:"cached_tokens"`
}

type tokens struct {
	InputTokens  float64 `json:"input_tokens"`
	OutputTokens float64 `json:"output_tokens"`
}

// canonical prefers the tokens the model saw over the billed units.
func (u *usage) canonical() llm.Usage {
	if u == nil {
		return llm.Usage{}
	}
	t := u.Tokens
	if t == nil {
		t = u.BilledUnits
	}
	if t == nil {
		return llm.Usage{CacheReadTokens: u.CachedTkns}
	}
	return llm.Usage{InputTokens: int(t.InputTokens), OutputTokens: int(t.OutputTokens), CacheReadTokens: u.CachedTkns}
}

func stopReason(finish string) llm.StopReason {
	switch finish {
	case "MAX_TOKENS":
		return llm.StopMaxTokens
	case "TOOL_CALL":
		return llm.StopToolUse
	case "STOP_SEQUENCE":
		return llm.StopSequence
	}
	return llm.StopEndTurn
}

// DecodeError maps a Cohere error body ({"message": …}).
func DecodeError(status int, body []byte) *llm.Error {
	var b struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &b)
	if b.Message == "" {
		b.Message = "upstream returned HTTP " + strconv.Itoa(status)
		if t := http.StatusText(status); t != "" {
			b.Message += " " + t
		}
	}
	return &llm.Error{Kind: llm.KindForStatus(status), Status: status, Message: b.Message}
}
