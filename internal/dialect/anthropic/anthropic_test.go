package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

func TestDecodeRequestErrors(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"hi"}]`
	tests := []struct {
		name, body, param string
	}{
		{"malformed JSON", `{"model":"m",`, ""},
		{"not an object", `[1,2]`, ""},
		{"empty body", ``, ""},
		{"missing model", `{` + msgs + `}`, "model"},
		{"empty model", `{"model":"",` + msgs + `}`, "model"},
		{"model not a string", `{"model":4,` + msgs + `}`, "model"},
		{"missing messages", `{"model":"m"}`, "messages"},
		{"null messages", `{"model":"m","messages":null}`, "messages"},
		{"messages not an array", `{"model":"m","messages":{}}`, "messages"},
		{"no messages", `{"model":"m","messages":[]}`, "messages"},
		{"message not an object", `{"model":"m","messages":["hi"]}`, "messages.0"},
		{"missing role", `{"model":"m","messages":[{"content":"hi"}]}`, "messages.0.role"},
		{"bad role", `{"model":"m","messages":[{"role":"tool","content":"hi"}]}`, "messages.0.role"},
		{"missing content", `{"model":"m","messages":[{"role":"user"}]}`, "messages.0.content"},
		{"content a number", `{"model":"m","messages":[{"role":"user","content":3}]}`, "messages.0.content"},
		{"block not an object", `{"model":"m","messages":[{"role":"user","content":["x"]}]}`, "messages.0.content.0"},
		{"block without type", `{"model":"m","messages":[{"role":"user","content":[{"text":"x"}]}]}`, "messages.0.content.0.type"},
		{"document block", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"document","source":{}}]}]}`, "messages.0.content.1.type"},
		{"server tool block", `{"model":"m","messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{}}]}]}`, "messages.1.content.0.type"},
		{"text not a string", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":1}]}]}`, "messages.0.content.0.text"},
		{"cache_control not an object", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a","cache_control":"x"}]}]}`, "messages.0.content.0.cache_control"},
		{"image without source", `{"model":"m","messages":[{"role":"user","content":[{"type":"image"}]}]}`, "messages.0.content.0.source"},
		{"image file source", `{"model":"m","messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]}`, "messages.0.content.0.source.type"},
		{"image without data", `{"model":"m","messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png"}}]}]}`, "messages.0.content.0.source.data"},
		{"image without media type", `{"model":"m","messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","data":"AA"}}]}]}`, "messages.0.content.0.source.media_type"},
		{"image without url", `{"model":"m","messages":[{"role":"user","content":[{"type":"image","source":{"type":"url"}}]}]}`, "messages.0.content.0.source.url"},
		{"tool_use in user turn", `{"model":"m","messages":[{"role":"user","content":[{"type":"tool_use","id":"t","name":"n","input":{}}]}]}`, "messages.0.content.0.type"},
		{"tool_use without id", `{"model":"m","messages":[{"role":"assistant","content":[{"type":"tool_use","name":"n","input":{}}]}]}`, "messages.0.content.0.id"},
		{"tool_use without name", `{"model":"m","messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","input":{}}]}]}`, "messages.0.content.0.name"},
		{"tool_use input an array", `{"model":"m","messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":[]}]}]}`, "messages.0.content.0.input"},
		{"tool_result in assistant turn", `{"model":"m","messages":[{"role":"assistant","content":[{"type":"tool_result","tool_use_id":"t"}]}]}`, "messages.0.content.0.type"},
		{"tool_result without id", `{"model":"m","messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}`, "messages.0.content.0.tool_use_id"},
		{"tool_result is_error a string", `{"model":"m","messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","is_error":"yes"}]}]}`, "messages.0.content.0.is_error"},
		{"tool_result content a number", `{"model":"m","messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":1}]}]}`, "messages.0.content.0.content"},
		{"tool_result nested document", `{"model":"m","messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"a"},{"type":"document"}]}]}]}`, "messages.0.content.0.content.1.type"},
		{"tool_result nested bad image", `{"model":"m","messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"image","source":{"type":"url","url":""}}]}]}]}`, "messages.0.content.0.content.0.source.url"},
		{"thinking not a string", `{"model":"m","messages":[{"role":"assistant","content":[{"type":"thinking","thinking":1,"signature":"s"}]}]}`, "messages.0.content.0.thinking"},
		{"redacted without data", `{"model":"m","messages":[{"role":"assistant","content":[{"type":"redacted_thinking"}]}]}`, "messages.0.content.0.data"},
		{"system message with image", `{"model":"m","messages":[{"role":"system","content":[{"type":"image"}]}]}`, "messages.0.content.0.type"},
		{"system a number", `{"model":"m","system":1,` + msgs + `}`, "system"},
		{"system block not text", `{"model":"m","system":[{"type":"image"}],` + msgs + `}`, "system.0.type"},
		{"system text not a string", `{"model":"m","system":[{"type":"text","text":null}],` + msgs + `}`, "system.0.text"},
		{"max_tokens a string", `{"model":"m","max_tokens":"10",` + msgs + `}`, "max_tokens"},
		{"max_tokens a fraction", `{"model":"m","max_tokens":1.5,` + msgs + `}`, "max_tokens"},
		{"max_tokens negative", `{"model":"m","max_tokens":-1,` + msgs + `}`, "max_tokens"},
		{"max_tokens huge", `{"model":"m","max_tokens":1e30,` + msgs + `}`, "max_tokens"},
		{"temperature a string", `{"model":"m","temperature":"hot",` + msgs + `}`, "temperature"},
		{"top_p a bool", `{"model":"m","top_p":true,` + msgs + `}`, "top_p"},
		{"top_k a fraction", `{"model":"m","top_k":1.5,` + msgs + `}`, "top_k"},
		{"stream a string", `{"model":"m","stream":"yes",` + msgs + `}`, "stream"},
		{"stop_sequences a string", `{"model":"m","stop_sequences":"x",` + msgs + `}`, "stop_sequences"},
		{"stop_sequences item", `{"model":"m","stop_sequences":["a",1],` + msgs + `}`, "stop_sequences.1"},
		{"metadata a string", `{"model":"m","metadata":"u",` + msgs + `}`, "metadata"},
		{"user_id a number", `{"model":"m","metadata":{"user_id":5},` + msgs + `}`, "metadata.user_id"},
		{"tools an object", `{"model":"m","tools":{},` + msgs + `}`, "tools"},
		{"tool not an object", `{"model":"m","tools":[1],` + msgs + `}`, "tools.0"},
		{"tool without name", `{"model":"m","tools":[{"type":"web_search_20250305","name":"web_search"},{"input_schema":{}}],` + msgs + `}`, "tools.1.name"},
		{"tool type a number", `{"model":"m","tools":[{"type":1,"name":"a"}],` + msgs + `}`, "tools.0.type"},
		{"tool description a number", `{"model":"m","tools":[{"name":"a","description":1}],` + msgs + `}`, "tools.0.description"},
		{"tool schema a string", `{"model":"m","tools":[{"name":"a","input_schema":"{}"}],` + msgs + `}`, "tools.0.input_schema"},
		{"tool cache_control a string", `{"model":"m","tools":[{"name":"a","cache_control":"x"}],` + msgs + `}`, "tools.0.cache_control"},
		{"tool strict a string", `{"model":"m","tools":[{"name":"a","strict":"x"}],` + msgs + `}`, "tools.0.strict"},
		{"tool_choice a string", `{"model":"m","tool_choice":"auto",` + msgs + `}`, "tool_choice"},
		{"tool_choice without type", `{"model":"m","tool_choice":{},` + msgs + `}`, "tool_choice.type"},
		{"tool_choice bad type", `{"model":"m","tool_choice":{"type":"required"},` + msgs + `}`, "tool_choice.type"},
		{"tool_choice tool without name", `{"model":"m","tool_choice":{"type":"tool"},` + msgs + `}`, "tool_choice.name"},
		{"tool_choice parallel a string", `{"model":"m","tool_choice":{"type":"auto","disable_parallel_tool_use":"y"},` + msgs + `}`, "tool_choice.disable_parallel_tool_use"},
		{"thinking a bool", `{"model":"m","thinking":true,` + msgs + `}`, "thinking"},
		{"thinking bad type", `{"model":"m","thinking":{"type":"on"},` + msgs + `}`, "thinking.type"},
		{"thinking budget a string", `{"model":"m","thinking":{"type":"enabled","budget_tokens":"1024"},` + msgs + `}`, "thinking.budget_tokens"},
		{"output_config a string", `{"model":"m","output_config":"x",` + msgs + `}`, "output_config"},
		{"effort a number", `{"model":"m","output_config":{"effort":3},` + msgs + `}`, "output_config.effort"},
		{"format bad type", `{"model":"m","output_config":{"format":{"type":"json_object"}},` + msgs + `}`, "output_config.format.type"},
		{"format without schema", `{"model":"m","output_config":{"format":{"type":"json_schema"}},` + msgs + `}`, "output_config.format.schema"},
		{"beta output_format a string", `{"model":"m","output_format":"json",` + msgs + `}`, "output_format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeMessagesRequest([]byte(tt.body))
			var e *llm.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *llm.Error", err)
			}
			if e.Kind != llm.KindInvalidRequest || e.HTTPStatus() != 400 {
				t.Errorf("kind %s status %d", e.Kind, e.HTTPStatus())
			}
			if e.Param != tt.param {
				t.Errorf("param %q, want %q (message %q)", e.Param, tt.param, e.Message)
			}
			if tt.param != "" && !strings.HasPrefix(e.Message, tt.param+": ") {
				t.Errorf("message %q does not name %q", e.Message, tt.param)
			}
			if !json.Valid(EncodeError(e)) {
				t.Errorf("invalid error body %s", EncodeError(e))
			}
		})
	}
}

