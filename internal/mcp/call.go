package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"unicode/utf8"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/tidwall/gjson"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/openapi"
)

// call runs one tools/call: admit, validate, build, send, answer.
func (s *Server) call(ctx context.Context, t *openapi.Tool, raw json.RawMessage, h http.Header, reqID string) outcome {
	c, err := s.opt.Guard.Admit(ctx, h, t.Name, reqID)
	if err != nil {
		return failure(llm.AsError(err).Message)
	}
	refuse := func(msg string) outcome {
		c.Finish(http.StatusBadRequest, false, &llm.Error{Kind: llm.KindInvalidRequest, Message: msg})
		return failure(msg)
	}
	if op := t.Operation; op != nil {
		if err := s.opt.Access.Check(c, op.ID, op.Method, op.Path, h); err != nil {
			c.Finish(http.StatusForbidden, false, err)
			return failure(llm.AsError(err).Message)
		}
		if err := s.opt.Limits.Check(ctx, op.ID, c); err != nil {
			e := llm.AsError(err)
			c.Finish(e.HTTPStatus(), false, e)
			return failure(e.Message)
		}
	}
	args, err := arguments(raw)
	if err != nil {
		return refuse(err.Error())
	}
	// Models often send null for optional arguments they leave out; treat
	// it as absent (a null required argument is then reported missing).
	for k, v := range args {
		if v == nil {
			delete(args, k)
		}
	}
	if err := t.Validate(args); err != nil {
		return refuse(fmt.Sprintf("%s: %v", t.Name, err))
	}
	fwd := s.upstreamHeader(h)
	c.SetClaimsHeader(fwd)
	if s.opt.Guard == nil && t.Operation != nil && t.Operation.Security && fwd.Get("Authorization") == "" {
		return refuse(fmt.Sprintf("%s requires credentials: send them in the Authorization header of the MCP request", t.Name))
	}
	ctx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
	defer cancel()
	req, err := t.RequestAt(ctx, s.upstream, args, fwd)
	if err != nil {
		return refuse(fmt.Sprintf("cannot build the request for %s: %v", t.Name, err))
	}
	if trace.SpanContextFromContext(ctx).IsValid() { // tracing on: the gateway's span is the parent
		propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(req.Header))
	}
	if t.Operation != nil && s.opt.Guards.Has(t.Operation.ID) && req.Body != nil {
		// The operation's body guards see the body the tool call became,
		// as they see an HTTP caller's.
		body, err := io.ReadAll(req.Body)
		if err == nil {
			body, err = s.opt.Guards.Check(t.Operation.ID, body)
		}
		if err != nil {
			e := llm.AsError(err)
			c.Finish(e.HTTPStatus(), false, e)
			return failure(e.Message)
		}
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	resp, err := s.client.Do(req)
	if err != nil {
		e := s.upstreamFailure(ctx, err)
		c.Finish(e.HTTPStatus(), true, e)
		return failure(e.Message)
	}
	defer resp.Body.Close()
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	limit := s.opt.MaxResultBytes
	if !ok {
		limit = maxErrorBodyBytes
	}
	body, truncated, err := readUpTo(resp.Body, limit)
	if err != nil {
		e := s.upstreamFailure(ctx, err)
		c.Finish(e.HTTPStatus(), true, e)
		return failure(e.Message)
	}
	if !ok {
		e := &llm.Error{Kind: llm.KindForStatus(resp.StatusCode), Status: resp.StatusCode, Message: "upstream answered " + resp.Status}
		c.Finish(resp.StatusCode, true, e)
		return failure(withBody(e.Message, body, truncated))
	}
	c.Finish(resp.StatusCode, true, nil)
	return result(t, resp.Status, body, truncated)
}

// arguments decodes tools/call arguments; absent arguments are {}.
func arguments(raw json.RawMessage) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return map[string]any{}, nil
	}
	if !utf8.Valid(raw) { // rare: encoding/json says how it replaces the bad bytes
		args := map[string]any{}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		err := dec.Decode(&args)
		if err == nil {
			if _, end := dec.Token(); end != io.EOF {
				err = errors.New("data after the object")
			}
		}
		if err != nil {
			return nil, fmt.Errorf("the arguments must be a JSON object: %w", err)
		}
		return args, nil
	}
	if raw[0] != '{' || !gjson.ValidBytes(raw) {
		return nil, errors.New("the arguments must be a JSON object")
	}
	return decodeValue(gjson.ParseBytes(raw)).(map[string]any), nil
}

// decodeValue is what encoding/json decodes v to with UseNumber (numbers
// stay json.Number, so an ID beyond 2^53 reaches the API with all its
// digits), without its reflection: arguments are decoded on every call.
func decodeValue(v gjson.Result) any {
	switch v.Type {
	case gjson.String:
		return v.Str
	case gjson.Number:
		return json.Number(v.Raw)
	case gjson.True:
		return true
	case gjson.False:
		return false
	case gjson.JSON:
		if v.IsArray() {
			a := []any{}
			v.ForEach(func(_, e gjson.Result) bool {
				a = append(a, decodeValue(e))
				return true
			})
			return a
		}
		m := map[string]any{}
		v.ForEach(func(k, e gjson.Result) bool {
			m[k.Str] = decodeValue(e)
			return true
		})
		return m
	}
	return nil
}

