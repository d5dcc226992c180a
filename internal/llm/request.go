// Package llm holds tidegate's canonical model of LLM traffic: requests,
// responses, stream events, errors and the Provider/Stream contracts. Every
// wire dialect decodes to and encodes from these types, so N dialects need
// 2N converters rather than N².
package llm

import (
	"encoding/json"
	"net/http"
)

// Dialect names a wire format.
type Dialect string

const (
	DialectOpenAI    Dialect = "openai"
	DialectAnthropic Dialect = "anthropic"
	DialectOllama    Dialect = "ollama"
	// DialectResponses is OpenAI's Responses API (/v1/responses):
	// translated, except for OpenAI providers with responses_api.
	DialectResponses Dialect = "openai-responses"
)

// Operation is the kind of generation the caller asked for.
type Operation uint8

const (
	OpChat       Operation = iota // chat completions / messages
	OpCompletion                  // legacy text completion (prompt in, text out)
)

// Role of a message author. System messages may appear anywhere; dialects
// that only accept a leading system prompt lift them.
type Role string

const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	// RoleTool carries tool results. Dialects that put tool results in a
	// user turn (Anthropic) decode them as RoleTool messages with only
	// tool_result parts, so the canonical form is the same either way.
	RoleTool Role = "tool"
)

// PartType tags a Part.
type PartType string

const (
	PartText             PartType = "text"
	PartImage            PartType = "image"
	PartToolCall         PartType = "tool_call"
	PartToolResult       PartType = "tool_result"
	PartThinking         PartType = "thinking"
	PartRedactedThinking PartType = "redacted_thinking"
)

// Part is one piece of message content. Only the fields of its Type are set.
type Part struct {
	Type PartType

	// Text for PartText; the reasoning text for PartThinking.
	Text string
	// Signature of a PartThinking block; replayed to Anthropic unmodified.
	Signature string
	// Data of a PartRedactedThinking block (opaque, replayed unmodified).
	Data string

	Image      *Image
	ToolCall   *ToolCall
	ToolResult *ToolResult

	// CacheControl is Anthropic's cache_control object, kept verbatim so it
	// survives the Anthropic path; other dialects drop it.
	CacheControl json.RawMessage
}

// Image is inline (MediaType+Data, base64) or by URL. The gateway never
// fetches a URL itself unless an operator allows it.
type Image struct {
	MediaType string // e.g. image/png
	Data      string // base64, without the data: prefix
	URL       string // http(s) URL when not inline
	Detail    string // OpenAI detail hint (auto/low/high)
}

// ToolCall is a model's request to call a tool.
type ToolCall struct {
	ID   string
	Name string
	// Arguments is the JSON object of arguments, as text. Never empty once
	// complete: a call without arguments is "{}".
	Arguments string
}

// ToolResult answers a ToolCall with the same ID.
type ToolResult struct {
	CallID  string
	Content []Part // text and images
	IsError bool
}

// Message is one turn.
type Message struct {
	Role    Role
	Content []Part
	Name    string // OpenAI participant name, when given
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments object.
	Parameters   json.RawMessage
	Strict       *bool
	CacheControl json.RawMessage
}

// ToolChoiceMode says how the model must use tools.
type ToolChoiceMode string

const (
	ToolChoiceAuto     ToolChoiceMode = "auto"
	ToolChoiceNone     ToolChoiceMode = "none"
	ToolChoiceRequired ToolChoiceMode = "required" // Anthropic "any"
	ToolChoiceTool     ToolChoiceMode = "tool"     // a named tool
)

// ToolChoice constrains tool use.
type ToolChoice struct {
	Mode ToolChoiceMode
	Name string // for ToolChoiceTool
	// DisableParallel asks for at most one tool call.
	DisableParallel bool
}

// Reasoning controls extended thinking. Effort is OpenAI's reasoning_effort
// (minimal, low, medium, high) or Anthropic's output_config.effort; Budget
// is Anthropic's thinking.budget_tokens. Converters map one to the other.
type Reasoning struct {
	Enabled  bool
	Adaptive bool // Anthropic thinking {type: adaptive}
	Budget   int
	Effort   string
}

// ResponseFormat asks for structured output.
type ResponseFormat struct {
	Type   string // text, json_object, json_schema
	Name   string
	Schema json.RawMessage
	Strict *bool
}

