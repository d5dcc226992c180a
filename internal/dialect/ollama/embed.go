package ollama

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/tidegate/tidegate/internal/llm"
)

type embedRequest struct {
	Model      string   `json:"model"`
	Input      []string `json:"input"`
	Dimensions int      `json:"dimensions,omitempty"`
}

type embedResponse struct {
	Model           string          `json:"model"`
	Embeddings      [][]float32     `json:"embeddings"`
	PromptEvalCount int             `json:"prompt_eval_count"`
	Error           json.RawMessage `json:"error"`
}

// EncodeEmbedRequest renders req as an Ollama /api/embed body. The input
// is always sent as an array; dimensions only when set.
func EncodeEmbedRequest(req *llm.EmbedRequest) ([]byte, error) {
	in := req.Input
	if in == nil {
		in = []string{}
	}
	if req.Dimensions < 0 {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Param: "dimensions",
			Message: "dimensions must be a positive integer"}
	}
	return marshal(embedRequest{Model: req.Model, Input: in, Dimensions: req.Dimensions})
}

// DecodeEmbedResponse decodes an /api/embed answer.
func DecodeEmbedResponse(body []byte) (*llm.EmbedResponse, error) {
	var r embedResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, upstreamError("upstream returned invalid JSON", err)
	}
	if e := inlineError(r.Error); e != nil {
		return nil, e
	}
	if r.Embeddings == nil {
		r.Embeddings = [][]float32{}
	}
	return &llm.EmbedResponse{Model: r.Model, Embeddings: r.Embeddings, InputTokens: r.PromptEvalCount}, nil
}

// DecodeTags returns the model names of a GET /api/tags answer, in order.
func DecodeTags(body []byte) ([]string, error) {
	var r struct {
		Models []struct {
			Name  string `json:"name"`
			Model string `json:"model"`
		} `json:"models"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, upstreamError("upstream returned invalid JSON", err)
	}
	names := make([]string, 0, len(r.Models))
	for _, m := range r.Models {
		name := m.Name
		if name == "" {
			name = m.Model
		}
		if name != "" {
			names = append(names, name)
		}
	}
	return names, nil
}

// maxErrorText bounds how much of a non-JSON error body becomes a message.
const maxErrorText = 512

// DecodeError turns an Ollama error answer ({"error":"message"}) into an
// *llm.Error whose kind follows the HTTP status (404 "model not found"
// stays KindNotFound). A 4xx status is kept as the status to answer with;
// 5xx answers map to the gateway statuses of their kind. Body is kept for
// same-dialect relay; RetryAfter is left to the caller.
func DecodeError(status int, body []byte) *llm.Error {
	e := &llm.Error{
		Kind:        llm.KindForStatus(status),
		Body:        body,
		BodyDialect: llm.DialectOllama,
		Err:         fmt.Errorf("ollama: upstream status %d", status),
	}
	if status >= 400 && status < 500 {
		e.Status = status
	}
	var r struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &r) == nil {
		if msg, ok := errorMessage(r.Error); ok {
			e.Message = msg
		}
	}
	if e.Message == "" {
		e.Message = plainErrorText(body)
	}
	if e.Message == "" {
		text := http.StatusText(status)
		if text == "" {
			text = "error"
		}
		e.Message = fmt.Sprintf("upstream returned %d %s", status, text)
	}
	return e
}

// plainErrorText returns a short, valid-UTF-8 rendering of a non-JSON
// error body, or "" for an empty or JSON body.
func plainErrorText(body []byte) string {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || b[0] == '{' || b[0] == '[' {
		return ""
	}
	if len(b) > maxErrorText {
		b = b[:maxErrorText]
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
