package responses

import (
	"bytes"
	"errors"
	"io"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/sse"
)

// Upstream side, for an OpenAI-type provider that serves /v1/responses
// itself (providers.<name>.responses_api): the caller's request is
// relayed with only the model changed, and the answer comes back byte for
// byte, read only for what the gateway needs (usage, finish, errors).

// RewriteRequest is the caller's body with model replaced. A
// previous_response_id has already been resolved by the gateway (its
// items are in input), so it is removed: the upstream never stored it.
func RewriteRequest(body []byte, model string) ([]byte, error) {
	out, err := sjson.SetBytes(body, "model", model)
	if err == nil && gjson.GetBytes(out, "previous_response_id").Exists() {
		out, err = sjson.DeleteBytes(out, "previous_response_id")
	}
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Message: "could not rewrite the request", Err: err}
	}
	return out, nil
}

// SniffResponse reads id, model, stop reason and usage from a Response
// object, without decoding its output.
func SniffResponse(data []byte) *llm.Response {
	return sniff(gjson.ParseBytes(data))
}

func sniff(r gjson.Result) *llm.Response {
	out := &llm.Response{ID: r.Get("id").Str, Model: r.Get("model").Str, StopReason: llm.StopEndTurn}
	if r.Get("status").Str == "incomplete" {
		switch r.Get("incomplete_details.reason").Str {
		case "content_filter":
			out.StopReason = llm.StopContentFilter
		default:
			out.StopReason = llm.StopMaxTokens
		}
	}
	r.Get("output").ForEach(func(_, item gjson.Result) bool {
		if t := item.Get("type").Str; t == "function_call" || t == "custom_tool_call" {
			out.StopReason = llm.StopToolUse
			return false
		}
		return true
	})
	u := r.Get("usage")
	out.Usage = llm.Usage{
		InputTokens:     int(u.Get("input_tokens").Int()),
		OutputTokens:    int(u.Get("output_tokens").Int()),
		CacheReadTokens: int(u.Get("input_tokens_details.cached_tokens").Int()),
		ReasoningTokens: int(u.Get("output_tokens_details.reasoning_tokens").Int()),
	}
	return out
}

// NewStreamDecoder relays an upstream Responses stream: every frame is one
// event carrying it as Raw (RawDialect responses). response.created is an
// EventStart, response.completed and response.incomplete an EventFinish
// with the usage, after which the stream ends (io.EOF); every other frame
// is an event of Type 0. response.failed and error frames end the stream
// with an *llm.Error; a stream cut before its end is a KindUpstream error.
func NewStreamDecoder(body io.ReadCloser) llm.Stream {
	return &streamDecoder{body: body, r: sse.NewReader(body)}
}

type streamDecoder struct {
	body   io.ReadCloser
	r      *sse.Reader
	err    error // terminal: io.EOF or *llm.Error
	closed bool
}

func (d *streamDecoder) Next() (llm.Event, error) {
	if d.err != nil {
		return llm.Event{}, d.err
	}
	f, err := d.r.Next()
	if err != nil {
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			d.err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream stream ended before completion"}
		default:
			d.err = &llm.Error{Kind: llm.KindUpstream, Message: "reading the upstream stream failed", Err: err}
		}
		return llm.Event{}, d.err
	}
	data := bytes.TrimSpace(f.Data)
	if !gjson.ValidBytes(data) || !gjson.ParseBytes(data).IsObject() {
		d.err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream sent an invalid stream event"}
		return llm.Event{}, d.err
	}
	root := gjson.ParseBytes(data)
	ev := llm.Event{Raw: f.Raw, RawDialect: Dialect}
	switch typ := root.Get("type").Str; typ {
	case "response.created":
		ev.Type, ev.ID, ev.Model = llm.EventStart, root.Get("response.id").Str, root.Get("response.model").Str
	case "response.completed", "response.incomplete":
		r := sniff(root.Get("response"))
		ev.Type, ev.StopReason, ev.Usage = llm.EventFinish, r.StopReason, &r.Usage
		d.err = io.EOF
	case "response.failed", "error":
		e := root
		if typ == "response.failed" {
			e = root.Get("response.error")
		}
		msg := e.Get("message").Str
		if msg == "" {
			msg = "the upstream response failed"
		}
		d.err = &llm.Error{Kind: llm.KindUpstream, Message: msg, Code: e.Get("code").Str}
		return llm.Event{}, d.err
	}
	return ev, nil
}

func (d *streamDecoder) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	if d.err == nil {
		d.err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream stream closed"}
	}
	return d.body.Close()
}

// frameData returns the data of a raw SSE frame.
func frameData(raw []byte) []byte {
	i := bytes.Index(raw, []byte("data:"))
	if i < 0 {
		return nil
	}
	data := raw[i+len("data:"):]
	if j := bytes.IndexByte(data, '\n'); j >= 0 {
		data = data[:j]
	}
	return bytes.TrimSpace(data)
}