// upstreamHeader is what goes upstream: the configured headers, then
// (passthrough only) the caller's Authorization.
func (s *Server) upstreamHeader(in http.Header) http.Header {
	h := make(http.Header, len(s.opt.Headers)+1)
	for k, v := range s.opt.Headers {
		h.Set(k, v)
	}
	if !s.opt.Guard.StripsCredentials() { // passthrough and jwt forward the caller's token
		if a := in.Get("Authorization"); a != "" {
			h.Set("Authorization", a)
		}
	}
	return h
}

// upstreamFailure names a transport failure: a timeout or an unreachable
// upstream (the caller leaving is neither, but nobody reads that answer).
func (s *Server) upstreamFailure(ctx context.Context, err error) *llm.Error {
	switch {
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded:
		return &llm.Error{Kind: llm.KindTimeout, Message: fmt.Sprintf("the upstream did not answer within %s", s.opt.Timeout), Err: err}
	case ctx.Err() != nil: // the caller left: recorded as 499, as the HTTP proxy does, not as the upstream's failure
		return &llm.Error{Kind: llm.KindUpstream, Status: 499, Message: "the caller left before the answer", Err: err}
	}
	return &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Message: fmt.Sprintf("the upstream cannot be reached: %v", err), Err: err}
}

// result is a 2xx answer: the body as text, and as structured content
// when the tool declares an output schema (which the body must then meet
// the shape of: a JSON object).
func result(t *openapi.Tool, status string, body []byte, truncated bool) outcome {
	text := string(body)
	if len(body) == 0 {
		text = status
	}
	if truncated {
		text += fmt.Sprintf("\n[truncated: the response exceeds %d bytes]", len(body))
	}
	if len(t.OutputSchema) == 0 || len(body) == 0 {
		return outcome{text: text}
	}
	switch {
	case truncated:
		return failure(fmt.Sprintf("the response exceeds %d bytes and cannot be returned as structured content", len(body)))
	}
	structured, ok := compactObject(body)
	if !ok {
		return failure(withBody("the upstream's answer is not the JSON object its spec declares", body, false))
	}
	return outcome{text: text, structured: structured}
}

// compactObject returns b compacted, as encoding/json writes a
// json.RawMessage (less its HTML escaping), when b is a JSON object.
// Compacting validates: the answer is scanned once.
func compactObject(b []byte) ([]byte, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, false
	}
	var out bytes.Buffer
	out.Grow(len(b))
	if json.Compact(&out, b) != nil {
		return nil, false
	}
	return out.Bytes(), true
}

// outcome is a tool call's result: the text the agent reads, the same
// body as structured content (a JSON object) when the tool declares an
// output schema, and whether the call failed.
type outcome struct {
	text       string
	structured []byte
	isError    bool
}

func failure(msg string) outcome { return outcome{text: msg, isError: true} }

// sdkResult is the outcome as the SDK's handlers return it.
func (o outcome) sdkResult() *sdk.CallToolResult {
	res := &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: o.text}}, IsError: o.isError}
	if o.structured != nil {
		res.StructuredContent = json.RawMessage(o.structured)
	}
	return res
}

// encode appends the outcome's JSON: the bytes json.Marshal gives for
// sdkResult (escaping and compaction included), without the SDK's nested
// MarshalJSON methods, which cost more than the rest of a call's own work.
func (o outcome) encode(buf *bytes.Buffer) error {
	enc := json.NewEncoder(buf)
	buf.WriteString(`{"content":[{"type":"text","text":`)
	if err := encodeValue(enc, buf, o.text); err != nil {
		return err
	}
	buf.WriteString("}]")
	if o.structured != nil {
		buf.WriteString(`,"structuredContent":`)
		json.HTMLEscape(buf, o.structured) // compacted already: what the SDK's encoding/json writes
	}
	if o.isError {
		buf.WriteString(`,"isError":true`)
	}
	buf.WriteByte('}')
	return nil
}

// encodeValue appends v's JSON without the newline Encode ends it with.
func encodeValue(enc *json.Encoder, buf *bytes.Buffer, v any) error {
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1)
	return nil
}

func withBody(msg string, body []byte, truncated bool) string {
	if len(body) == 0 {
		return msg
	}
	msg += "\n" + string(body)
	if truncated {
		msg += fmt.Sprintf("\n[truncated at %d bytes]", len(body))
	}
	return msg
}

// readUpTo reads at most limit bytes and reports whether there was more.
func readUpTo(r io.Reader, limit int) ([]byte, bool, error) {
	body, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, false, err
	}
	if len(body) > limit {
		body = body[:limit]
		for i := 0; i < utf8.UTFMax-1 && len(body) > 0; i++ { // do not cut a character in two
			if r, size := utf8.DecodeLastRune(body); r != utf8.RuneError || size != 1 {
				break
			}
			body = body[:len(body)-1]
		}
		return body, true, nil
	}
	return body, false, nil
}
