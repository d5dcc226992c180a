package server

import (
	"net/http"

	"github.com/tidegate/tidegate/internal/llm"
)

// LLM dialects of LLMHandler.
const (
	DialectOpenAI    = "openai"    // POST /v1/chat/completions
	DialectAnthropic = "anthropic" // POST /v1/messages
)

// LLMHandler serves a request exactly like POST /v1/chat/completions
// (dialect "openai") or POST /v1/messages ("anthropic") with the body's
// model replaced by model: the same checks, governance, routing,
// streaming, errors and usage log. The inbound APIs' x-tidegate-dispatch
// operations are served with it. Any other dialect is treated as openai.
func (s *Server) LLMHandler(dialect, model string) http.Handler {
	if dialect == DialectAnthropic {
		return s.generateAs(anthropicMessages, llm.OpChat, model)
	}
	return s.generateAs(openAIChat, llm.OpChat, model)
}