func TestDecodeRequestLenient(t *testing.T) {
	// No max_tokens (tidegate fills it), nulls for optional fields, unknown
	// fields and a server tool: all accepted.
	body := `{"model":"m","messages":[{"role":"user","content":"hi","extra":1}],"temperature":null,"top_k":null,
	"max_tokens":null,"stream":null,"metadata":{"user_id":null},"tools":[{"type":"bash_20250124","name":"bash"}],
	"thinking":{"type":"enabled"},"container":"c","mcp_servers":[]}`
	req, err := DecodeMessagesRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if req.MaxTokens != 0 || req.Temperature != nil || len(req.Tools) != 0 || req.User != "" {
		t.Errorf("unexpected request %+v", req)
	}
	if req.Reasoning == nil || !req.Reasoning.Enabled || req.Reasoning.Budget != 0 {
		t.Errorf("reasoning %+v", req.Reasoning)
	}
}

func TestEncodeRequestLazy(t *testing.T) {
	body := []byte(`{"model":"claude-x","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`)
	src := llm.Source{Dialect: llm.DialectAnthropic, Body: body}
	req := llm.NewLazyRequest(llm.OpChat, "upstream-model", false, false, src, func(r *llm.Request) error {
		d, err := DecodeMessagesRequest(r.Source.Body)
		if err != nil {
			return err
		}
		*r = *d
		return nil
	})
	out, err := EncodeMessagesRequest(req, llm.ModelInfo{})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"upstream-model","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}

func TestRewriteRequest(t *testing.T) {
	body := "{\n  \"max_tokens\": 1024,\n  \"model\" : \"claude-public\",\n  \"messages\": [{\"role\":\"user\",\"content\":\"h\\u00e9 \u2028\"}],\n" +
		"  \"future_field\": {\"nested\": [1, 2.50, true]},  \"stream\": true\n}"
	for _, model := range []string{"claude-sonnet-4-5", `we"ird\model`} {
		out, err := RewriteRequest([]byte(body), model, true)
		if err != nil {
			t.Fatal(err)
		}
		q, _ := json.Marshal(model)
		want := strings.Replace(body, `"claude-public"`, string(q), 1)
		if string(out) != want {
			t.Errorf("got  %s\nwant %s", out, want)
		}
	}
	// A body without a model gets one; the caller's bytes are not changed.
	orig := []byte(`{"messages":[]}`)
	out, err := RewriteRequest(orig, "m", false)
	if err != nil || !json.Valid(out) || !strings.Contains(string(out), `"model":"m"`) || string(orig) != `{"messages":[]}` {
		t.Errorf("got %s, %v", out, err)
	}
	for _, bad := range []string{`{"model":`, `[]`, ``} {
		if _, err := RewriteRequest([]byte(bad), "m", false); err == nil {
			t.Errorf("RewriteRequest(%q) succeeded", bad)
		}
	}
}

func TestCountTokens(t *testing.T) {
	if got := string(EncodeCountTokensResponse(1234)); got != `{"input_tokens":1234}` {
		t.Errorf("EncodeCountTokensResponse = %s", got)
	}
	n, err := DecodeCountTokensResponse([]byte(`{"input_tokens": 2095}`))
	if err != nil || n != 2095 {
		t.Errorf("DecodeCountTokensResponse = %d, %v", n, err)
	}
	for _, bad := range []string{`{}`, `{"input_tokens":"1"}`, `nope`} {
		if _, err := DecodeCountTokensResponse([]byte(bad)); llm.AsError(err).Kind != llm.KindUpstream {
			t.Errorf("DecodeCountTokensResponse(%q) error %v", bad, err)
		}
	}
	_, err = DecodeCountTokensResponse([]byte(`{"type":"error","error":{"type":"not_found_error","message":"model: x"}}`))
	if e := llm.AsError(err); e.Kind != llm.KindNotFound || e.Message != "model: x" {
		t.Errorf("error %v", err)
	}
	req := &llm.Request{Model: "m", MaxTokens: 5, Stream: true, Temperature: new(float64),
		Reasoning: &llm.Reasoning{Enabled: true, Budget: 2048},
		Messages:  []llm.Message{{Role: llm.RoleUser, Content: []llm.Part{llm.TextPart("hi")}}}}
	out, err := EncodeCountTokensRequest(req)
	if want := `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`; err != nil || string(out) != want {
		t.Errorf("EncodeCountTokensRequest = %s, %v", out, err)
	}
}

func TestEncodeError(t *testing.T) {
	tests := []struct {
		kind llm.Kind
		typ  string
	}{
		{llm.KindInvalidRequest, "invalid_request_error"},
		{llm.KindAuthentication, "authentication_error"},
		{llm.KindPermission, "permission_error"},
		{llm.KindNotFound, "not_found_error"},
		{llm.KindTooLarge, "request_too_large"},
		{llm.KindRateLimit, "rate_limit_error"},
		{llm.KindBudget, "rate_limit_error"},
		{llm.KindUpstream, "api_error"},
		{llm.KindOverloaded, "overloaded_error"},
		{llm.KindTimeout, "timeout_error"},
		{llm.KindInternal, "api_error"},
	}
	for _, tt := range tests {
		got := EncodeError(&llm.Error{Kind: tt.kind, Message: "bad \"thing\"\n"})
		want := `{"type":"error","error":{"type":"` + tt.typ + `","message":"bad \"thing\"\n"}}`
		if string(got) != want {
			t.Errorf("%s: got %s, want %s", tt.kind, got, want)
		}
	}
	if got := string(EncodeError(&llm.Error{Kind: llm.KindRateLimit})); got != `{"type":"error","error":{"type":"rate_limit_error","message":"Too Many Requests"}}` {
		t.Errorf("empty message: %s", got)
	}
	relay := []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}`)
	if got := EncodeError(&llm.Error{Kind: llm.KindOverloaded, Body: relay, BodyDialect: llm.DialectAnthropic}); !bytes.Equal(got, relay) {
		t.Errorf("relay: %s", got)
	}
	if got := EncodeError(&llm.Error{Kind: llm.KindOverloaded, Message: "m", Body: relay, BodyDialect: llm.DialectOpenAI}); bytes.Equal(got, relay) {
		t.Error("relayed another dialect's body")
	}
	if !json.Valid(EncodeError(nil)) {
		t.Error("EncodeError(nil)")
	}
}

func TestDecodeError(t *testing.T) {
	tests := []struct {
		status  int
		body    string
		kind    llm.Kind
		utype   string
		message string
		relay   bool
	}{
		{529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"r"}`, llm.KindOverloaded, "overloaded_error", "Overloaded", true},
		{400, `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}`, llm.KindInvalidRequest, "invalid_request_error", "max_tokens: Field required", true},
		{401, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`, llm.KindAuthentication, "authentication_error", "invalid x-api-key", true},
		{403, `{"type":"error","error":{"type":"permission_error","message":"no"}}`, llm.KindPermission, "permission_error", "no", true},
		{404, `{"type":"error","error":{"type":"not_found_error","message":"model: x"}}`, llm.KindNotFound, "not_found_error", "model: x", true},
		{413, `{"type":"error","error":{"type":"request_too_large","message":"too big"}}`, llm.KindTooLarge, "request_too_large", "too big", true},
		{429, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`, llm.KindRateLimit, "rate_limit_error", "slow down", true},
		{500, `{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`, llm.KindUpstream, "api_error", "Internal server error", true},
		{504, `{"type":"error","error":{"type":"timeout_error","message":"timeout"}}`, llm.KindTimeout, "timeout_error", "timeout", true},
		{502, `<html>Bad Gateway</html>`, llm.KindUpstream, "", "upstream returned HTTP 502", false},
		{503, ``, llm.KindOverloaded, "", "upstream returned HTTP 503", false},
		{0, `{"type":"error","error":{"type":"rate_limit_error","message":"r"}}`, llm.KindRateLimit, "rate_limit_error", "r", true},
		{200, `{"type":"error","error":{"type":"billing_error","message":"credit"}}`, llm.KindPermission, "billing_error", "credit", true},
	}
	for _, tt := range tests {
		e := DecodeError(tt.status, []byte(tt.body))
		if e.Kind != tt.kind || e.UpstreamType != tt.utype || e.Message != tt.message {
			t.Errorf("%d %s: got kind %s type %q message %q", tt.status, tt.body, e.Kind, e.UpstreamType, e.Message)
		}
		if tt.status >= 400 && e.HTTPStatus() != tt.status {
			t.Errorf("%d: status %d", tt.status, e.HTTPStatus())
		}
		if relayed := e.BodyDialect == llm.DialectAnthropic && string(e.Body) == tt.body; relayed != tt.relay {
			t.Errorf("%d %s: relay %v", tt.status, tt.body, relayed)
		}
	}
}

