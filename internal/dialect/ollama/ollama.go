// Package ollama converts between tidegate's canonical types and Ollama's
// native API (/api/chat, /api/embed, /api/tags). Only the upstream side
// exists: tidegate calls Ollama servers but does not serve this dialect.
//
// Ollama streams NDJSON (one JSON object per line, the last with
// "done": true), sends tool-call arguments as JSON objects rather than
// strings, gives tool calls no IDs (older servers) and matches tool results
// by tool name. This package synthesises the IDs the canonical model needs
// and resolves tool names from the conversation when encoding.
package ollama

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"

	"github.com/tidegate/tidegate/internal/llm"
)

// Wire types of /api/chat. Only the fields tidegate reads or writes.

type chatRequest struct {
	Model    string          `json:"model"`
	Messages []message       `json:"messages"`
	Stream   bool            `json:"stream"`
	Format   json.RawMessage `json:"format,omitempty"`
	Think    json.RawMessage `json:"think,omitempty"`
	Tools    []tool          `json:"tools,omitempty"`
	Options  *options        `json:"options,omitempty"`
}

type message struct {
	Role      string     `json:"role"`
	Content   string     `json:"content"`
	Thinking  string     `json:"thinking,omitempty"`
	Images    []string   `json:"images,omitempty"`
	ToolCalls []toolCall `json:"tool_calls,omitempty"`
	ToolName  string     `json:"tool_name,omitempty"`

	callID  string   // the tool call a tool message answers; not sent
	callIDs []string // an assistant message's tool-call IDs, in order; not sent
}

type toolCall struct {
	ID       string           `json:"id,omitempty"`
	Function toolCallFunction `json:"function"`
}

type toolCallFunction struct {
	Index     *int            `json:"index,omitempty"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
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

type options struct {
	NumPredict       *int     `json:"num_predict,omitempty"`
	Temperature      *float64 `json:"temperature,omitempty"`
	TopP             *float64 `json:"top_p,omitempty"`
	TopK             *int     `json:"top_k,omitempty"`
	Stop             []string `json:"stop,omitempty"`
	Seed             *int64   `json:"seed,omitempty"`
	PresencePenalty  *float64 `json:"presence_penalty,omitempty"`
	FrequencyPenalty *float64 `json:"frequency_penalty,omitempty"`
}

// chatResponse is a whole /api/chat answer or one line of its stream.
type chatResponse struct {
	Model           string          `json:"model"`
	CreatedAt       string          `json:"created_at"`
	Message         responseMessage `json:"message"`
	Done            bool            `json:"done"`
	DoneReason      string          `json:"done_reason"`
	PromptEvalCount int             `json:"prompt_eval_count"`
	EvalCount       int             `json:"eval_count"`
	Error           json.RawMessage `json:"error"`
}

type responseMessage struct {
	Role      string     `json:"role"`
	Content   string     `json:"content"`
	Thinking  string     `json:"thinking"`
	ToolCalls []toolCall `json:"tool_calls"`
}

// ids hands out the identifiers Ollama does not give: a message ID and
// tool-call IDs "call_<n>_<hex>", with one random suffix per response.
type ids struct {
	suffix string
	n      int
}

func newIDs() ids {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return ids{suffix: hex.EncodeToString(b[:])}
}

// messageID returns a fresh neutral message ID.
func messageID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "ollama-" + hex.EncodeToString(b[:])
}

// toolCallID returns the upstream ID when there is one, else the next
// synthesised ID.
func (g *ids) toolCallID(upstream string) string {
	n := g.n
	g.n++
	if upstream != "" {
		return upstream
	}
	return "call_" + strconv.Itoa(n) + "_" + g.suffix
}

// upstreamError builds a KindUpstream error.
func upstreamError(msg string, cause error) *llm.Error {
	return &llm.Error{Kind: llm.KindUpstream, Message: msg, Err: cause}
}
