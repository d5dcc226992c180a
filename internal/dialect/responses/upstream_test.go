package responses

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

const upstreamStream = `event: response.created
data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_up","model":"gpt-5","status":"in_progress","output":[]}}

event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi"}

event: response.completed
data: {"type":"response.completed","sequence_number":2,"response":{"id":"resp_up","model":"gpt-5","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[],"usage":{"input_tokens":7,"input_tokens_details":{"cached_tokens":2},"output_tokens":3,"output_tokens_details":{"reasoning_tokens":1},"total_tokens":10}}}

`

func drain(t *testing.T, s llm.Stream) ([]llm.Event, error) {
	t.Helper()
	var evs []llm.Event
	for {
		ev, err := s.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

// The relay decoder and encoder pass the upstream's frames byte for byte
// and read start, finish and usage on the way.
func TestRelayStream(t *testing.T) {
	evs, err := drain(t, NewStreamDecoder(io.NopCloser(strings.NewReader(upstreamStream))))
	if !errors.Is(err, io.EOF) || len(evs) != 3 {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	if evs[0].Type != llm.EventStart || evs[0].ID != "resp_up" || evs[1].Type != 0 || evs[2].Type != llm.EventFinish ||
		evs[2].StopReason != llm.StopMaxTokens || *evs[2].Usage != (llm.Usage{InputTokens: 7, OutputTokens: 3, CacheReadTokens: 2, ReasoningTokens: 1}) {
		t.Errorf("events %+v", evs)
	}
	e := NewStreamEncoder(&llm.Request{Model: "m", Source: llm.Source{Body: []byte(`{"model":"m","input":"x"}`)}})
	var out []byte
	for _, ev := range evs {
		out = e.Encode(out, ev)
	}
	out = e.Finish(out)
	if string(out) != upstreamStream {
		t.Errorf("relayed\n%s\nwant\n%s", out, upstreamStream)
	}
	if !strings.HasPrefix(string(e.Completed()), `{"id":"resp_up"`) {
		t.Errorf("completed %s", e.Completed())
	}
}

func TestRelayStreamFailures(t *testing.T) {
	cut := upstreamStream[:strings.Index(upstreamStream, "event: response.completed")]
	failed := cut + "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":2,\"response\":{\"id\":\"resp_up\",\"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"boom\"}}}\n\n"
	for name, c := range map[string]struct{ body, msg string }{
		"cut":     {cut, "ended before completion"},
		"failed":  {failed, "boom"},
		"invalid": {"data: {nope\n\n", "invalid stream event"},
	} {
		evs, err := drain(t, NewStreamDecoder(io.NopCloser(strings.NewReader(c.body))))
		var e *llm.Error
		if !errors.As(err, &e) || e.Kind != llm.KindUpstream || !strings.Contains(e.Message, c.msg) {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if name == "invalid" {
			continue
		}
		// The encoder numbers its error events after the upstream's.
		enc := NewStreamEncoder(&llm.Request{Model: "m", Source: llm.Source{Body: []byte(`{"model":"m","input":"x"}`)}})
		var out []byte
		for _, ev := range evs {
			out = enc.Encode(out, ev)
		}
		out = enc.Error(out, e)
		tail := string(out[len(cut):])
		if !strings.Contains(tail, `"type":"error","sequence_number":2`) || !strings.Contains(tail, `"type":"response.failed","sequence_number":3,"response":{"id":"resp_up"`) {
			t.Errorf("%s: error events %s", name, tail)
		}
	}
}

func TestRewriteAndSniff(t *testing.T) {
	out, err := RewriteRequest([]byte(`{"model":"codex","previous_response_id":"resp_1","input":"x","tools":[{"type":"web_search"}]}`), "gpt-5")
	if err != nil || string(out) != `{"model":"gpt-5","input":"x","tools":[{"type":"web_search"}]}` {
		t.Errorf("rewrite: %s, %v", out, err)
	}
	r := SniffResponse([]byte(`{"id":"resp_1","model":"gpt-5","status":"completed","output":[{"type":"message"},{"type":"function_call"}],"usage":{"input_tokens":5,"output_tokens":2}}`))
	if r.ID != "resp_1" || r.StopReason != llm.StopToolUse || r.Usage.InputTokens != 5 || r.Usage.OutputTokens != 2 {
		t.Errorf("sniff %+v", r)
	}
}

func FuzzStreamDecoder(f *testing.F) {
	f.Add([]byte(upstreamStream))
	f.Add([]byte("event: error\ndata: {\"type\":\"error\",\"message\":\"x\"}\n\n"))
	f.Add([]byte("data: [DONE]\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		s := NewStreamDecoder(io.NopCloser(strings.NewReader(string(body))))
		defer s.Close()
		enc := NewStreamEncoder(&llm.Request{Model: "m", Source: llm.Source{Body: []byte(`{"model":"m","input":"x"}`)}})
		for i := 0; ; i++ {
			ev, err := s.Next()
			if err != nil {
				var e *llm.Error
				if !errors.Is(err, io.EOF) && (!errors.As(err, &e) || e.Message == "") {
					t.Fatalf("bad error %T %v", err, err)
				}
				enc.Error(nil, llm.AsError(err))
				return
			}
			if ev.RawDialect != Dialect || len(ev.Raw) == 0 {
				t.Fatalf("event without its frame: %+v", ev)
			}
			enc.Encode(nil, ev)
		}
	})
}
