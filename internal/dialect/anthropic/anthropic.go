// Package anthropic converts between the Anthropic Messages API wire format
// (/v1/messages, /v1/messages/count_tokens) and tidegate's canonical llm
// types, on both sides of the gateway:
//
//   - caller side: tidegate serves the Messages API (Claude Code, the
//     Anthropic SDKs) — DecodeMessagesRequest, EncodeResponse,
//     NewStreamEncoder, EncodeError and the count_tokens pair;
//   - upstream side: tidegate calls an Anthropic server —
//     EncodeMessagesRequest, RewriteRequest, DecodeResponse,
//     NewStreamDecoder, DecodeError and the count_tokens pair.
//
// Decoding uses gjson in a single pass over each object; encoding appends
// JSON to a byte slice by hand. Nothing here keeps package-level state.
//
// What the canonical model cannot carry, and so only works on the
// same-dialect passthrough (the caller's bytes forwarded by RewriteRequest):
// server tools (web_search_*, bash_*, text_editor_*, code_execution_*, MCP
// toolsets, … — anything in "tools" with a "type" other than "custom") are
// skipped when decoding; content blocks other than text, image, tool_use,
// tool_result, thinking and redacted_thinking (document, search_result,
// server_tool_use, *_tool_result, container_upload, …) make decoding fail
// with a KindInvalidRequest error naming the block type; citations, tool
// defer_loading, service_tier, container, context_management and other
// unknown fields are ignored.
package anthropic

import (
	"crypto/rand"

	"github.com/tidegate/tidegate/internal/llm"
)

// Version is the anthropic-version header value tidegate pins for upstream
// calls.
const Version = "2023-06-01"

const (
	// defaultMaxTokens is max_tokens for an upstream request when neither
	// the caller nor the model catalogue gives one.
	defaultMaxTokens = 4096
	// minThinkingBudget is the smallest budget_tokens Anthropic accepts.
	minThinkingBudget = 1024
)

// errorType is the Anthropic error type for a Kind.
func errorType(k llm.Kind) string {
	switch k {
	case llm.KindInvalidRequest:
		return "invalid_request_error"
	case llm.KindAuthentication:
		return "authentication_error"
	case llm.KindPermission:
		return "permission_error"
	case llm.KindNotFound:
		return "not_found_error"
	case llm.KindTooLarge:
		return "request_too_large"
	case llm.KindRateLimit, llm.KindBudget:
		return "rate_limit_error"
	case llm.KindOverloaded:
		return "overloaded_error"
	case llm.KindTimeout:
		return "timeout_error"
	default: // upstream, internal, unknown
		return "api_error"
	}
}

// kindForType maps an Anthropic error type to a Kind, for errors that come
// without an HTTP status (in-stream error events).
func kindForType(t string) llm.Kind {
	switch t {
	case "invalid_request_error":
		return llm.KindInvalidRequest
	case "authentication_error":
		return llm.KindAuthentication
	case "permission_error", "billing_error":
		return llm.KindPermission
	case "not_found_error":
		return llm.KindNotFound
	case "request_too_large":
		return llm.KindTooLarge
	case "rate_limit_error":
		return llm.KindRateLimit
	case "overloaded_error":
		return llm.KindOverloaded
	case "timeout_error":
		return llm.KindTimeout
	default: // api_error and anything new
		return llm.KindUpstream
	}
}

// stopReason maps an Anthropic stop_reason to the canonical one.
func stopReason(s string) llm.StopReason {
	switch s {
	case "end_turn", "":
		return llm.StopEndTurn
	case "max_tokens", "model_context_window_exceeded":
		return llm.StopMaxTokens
	case "tool_use":
		return llm.StopToolUse
	case "stop_sequence":
		return llm.StopSequence
	case "refusal":
		return llm.StopContentFilter
	case "pause_turn":
		return llm.StopPauseTurn
	default:
		return llm.StopEndTurn
	}
}

// wireStopReason maps a canonical stop reason to Anthropic's; empty means
// a normal end.
func wireStopReason(s llm.StopReason) string {
	switch s {
	case llm.StopMaxTokens, llm.StopToolUse, llm.StopSequence, llm.StopContentFilter, llm.StopPauseTurn:
		return string(s)
	default:
		return string(llm.StopEndTurn)
	}
}

// newMessageID returns a fresh message id for responses that came without
// one (translated upstreams).
func newMessageID() string { return "msg_" + rand.Text() }

// invalid builds a KindInvalidRequest error about param.
func invalid(param, format string, args ...any) *llm.Error {
	e := llm.Errorf(llm.KindInvalidRequest, format, args...)
	if param != "" {
		e.Message = param + ": " + e.Message
	}
	e.Param = param
	return e
}