func TestDecodeResponseErrors(t *testing.T) {
	for _, bad := range []string{``, `{"id":`, `[]`, `"x"`} {
		_, err := DecodeResponse([]byte(bad))
		if e := llm.AsError(err); e.Kind != llm.KindUpstream || e.HTTPStatus() != 502 {
			t.Errorf("DecodeResponse(%q) = %v", bad, err)
		}
	}
}

func TestEncodeResponseSynthesisedID(t *testing.T) {
	out := EncodeResponse(&llm.Response{Model: "gpt-4o", Content: []llm.Part{
		llm.TextPart(""), {Type: llm.PartImage}, {Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "call.1", Name: "f", Arguments: "not json"}},
	}, StopReason: llm.StopSequence, Usage: llm.Usage{InputTokens: 5, CacheReadTokens: 9}})
	got := randomID.ReplaceAllString(string(out), "msg_RANDOM")
	want := `{"id":"msg_RANDOM","type":"message","role":"assistant","model":"gpt-4o","content":[{"type":"tool_use","id":"call_1","name":"f","input":{}}],` +
		`"stop_reason":"stop_sequence","stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":9,"output_tokens":0}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// A stream that only ends when its reader fails (a cancelled request).
type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestStreamDecoderReadErrors(t *testing.T) {
	tests := []struct {
		err  error
		kind llm.Kind
	}{
		{errors.New("connection reset"), llm.KindUpstream},
		{errDeadline{}, llm.KindTimeout},
	}
	for _, tt := range tests {
		s := NewStreamDecoder(io.NopCloser(failingReader{tt.err}), false)
		_, err := s.Next()
		e := llm.AsError(err)
		if e.Kind != tt.kind || !errors.Is(err, tt.err) {
			t.Errorf("%v: got %v (kind %s)", tt.err, err, e.Kind)
		}
		// The error is sticky.
		if _, err2 := s.Next(); err2 != err {
			t.Errorf("second Next: %v", err2)
		}
	}
}

type errDeadline struct{}

func (errDeadline) Error() string   { return "deadline" }
func (errDeadline) Is(e error) bool { return e.Error() == "context deadline exceeded" }
func (errDeadline) Timeout() bool   { return true }

func TestStreamDecoderAfterEOF(t *testing.T) {
	body := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\n"
	s := NewStreamDecoder(io.NopCloser(strings.NewReader(body)), false)
	var types []llm.EventType
	for {
		ev, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, ev.Type)
	}
	if len(types) != 2 || types[0] != llm.EventStart || types[1] != llm.EventFinish {
		t.Errorf("events %v", types)
	}
	if _, err := s.Next(); err != io.EOF {
		t.Errorf("after EOF: %v", err)
	}
}

func TestStreamEncoderUsageBeforeFinish(t *testing.T) {
	enc := NewStreamEncoder(&llm.Request{Model: "m"})
	var out []byte
	out = enc.Encode(out, llm.Event{Type: llm.EventStart, ID: "msg_1"})
	out = enc.Encode(out, llm.Event{Type: llm.EventUsage, Usage: &llm.Usage{InputTokens: 3, OutputTokens: 4}})
	if strings.Contains(string(out), "message_delta") {
		t.Fatal("message_delta before the finish")
	}
	out = enc.Encode(out, llm.Event{Type: llm.EventFinish, StopReason: llm.StopMaxTokens})
	if !strings.Contains(string(out), `"delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"input_tokens":3,`) {
		t.Errorf("got %s", out)
	}
	if len(enc.Finish(nil)) != 0 {
		t.Error("Finish after the end wrote more")
	}
}

