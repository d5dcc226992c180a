package server

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/tidegate/tidegate/internal/govern"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/store"
)

// responsesEnvelope is envelope for POST /v1/responses: model, stream,
// max_output_tokens, and an input (which previous_response_id may stand
// in for).
func responsesEnvelope(body []byte, _ llm.Operation) (env, *llm.Error) {
	var model, stream, input, prev gjson.Result
	maxTokens := 0
	gjson.ParseBytes(body).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			model = v
		case "stream":
			stream = v
		case "input":
			input = v
		case "previous_response_id":
			prev = v
		case "max_output_tokens":
			if v.Type == gjson.Number && v.Num > 0 {
				maxTokens = int(min(v.Num, 1<<31))
			}
		}
		return true
	})
	if model.Type != gjson.String || model.Str == "" {
		return env{}, &llm.Error{Kind: llm.KindInvalidRequest, Param: "model", Message: "model is required and must be a non-empty string"}
	}
	if stream.Exists() && stream.Type != gjson.True && stream.Type != gjson.False && stream.Type != gjson.Null {
		return env{}, &llm.Error{Kind: llm.KindInvalidRequest, Param: "stream", Message: "stream must be a boolean"}
	}
	if prev.Exists() && prev.Type != gjson.String && prev.Type != gjson.Null {
		return env{}, &llm.Error{Kind: llm.KindInvalidRequest, Param: "previous_response_id", Message: "previous_response_id must be a string"}
	}
	switch {
	case input.Type == gjson.String, input.IsArray():
	case (!input.Exists() || input.Type == gjson.Null) && prev.Str != "":
	case !input.Exists() || input.Type == gjson.Null:
		return env{}, &llm.Error{Kind: llm.KindInvalidRequest, Param: "input", Code: "missing_required_parameter", Message: "Missing required parameter: 'input'."}
	default:
		return env{}, &llm.Error{Kind: llm.KindInvalidRequest, Param: "input", Code: "invalid_type", Message: "Invalid type for 'input': expected a string or an array of input items."}
	}
	return env{model: model.Str, stream: stream.Type == gjson.True, maxTokens: maxTokens}, nil
}

// continueResponse resolves previous_response_id: the stored
// conversation's items are put before the request's own input. A request
// without one is returned as is. It answers errors itself.
func (s *Server) continueResponse(w http.ResponseWriter, r *http.Request, c *caller, id *govern.Identity, body []byte) ([]byte, bool) {
	prev := gjson.GetBytes(body, "previous_response_id").Str
	if prev == "" {
		return body, true
	}
	fail := func(err *llm.Error) ([]byte, bool) {
		s.refused(w, id, gjson.GetBytes(body, "model").Str, err)
		s.writeError(w, c, err)
		return nil, false
	}
	if s.opt.Store == nil {
		return fail(&llm.Error{Kind: llm.KindInvalidRequest, Param: "previous_response_id", Code: "unsupported_parameter",
			Message: "previous_response_id needs a gateway that keeps responses (`store:`, and `responses.store` not false, in the tidegate config); send the whole conversation in input instead."})
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	sr, err := s.opt.Store.GetResponse(ctx, prev)
	if err == nil && sr.KeyID != "" && sr.KeyID != keyID(id) {
		err = store.ErrNotFound // another key's response: it does not exist for this one
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fail(&llm.Error{Kind: llm.KindNotFound, Param: "previous_response_id", Code: "previous_response_not_found",
			Message: "Previous response with id '" + prev + "' not found."})
	case err != nil:
		return fail(&llm.Error{Kind: llm.KindInternal, Message: "could not read the previous response", Err: err})
	}
	merged := joinItems(sr.Items, inputItems(body))
	out, err := sjson.SetRawBytes(body, "input", merged)
	if err != nil {
		s.writeError(w, c, &llm.Error{Kind: llm.KindInternal, Message: "could not continue the previous response", Err: err})
		return nil, false
	}
	return out, true
}

// keepResponse returns the hook that stores a finished answer (nil when
// nothing is stored: no store, or "store": false): the request's own
// input items (body is the caller's, before continueResponse) and the
// answer's output, linked to the turn it continued. It runs before the
// caller sees the answer end, so a follow-up request always finds it.
func (s *Server) keepResponse(r *http.Request, id *govern.Identity, model string, body []byte) func([]byte) {
	if s.opt.Store == nil || gjson.GetBytes(body, "store").Type == gjson.False {
		return nil
	}
	return func(resp []byte) {
		respID := gjson.GetBytes(resp, "id").Str
		output := gjson.GetBytes(resp, "output")
		if respID == "" || !output.IsArray() {
			return
		}
		turn := &store.StoredResponse{ID: respID, PreviousID: gjson.GetBytes(body, "previous_response_id").Str,
			KeyID: keyID(id), Model: model, Items: joinItems(inputItems(body), []byte(output.Raw))}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
		defer cancel()
		err := s.opt.Store.PutResponse(ctx, turn)
		if err != nil {
			s.opt.Logger.Warn("could not store the response", "id", respID, "error", err)
		}
	}
}

// inputItems is the request's input as a JSON array of items (a string
// input is one user message).
func inputItems(body []byte) []byte {
	in := gjson.GetBytes(body, "input")
	switch {
	case in.IsArray():
		return []byte(in.Raw)
	case in.Type == gjson.String:
		b, _ := sjson.SetBytes([]byte(`{"role":"user"}`), "content", in.Str)
		return append(append([]byte{'['}, b...), ']')
	}
	return []byte("[]")
}

// joinItems concatenates two JSON arrays.
func joinItems(a, b []byte) []byte {
	inner := func(x []byte) []byte {
		x = bytes.TrimSpace(x)
		if len(x) < 2 || x[0] != '[' {
			return nil
		}
		return bytes.TrimSpace(x[1 : len(x)-1])
	}
	ia, ib := inner(a), inner(b)
	out := make([]byte, 0, len(ia)+len(ib)+3)
	out = append(out, '[')
	out = append(out, ia...)
	if len(ia) > 0 && len(ib) > 0 {
		out = append(out, ',')
	}
	out = append(out, ib...)
	return append(out, ']')
}
