// Package bedrock converts between tidegate's canonical types and the AWS
// Bedrock Converse API (Converse, and ConverseStream with its binary
// application/vnd.amazon.eventstream framing). Only the upstream side
// exists. Signing lives in internal/provider.
//
// Converse is close to Anthropic's Messages API: a system list, user and
// assistant turns whose content blocks are text, image, toolUse,
// toolResult and reasoningContent; usage counts input tokens without the
// cache reads and writes, so decoding adds them (canonical InputTokens is
// the whole prompt).
package bedrock

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/tidegate/tidegate/internal/llm"
)

// Dialect names the Converse wire format.
const Dialect llm.Dialect = "bedrock"

type request struct {
	Messages                     []message        `json:"messages"`
	System                       []block          `json:"system,omitempty"`
	InferenceConfig              *inferenceConfig `json:"inferenceConfig,omitempty"`
	ToolConfig                   *toolConfig      `json:"toolConfig,omitempty"`
	AdditionalModelRequestFields map[string]any   `json:"additionalModelRequestFields,omitempty"`
}

type message struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

type block struct {
	Text             string            `json:"text,omitempty"`
	Image            *image            `json:"image,omitempty"`
	ToolUse          *toolUse          `json:"toolUse,omitempty"`
	ToolResult       *toolResult       `json:"toolResult,omitempty"`
	ReasoningContent *reasoningContent `json:"reasoningContent,omitempty"`
}

type image struct {
	Format string      `json:"format"`
	Source imageSource `json:"source"`
}

type imageSource struct {
	Bytes string `json:"bytes"` // base64 in the JSON protocol
}

type toolUse struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

type toolResult struct {
	ToolUseID string        `json:"toolUseId"`
	Content   []resultBlock `json:"content"`
	Status    string        `json:"status,omitempty"`
}

type resultBlock struct {
	Text  string `json:"text,omitempty"`
	Image *image `json:"image,omitempty"`
}

type reasoningContent struct {
	ReasoningText   *reasoningText `json:"reasoningText,omitempty"`
	RedactedContent string         `json:"redactedContent,omitempty"`
}

type reasoningText struct {
	Text      string `json:"text"`
	Signature string `json:"signature,omitempty"`
}

type inferenceConfig struct {
	MaxTokens     int      `json:"maxTokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

type toolConfig struct {
	Tools      []tool          `json:"tools"`
	ToolChoice json.RawMessage `json:"toolChoice,omitempty"`
}

type tool struct {
	ToolSpec toolSpec `json:"toolSpec"`
}

type toolSpec struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	InputSchema inputSchema `json:"inputSchema"`
}

type inputSchema struct {
	JSON json.RawMessage `json:"json"`
}

// response is a whole Converse answer.
type response struct {
	Output struct {
		Message *message `json:"message"`
	} `json:"output"`
	StopReason string `json:"stopReason"`
	Usage      *usage `json:"usage"`
}

type usage struct {
	InputTokens           int `json:"inputTokens"`
	OutputTokens          int `json:"outputTokens"`
	CacheReadInputTokens  int `json:"cacheReadInputTokens"`
	CacheWriteInputTokens int `json:"cacheWriteInputTokens"`
}

func (u *usage) canonical() llm.Usage {
	if u == nil {
		return llm.Usage{}
	}
	return llm.Usage{
		InputTokens:      u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens,
		OutputTokens:     u.OutputTokens,
		CacheReadTokens:  u.CacheReadInputTokens,
		CacheWriteTokens: u.CacheWriteInputTokens,
	}
}

// stopReason maps Converse's stopReason; guardrail and content-filter
// stops are refusals.
func stopReason(s string) llm.StopReason {
	switch s {
	case "max_tokens", "model_context_window_exceeded":
		return llm.StopMaxTokens
	case "tool_use":
		return llm.StopToolUse
	case "stop_sequence":
		return llm.StopSequence
	case "guardrail_intervened", "content_filtered":
		return llm.StopContentFilter
	}
	return llm.StopEndTurn
}

// imageFormat maps a media type to Converse's format name.
func imageFormat(mediaType string) (string, bool) {
	switch mediaType {
	case "image/png":
		return "png", true
	case "image/jpeg", "image/jpg":
		return "jpeg", true
	case "image/gif":
		return "gif", true
	case "image/webp":
		return "webp", true
	}
	return "", false
}

// DecodeError maps a Bedrock error ({"message": …}; the exception name is
// in the x-amzn-ErrorType header, which the kind does not need).
func DecodeError(status int, body []byte) *llm.Error {
	var b struct {
		Message  string `json:"message"`
		MessageU string `json:"Message"`
		Type     string `json:"__type"`
	}
	_ = json.Unmarshal(body, &b)
	msg := b.Message
	if msg == "" {
		msg = b.MessageU
	}
	if msg == "" {
		msg = "upstream returned HTTP " + strconv.Itoa(status)
		if t := http.StatusText(status); t != "" {
			msg += " " + t
		}
	}
	kind := llm.KindForStatus(status)
	if status == http.StatusFailedDependency { // ModelErrorException
		kind = llm.KindUpstream
	}
	return &llm.Error{Kind: kind, Status: status, Message: msg, UpstreamType: b.Type}
}

// exceptionError maps an in-stream exception event.
func exceptionError(name string, payload []byte) *llm.Error {
	var b struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(payload, &b)
	if b.Message == "" {
		b.Message = "upstream stream failed: " + name
	}
	kind := llm.KindUpstream
	switch name {
	case "throttlingException":
		kind = llm.KindRateLimit
	case "validationException":
		kind = llm.KindInvalidRequest
	case "serviceUnavailableException":
		kind = llm.KindOverloaded
	case "modelTimeoutException":
		kind = llm.KindTimeout
	}
	return &llm.Error{Kind: kind, Message: b.Message, UpstreamType: name}
}

// toolArgs returns tool input as an object text ("{}" when absent).
func toolArgs(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' || !json.Valid(t) {
		return "{}"
	}
	var b bytes.Buffer
	if json.Compact(&b, t) != nil {
		return "{}"
	}
	return b.String()
}
