package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/tidegate/tidegate/internal/dialect/oaierr"
	"github.com/tidegate/tidegate/internal/govern"
	"github.com/tidegate/tidegate/internal/jsonw"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/router"
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
	sr, err := s.readResponse(r.Context(), id, prev, s.opt.Store.GetResponse)
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
			KeyID: keyID(id), Model: model, Items: joinItems(inputItems(body), []byte(output.Raw)), Response: resp}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
		defer cancel()
		err := s.opt.Store.PutResponse(ctx, turn)
		if err != nil {
			s.opt.Logger.Warn("could not store the response", "id", respID, "error", err)
		}
	}
}

// readResponse reads a stored turn with read (GetResponse for the whole
// conversation, GetResponseTurn for the turn alone) as the caller id may
// see it: turns past the retention are gone, and so is another key's
// turn (ErrNotFound either way).
func (s *Server) readResponse(ctx context.Context, id *govern.Identity, respID string,
	read func(context.Context, string, time.Time) (*store.StoredResponse, error)) (*store.StoredResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var since time.Time
	if keep := s.opt.ResponseRetention; keep > 0 {
		since = s.opt.Now().Add(-keep)
	}
	sr, err := read(ctx, respID, since)
	if err == nil && sr.KeyID != "" && sr.KeyID != keyID(id) {
		return nil, fmt.Errorf("response %q belongs to another key: %w", respID, store.ErrNotFound)
	}
	return sr, err
}

// storedResponse reads the turn GET and DELETE /v1/responses/{id}[/…]
// name, after authenticating the caller; whole asks for the whole
// conversation up to it. It answers errors itself.
func (s *Server) storedResponse(w http.ResponseWriter, r *http.Request, whole bool) (*store.StoredResponse, bool) {
	id, ok := s.identify(w, r, openAIResponses, &router.Input{Path: r.URL.Path, Dialect: llm.DialectResponses})
	if !ok {
		return nil, false
	}
	respID := r.PathValue("id")
	notFound := &llm.Error{Kind: llm.KindNotFound, Message: "Response with id '" + respID + "' not found."}
	if s.opt.Store == nil {
		notFound.Message += " This gateway keeps no responses (it needs `store:`, and `responses.store` not false, in the tidegate config)."
		s.writeError(w, openAIResponses, notFound)
		return nil, false
	}
	read := s.opt.Store.GetResponseTurn
	if whole {
		read = s.opt.Store.GetResponse
	}
	sr, err := s.readResponse(r.Context(), id, respID, read)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if whole {
			notFound.Message = "Response with id '" + respID + "' not found, or an earlier turn of its conversation is gone."
		}
		s.writeError(w, openAIResponses, notFound)
		return nil, false
	case err != nil:
		s.writeError(w, openAIResponses, &llm.Error{Kind: llm.KindInternal, Message: "could not read the response", Err: err})
		return nil, false
	}
	return sr, true
}

// storedBeforeObjects answers for a turn stored before tidegate kept the
// Response object (store migration 6): it can be continued, not read.
func (s *Server) storedBeforeObjects(w http.ResponseWriter, respID string) {
	s.writeError(w, openAIResponses, &llm.Error{Kind: llm.KindNotFound, Message: "Response with id '" + respID +
		"' was stored by an older tidegate that kept only its conversation items: it can be continued with previous_response_id, but not read back."})
}

// getResponse serves GET /v1/responses/{id}: the Response object as it
// was returned.
func (s *Server) getResponse(w http.ResponseWriter, r *http.Request) {
	sr, ok := s.storedResponse(w, r, false)
	if !ok {
		return
	}
	if v := r.URL.Query().Get("stream"); v == "true" || v == "1" {
		s.writeError(w, openAIResponses, oaierr.Finish(oaierr.Unsupported("stream",
			"stream is not supported when retrieving a response: tidegate has no background responses, so every stored response is complete.")))
		return
	}
	if sr.Response == nil {
		s.storedBeforeObjects(w, sr.ID)
		return
	}
	writeJSON(w, sr.Response)
}

// deleteResponse serves DELETE /v1/responses/{id}. Conversations that
// continued the turn end there: previous_response_id to them is a 404.
func (s *Server) deleteResponse(w http.ResponseWriter, r *http.Request) {
	sr, ok := s.storedResponse(w, r, false)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	err := s.opt.Store.DeleteResponse(ctx, sr.ID)
	switch {
	case errors.Is(err, store.ErrNotFound): // deleted in between
		s.writeError(w, openAIResponses, &llm.Error{Kind: llm.KindNotFound, Message: "Response with id '" + sr.ID + "' not found."})
		return
	case err != nil:
		s.writeError(w, openAIResponses, &llm.Error{Kind: llm.KindInternal, Message: "could not delete the response", Err: err})
		return
	}
	out := jsonw.AppendString([]byte(`{"id":`), sr.ID)
	writeJSON(w, append(out, `,"object":"response","deleted":true}`...))
}