// Keep allocation in check on the hot path: decoding and re-encoding a
// Claude-Code-sized request.
func BenchmarkDecodeEncodeRequest(b *testing.B) {
	body := bigRequest()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req, err := DecodeMessagesRequest(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := EncodeMessagesRequest(req, llm.ModelInfo{MaxOutput: 64000, Reasoning: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStreamDecode(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":5}}}\n\n")
	sb.WriteString("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
	for range 500 {
		sb.WriteString("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hello world \"}}\n\n")
	}
	sb.WriteString("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":1000}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	body := sb.String()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var out []byte
	for b.Loop() {
		s := NewStreamDecoder(io.NopCloser(strings.NewReader(body)), false)
		enc := NewStreamEncoder(&llm.Request{Model: "m"})
		out = out[:0]
		for {
			ev, err := s.Next()
			if err != nil {
				break
			}
			out = enc.Encode(out, ev)
		}
		out = enc.Finish(out)
	}
}

func bigRequest() []byte {
	var sb strings.Builder
	sb.WriteString(`{"model":"claude-sonnet-4-5","max_tokens":32000,"stream":true,"system":[{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}}],"tools":[`)
	for i := range 20 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"name":"tool` + strings.Repeat("x", i) + `","description":"` + strings.Repeat("Does things. ", 80) + `","input_schema":{"type":"object","properties":{"a":{"type":"string","description":"the a"},"b":{"type":"integer"}},"required":["a"],"$schema":"http://json-schema.org/draft-07/schema#"}}`)
	}
	sb.WriteString(`],"messages":[`)
	for i := range 40 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"role":"user","content":[{"type":"text","text":"` + strings.Repeat("please fix it \\n", 40) + `"}]},`)
		sb.WriteString(`{"role":"assistant","content":[{"type":"text","text":"ok"},{"type":"tool_use","id":"toolu_` + strings.Repeat("a", i+1) + `","name":"tool","input":{"a":"x","b":1}}]},`)
		sb.WriteString(`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_` + strings.Repeat("a", i+1) + `","content":"` + strings.Repeat("line of output\\n", 30) + `"}]},`)
		sb.WriteString(`{"role":"assistant","content":"done"}`)
	}
	sb.WriteString(`]}`)
	return []byte(sb.String())
}
