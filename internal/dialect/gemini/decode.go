package gemini

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/tidegate/tidegate/internal/llm"
)

// DecodeResponse decodes a whole generateContent answer. A prompt the
// safety filters blocked is a 400 naming the reason; an invalid body is a
// KindUpstream error.
func DecodeResponse(body []byte) (*llm.Response, error) {
	var r response
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, &llm.Error{Kind: llm.KindUpstream, Message: "upstream sent an invalid Gemini response", Err: err}
	}
	if r.Error != nil {
		return nil, apiErr(r.Error.Code, r.Error)
	}
	if err := blocked(&r); err != nil {
		return nil, err
	}
	g := newIDs()
	out := &llm.Response{ID: r.ResponseID, Model: r.ModelVersion, Usage: r.UsageMetadata.usage()}
	if out.ID == "" {
		out.ID = messageID()
	}
	var finish string
	if c := first(r.Candidates); c != nil {
		finish = c.FinishReason
		if finish == "MALFORMED_FUNCTION_CALL" || finish == "UNEXPECTED_TOOL_CALL" {
			return nil, &llm.Error{Kind: llm.KindUpstream, Message: "Gemini produced an invalid function call (" + finish + ")"}
		}
		for _, p := range c.Content.Parts {
			out.Content = appendPart(out.Content, p, &g)
		}
	}
	calls := false
	for _, p := range out.Content {
		calls = calls || p.Type == llm.PartToolCall
	}
	out.StopReason = stopReason(finish, calls)
	return out, nil
}

// appendPart adds the canonical parts of one Gemini part.
func appendPart(dst []llm.Part, p part, g *ids) []llm.Part {
	switch {
	case p.FunctionCall != nil:
		if p.ThoughtSignature != "" {
			dst = append(dst, llm.Part{Type: llm.PartThinking, Signature: p.ThoughtSignature})
		}
		return append(dst, llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{
			ID: g.callID(p.FunctionCall.ID), Name: p.FunctionCall.Name, Arguments: args(p.FunctionCall.Args)}})
	case p.Thought && (p.Text != "" || p.ThoughtSignature != ""):
		return append(dst, llm.Part{Type: llm.PartThinking, Text: p.Text, Signature: p.ThoughtSignature})
	case p.Text != "":
		return append(dst, llm.TextPart(p.Text))
	}
	return dst
}

// first returns the candidate with index 0 (n > 1 is not canonical).
func first(cs []candidate) *candidate {
	for i := range cs {
		if cs[i].Index == 0 {
			return &cs[i]
		}
	}
	return nil
}

// blocked turns a prompt the safety filters refused into an error.
func blocked(r *response) *llm.Error {
	if r.PromptFeedback == nil || r.PromptFeedback.BlockReason == "" {
		return nil
	}
	msg := "Gemini blocked the prompt (" + r.PromptFeedback.BlockReason + ")"
	if m := r.PromptFeedback.BlockReasonMessage; m != "" {
		msg += ": " + m
	}
	return &llm.Error{Kind: llm.KindInvalidRequest, Status: http.StatusBadRequest, Code: "content_filter", UpstreamType: r.PromptFeedback.BlockReason, Message: msg}
}

// DecodeError maps a Gemini error body ({"error": {code, message,
// status}}) to an *llm.Error; the kind follows the HTTP status.
func DecodeError(status int, body []byte) *llm.Error {
	var r struct {
		Error *apiError `json:"error"`
	}
	if json.Unmarshal(body, &r) != nil || r.Error == nil {
		// Some proxies wrap the error in an array.
		var list []struct {
			Error *apiError `json:"error"`
		}
		if json.Unmarshal(body, &list) == nil && len(list) > 0 {
			r.Error = list[0].Error
		}
	}
	if r.Error == nil {
		r.Error = &apiError{}
	}
	return apiErr(status, r.Error)
}

func apiErr(status int, e *apiError) *llm.Error {
	out := &llm.Error{Kind: kindFor(status, e.Status), Status: status, Message: e.Message, UpstreamType: e.Status}
	if status < 400 || status > 599 {
		out.Status = 0
	}
	if out.Message == "" {
		out.Message = "upstream returned HTTP " + strconv.Itoa(status)
		if t := http.StatusText(status); t != "" {
			out.Message += " " + t
		}
	}
	return out
}

// kindFor picks the kind from the HTTP status, or from Google's status
// name for an error inside a stream (no HTTP status).
func kindFor(status int, name string) llm.Kind {
	if status >= 400 {
		return llm.KindForStatus(status)
	}
	switch name {
	case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE":
		return llm.KindInvalidRequest
	case "UNAUTHENTICATED":
		return llm.KindAuthentication
	case "PERMISSION_DENIED":
		return llm.KindPermission
	case "NOT_FOUND":
		return llm.KindNotFound
	case "RESOURCE_EXHAUSTED":
		return llm.KindRateLimit
	case "UNAVAILABLE":
		return llm.KindOverloaded
	case "DEADLINE_EXCEEDED":
		return llm.KindTimeout
	}
	return llm.KindUpstream
}