// Request is a canonical chat (or legacy completion) request.
type Request struct {
	Op       Operation
	Model    string
	Messages []Message
	Prompt   string // OpCompletion only

	MaxTokens        int // 0: not set
	Temperature      *float64
	TopP             *float64
	TopK             *int
	Stop             []string
	N                int // 0 or 1: one choice
	Seed             *int64
	PresencePenalty  *float64
	FrequencyPenalty *float64

	Stream bool
	// IncludeUsage: the caller asked for the usage chunk in an OpenAI stream.
	// Providers always ask upstream for usage; encoders drop it otherwise.
	IncludeUsage bool

	Tools             []Tool
	ToolChoice        *ToolChoice
	ParallelToolCalls *bool
	Reasoning         *Reasoning
	ResponseFormat    *ResponseFormat
	User              string // OpenAI user / Anthropic metadata.user_id

	// Source is the caller's original request; a provider that speaks the
	// same dialect forwards it with only the model changed. A middleware
	// that edits the canonical fields must set Source.Body to nil, so
	// providers encode the edited request instead.
	Source Source

	pending func(*Request) error
}

// Source is what the caller sent, kept for the same-dialect passthrough.
type Source struct {
	Dialect Dialect
	Body    []byte
	// Header is the caller's request header (never forwarded wholesale;
	// providers pick what they pass on, such as anthropic-beta).
	Header http.Header
}

// SystemText joins the text of all system messages, in order, separated by
// blank lines. Used by dialects with a single system prompt.
func (r *Request) SystemText() string {
	var out string
	for _, m := range r.Messages {
		if m.Role != RoleSystem {
			continue
		}
		for _, p := range m.Content {
			if p.Type == PartText && p.Text != "" {
				if out != "" {
					out += "\n\n"
				}
				out += p.Text
			}
		}
	}
	return out
}

// TextPart returns a text part.
func TextPart(s string) Part { return Part{Type: PartText, Text: s} }

// Text joins the text parts of a message.
func (m *Message) Text() string {
	var out string
	for _, p := range m.Content {
		if p.Type == PartText {
			out += p.Text
		}
	}
	return out
}

// EmbedRequest is a canonical embeddings request.
type EmbedRequest struct {
	Model string
	Input []string
	// EncodingFormat is what the caller wants back: "float" or "base64".
	EncodingFormat string
	Dimensions     int
	User           string
	Source         Source
}

// EmbedResponse holds one vector per input, in order.
type EmbedResponse struct {
	Model       string
	Embeddings  [][]float32
	InputTokens int
	// Raw is the upstream body when it is already in the caller's dialect.
	Raw        []byte
	RawDialect Dialect
}

// NewLazyRequest returns a request whose envelope (Model, Stream,
// IncludeUsage, Source) is set and whose canonical fields are decoded from
// Source by decode on the first call to Decode. The same-dialect passthrough
// never needs them, so it never pays for the decode.
func NewLazyRequest(op Operation, model string, stream, includeUsage bool, src Source, decode func(*Request) error) *Request {
	return &Request{Op: op, Model: model, Stream: stream, IncludeUsage: includeUsage, Source: src, pending: decode}
}

// Decode fills the canonical fields of a lazy request; it is a no-op for a
// request that is already whole. The envelope's Model is kept, so a router
// may set the upstream model before or after decoding.
func (r *Request) Decode() error {
	if r.pending == nil {
		return nil
	}
	decode := r.pending
	r.pending = nil
	model, src := r.Model, r.Source
	if err := decode(r); err != nil {
		r.pending = decode
		return err
	}
	r.Model, r.Source = model, src
	return nil
}

// Decoded reports whether the canonical fields are filled.
func (r *Request) Decoded() bool { return r.pending == nil }

// ModelInfo is what tidegate knows of an upstream model, from the embedded
// catalogue or config, to fill and clamp parameters when translating.
type ModelInfo struct {
	ContextWindow int  // tokens; 0 = unknown
	MaxOutput     int  // tokens; 0 = unknown
	Reasoning     bool // accepts reasoning_effort / thinking
	// Price is nil when unknown (cost routing tries such models last).
	Price *Price
	// Modalities are the input kinds the model accepts ("text", "image",
	// "audio", "video", "pdf"); nil when unknown. Shared: read-only.
	Modalities []string
}

// Price is what a model costs, in USD per million tokens.
type Price struct {
	Input      float64
	Output     float64
	CacheRead  float64
	CacheWrite float64
}