// listInputItems serves GET /v1/responses/{id}/input_items: the items the
// model was given for that turn (the conversation before it, then its
// input), newest first unless order=asc, in pages of limit (default 20,
// at most 100) after the item whose id is after.
func (s *Server) listInputItems(w http.ResponseWriter, r *http.Request) {
	sr, ok := s.storedResponse(w, r, true)
	if !ok {
		return
	}
	page, bad := parseItemPage(r.URL.Query())
	if bad != nil {
		s.writeError(w, openAIResponses, bad)
		return
	}
	if sr.Response == nil {
		s.storedBeforeObjects(w, sr.ID)
		return
	}
	all := gjson.ParseBytes(sr.Items).Array()
	inputs := all[:max(0, len(all)-int(gjson.GetBytes(sr.Response, "output.#").Int()))]
	out, bad := page.list(inputs)
	if bad != nil {
		s.writeError(w, openAIResponses, bad)
		return
	}
	writeJSON(w, out)
}

// itemPage is the paging of an input item list.
type itemPage struct {
	limit int
	desc  bool
	after string
}

func parseItemPage(q url.Values) (itemPage, error) {
	p := itemPage{limit: 20, desc: true, after: q.Get("after")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return p, oaierr.Finish(oaierr.Value("limit", "expected an integer from 1 to 100, but got '"+v+"' instead."))
		}
		p.limit = n
	}
	switch q.Get("order") {
	case "", "desc":
	case "asc":
		p.desc = false
	default:
		return p, oaierr.Finish(oaierr.Value("order", "expected one of 'asc' or 'desc', but got '"+q.Get("order")+"' instead."))
	}
	return p, nil
}

// list renders one page of items (given oldest first) as a list object;
// only the items on the page are rewritten by listedItem.
func (p itemPage) list(items []gjson.Result) ([]byte, error) {
	order := make([]int, len(items)) // positions in list order
	for i := range order {
		order[i] = i
	}
	if p.desc {
		slices.Reverse(order)
	}
	if p.after != "" {
		k := slices.IndexFunc(order, func(n int) bool { return itemID(items[n], n) == p.after })
		if k < 0 {
			return nil, oaierr.Finish(oaierr.Value("after", "no input item of this response has the id '"+p.after+"'."))
		}
		order = order[k+1:]
	}
	more := len(order) > p.limit
	order = order[:min(len(order), p.limit)]
	out := []byte(`{"object":"list","data":[`)
	for i, n := range order {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, listedItem(items[n], n)...)
	}
	out = append(out, `],"first_id":`...)
	out = appendItemID(out, items, order, 0)
	out = append(out, `,"last_id":`...)
	out = appendItemID(out, items, order, len(order)-1)
	out = append(out, `,"has_more":`...)
	out = jsonw.AppendBool(out, more)
	return append(out, '}'), nil
}

// appendItemID appends the id of the k-th item of the page, or null when
// the page is empty.
func appendItemID(dst []byte, items []gjson.Result, order []int, k int) []byte {
	if len(order) == 0 {
		return append(dst, "null"...)
	}
	return jsonw.AppendString(dst, itemID(items[order[k]], order[k]))
}

// itemID is the id of the n-th item of a conversation: its own, else
// item_<n> (the same in every later turn's list, so a page cursor stays
// valid).
func itemID(item gjson.Result, n int) string {
	if id := item.Get("id"); id.Type == gjson.String {
		return id.Str
	}
	return "item_" + strconv.Itoa(n)
}

// listedItem is the n-th stored input item as input_items lists it: with
// its itemID, and a message in short form ({"role","content":"text"})
// with its type and a content part, as OpenAI lists it.
func listedItem(v gjson.Result, n int) []byte {
	item := []byte(v.Raw)
	if !v.Get("type").Exists() && v.Get("role").Exists() {
		item, _ = sjson.SetBytes(item, "type", "message")
	}
	if c := v.Get("content"); c.Type == gjson.String {
		part := "input_text"
		if v.Get("role").Str == "assistant" {
			part = "output_text"
		}
		parts := jsonw.AppendString([]byte(`[{"type":"`+part+`","text":`), c.Str)
		item, _ = sjson.SetRawBytes(item, "content", append(parts, "}]"...))
	}
	if v.Get("id").Type != gjson.String {
		item, _ = sjson.SetBytes(item, "id", itemID(v, n))
	}
	return item
}

// writeJSON writes a 200 JSON body.
func writeJSON(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
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
