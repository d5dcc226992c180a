package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/dialect/dialecttest"
	"github.com/tidegate/tidegate/internal/llm"
)

// golden compares got with testdata/name.golden (go test -update rewrites it).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	dialecttest.CheckGolden(t, filepath.Join("testdata", name+".golden"), got)
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// prune drops null, "", 0, false and empty containers from a decoded JSON
// value, so canonical values render compactly.
func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			e = prune(e)
			if isZero(e) {
				delete(x, k)
			} else {
				x[k] = e
			}
		}
		return x
	case []any:
		for i := range x {
			x[i] = prune(x[i])
		}
		return x
	}
	return v
}

func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case float64:
		return x == 0
	case json.Number:
		return x == "0"
	case bool:
		return !x
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// render renders a canonical value as pruned, indented JSON.
func render(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var x any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&x); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(prune(x)); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func section(out []byte, title string, body []byte) []byte {
	out = append(out, "=== "+title+" ===\n"...)
	return append(out, body...)
}

func canonicalRequest(t *testing.T, r *llm.Request) []byte {
	t.Helper()
	c := *r
	c.Source = llm.Source{Dialect: r.Source.Dialect}
	return render(t, c)
}

var (
	infoPlain     = llm.ModelInfo{}
	infoReasoning = llm.ModelInfo{Reasoning: true, MaxOutput: 100000}
	infoClamp     = llm.ModelInfo{MaxOutput: 16384}
)

func TestGoldenChatRequests(t *testing.T) {
	cases := []struct {
		golden, input string
		info          llm.ModelInfo
	}{
		{"chat_system_developer", "chat_system_developer.json", infoPlain},
		{"chat_images", "chat_images.json", infoPlain},
		{"chat_tools_auto", "chat_tools_auto.json", infoPlain},
		{"chat_tool_choice_none", "chat_tool_choice_none.json", infoPlain},
		{"chat_tool_choice_required", "chat_tool_choice_required.json", infoPlain},
		{"chat_tool_choice_function", "chat_tool_choice_function.json", infoPlain},
		{"chat_tool_history", "chat_tool_history.json", infoPlain},
		{"chat_response_format", "chat_response_format.json", infoPlain},
		{"chat_reasoning_on", "chat_reasoning.json", infoReasoning},
		{"chat_reasoning_off", "chat_reasoning.json", infoPlain},
		{"chat_max_clamp", "chat_max_clamp.json", infoClamp},
		{"chat_stop_string", "chat_stop_string.json", infoPlain},
		{"chat_stop_array", "chat_stop_array.json", infoPlain},
	}
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			body := readTestdata(t, tc.input)
			req, err := DecodeChatRequest(body)
			if err != nil {
				t.Fatal(err)
			}
			if req.Source.Dialect != llm.DialectOpenAI || !bytes.Equal(req.Source.Body, body) {
				t.Fatal("Source not set")
			}
			up, err := EncodeChatRequest(req, tc.info)
			if err != nil {
				t.Fatal(err)
			}
			out := section(nil, "canonical", canonicalRequest(t, req))
			out = section(out, "upstream", dialecttest.Indent(t, up))
			golden(t, tc.golden, out)

			// The lazy request decodes to the same thing.
			lazy, err := NewLazyChatRequest(body)
			if err != nil {
				t.Fatal(err)
			}
			if lazy.Decoded() || lazy.Model != req.Model || lazy.Stream != req.Stream || lazy.IncludeUsage != req.IncludeUsage {
				t.Fatalf("lazy envelope %+v", lazy)
			}
			if err := lazy.Decode(); err != nil {
				t.Fatal(err)
			}
			if got, want := canonicalRequest(t, lazy), canonicalRequest(t, req); !bytes.Equal(got, want) {
				t.Errorf("lazy decode differs:\n%s\nvs\n%s", got, want)
			}
		})
	}
}

func TestGoldenCompletionRequests(t *testing.T) {
	for _, name := range []string{"completion_basic", "completion_array"} {
		t.Run(name, func(t *testing.T) {
			req, err := DecodeCompletionRequest(readTestdata(t, name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if req.Op != llm.OpCompletion {
				t.Fatal("Op not OpCompletion")
			}
			up, err := EncodeCompletionRequest(req, infoPlain)
			if err != nil {
				t.Fatal(err)
			}
			chat, err := EncodeChatRequest(req, infoPlain)
			if err != nil {
				t.Fatal(err)
			}
			out := section(nil, "canonical", canonicalRequest(t, req))
			out = section(out, "upstream completions", dialecttest.Indent(t, up))
			out = section(out, "upstream chat", dialecttest.Indent(t, chat))
			golden(t, name, out)
		})
	}
}

// Canonical requests as other dialects produce them, encoded for OpenAI.
func TestGoldenEncodeCanonical(t *testing.T) {
	cases := []struct {
		name string
		info llm.ModelInfo
	}{
		{"encode_canonical_mixed", infoPlain},
		{"encode_budget", infoReasoning},
		{"encode_adaptive", infoReasoning},
		{"encode_completion_op", infoPlain},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var req llm.Request
			if err := json.Unmarshal(readTestdata(t, tc.name+".json"), &req); err != nil {
				t.Fatal(err)
			}
			up, err := EncodeChatRequest(&req, tc.info)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, dialecttest.Indent(t, up))
		})
	}
}

func TestGoldenResponses(t *testing.T) {
	for _, name := range []string{"resp_chat_tools", "resp_deepseek_reasoning", "resp_text_completion", "resp_vllm_stop"} {
		t.Run(name, func(t *testing.T) {
			resp, err := DecodeResponse(readTestdata(t, name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			out := section(nil, "canonical", render(t, resp))
			out = section(out, "caller", dialecttest.Indent(t, EncodeResponse(resp)))
			golden(t, name, out)
		})
	}
}

func TestGoldenEmbeddings(t *testing.T) {
	for _, name := range []string{"embed_req_strings", "embed_req_single", "embed_req_tokens"} {
		t.Run(name, func(t *testing.T) {
			body := readTestdata(t, name+".json")
			req, err := DecodeEmbedRequest(body)
			if err != nil {
				t.Fatal(err)
			}
			up, err := EncodeEmbedRequest(req)
			if err != nil {
				t.Fatal(err)
			}
			c := *req
			c.Source = llm.Source{Dialect: req.Source.Dialect}
			out := section(nil, "canonical", render(t, c))
			out = section(out, "upstream", dialecttest.Indent(t, up))
			golden(t, name, out)
		})
	}
	for _, name := range []string{"embed_resp_float", "embed_resp_base64"} {
		t.Run(name, func(t *testing.T) {
			body := readTestdata(t, name+".json")
			resp, err := DecodeEmbedResponse(body)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(EncodeEmbedResponse(resp, "float"), body) {
				t.Error("Raw OpenAI body not relayed unchanged")
			}
			c := *resp
			c.Raw, c.RawDialect = nil, ""
			out := section(nil, "canonical", render(t, c))
			out = section(out, "caller float", dialecttest.Indent(t, EncodeEmbedResponse(&c, "float")))
			out = section(out, "caller base64", dialecttest.Indent(t, EncodeEmbedResponse(&c, "base64")))
			golden(t, name, out)

			// base64 round trip
			back, err := DecodeEmbedResponse(EncodeEmbedResponse(&c, "base64"))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := render(t, back.Embeddings), render(t, c.Embeddings); !bytes.Equal(got, want) {
				t.Errorf("base64 round trip: %s vs %s", got, want)
			}
		})
	}
}

func TestGoldenRewrite(t *testing.T) {
	for _, name := range []string{"rewrite_passthrough", "rewrite_null_options", "rewrite_options_false"} {
		t.Run(name, func(t *testing.T) {
			body := readTestdata(t, name+".json")
			orig := bytes.Clone(body)
			out, err := RewriteRequest(body, "gpt-4o-mini-2024-07-18", true)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(body, orig) {
				t.Fatal("RewriteRequest modified its input")
			}
			noStream, err := RewriteRequest(body, "gpt-4o-mini-2024-07-18", false)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name, append(append(bytes.Clone(out), "=== no stream ===\n"...), noStream...))
		})
	}
	// Nothing to change: the same bytes come back.
	body := []byte(`{"model":"m","stream":true,"stream_options":{"include_usage":true}}`)
	out, err := RewriteRequest(body, "m", true)
	if err != nil || !bytes.Equal(out, body) {
		t.Fatalf("%s %v", out, err)
	}
}

// eventLine renders one event as a compact JSON line.
func eventLine(t *testing.T, ev llm.Event) []byte {
	t.Helper()
	names := map[llm.EventType]string{
		0: "raw", llm.EventStart: "start", llm.EventBlockStart: "block_start", llm.EventDelta: "delta",
		llm.EventBlockStop: "block_stop", llm.EventFinish: "finish", llm.EventUsage: "usage",
		llm.EventPing: "ping", llm.EventResponse: "response",
	}
	view := map[string]any{
		"type": names[ev.Type], "id": ev.ID, "model": ev.Model, "part": ev.Part, "text": ev.Text,
		"signature": ev.Signature, "stop_reason": ev.StopReason, "stop_sequence": ev.StopSequence,
		"usage": ev.Usage, "raw": string(ev.Raw), "raw_dialect": ev.RawDialect,
	}
	switch ev.Type {
	case llm.EventBlockStart, llm.EventDelta, llm.EventBlockStop:
		view["index"] = ev.Index
	}
	b, err := json.Marshal(view)
	if err != nil {
		t.Fatal(err)
	}
	var x any
	_ = json.Unmarshal(b, &x)
	x = prune(x)
	if m := x.(map[string]any); ev.Type == llm.EventBlockStart || ev.Type == llm.EventDelta || ev.Type == llm.EventBlockStop {
		m["index"] = ev.Index
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(x); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// drain reads a stream to its end, returning the events and the final error.
func drain(t *testing.T, s llm.Stream) ([]llm.Event, error) {
	t.Helper()
	var evs []llm.Event
	for i := 0; i < 10000; i++ {
		ev, err := s.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
	t.Fatal("stream does not end")
	return nil, nil
}

type closeRecorder struct {
	io.Reader
	closed int
}

func (c *closeRecorder) Close() error { c.closed++; return nil }

var fixedNow = func() time.Time { return time.Unix(1700000000, 0) }

func newTestEncoder(op llm.Operation, includeUsage bool) *StreamEncoder {
	enc := NewStreamEncoder(&llm.Request{Op: op, Model: "public-model", Stream: true, IncludeUsage: includeUsage})
	enc.now = fixedNow
	return enc
}

func TestGoldenStreamDecode(t *testing.T) {
	for _, name := range []string{"stream_tools_interleaved", "stream_reasoning", "stream_completion", "stream_cut", "stream_error"} {
		t.Run(name, func(t *testing.T) {
			input := readTestdata(t, name+".sse")
			body := &closeRecorder{Reader: bytes.NewReader(input)}
			s := NewStreamDecoder(body, false)
			evs, err := drain(t, s)
			var out []byte
			out = append(out, "=== events ===\n"...)
			for _, ev := range evs {
				out = append(out, eventLine(t, ev)...)
			}
			out = append(out, "=== end ===\n"...)
			var lerr *llm.Error
			switch {
			case err == io.EOF:
				out = append(out, "EOF\n"...)
			case errors.As(err, &lerr):
				out = append(out, render(t, map[string]any{
					"kind": lerr.Kind.String(), "message": lerr.Message, "upstream_type": lerr.UpstreamType, "code": lerr.Code,
				})...)
			default:
				t.Fatalf("unexpected error %T %v", err, err)
			}
			// Re-encoded for an OpenAI caller (translation path, usage asked).
			op := llm.OpChat
			if strings.Contains(name, "completion") {
				op = llm.OpCompletion
			}
			enc := newTestEncoder(op, true)
			var sse []byte
			for _, ev := range evs {
				sse = enc.Encode(sse, ev)
			}
			if err == io.EOF {
				sse = enc.Finish(sse)
			} else {
				sse = enc.Error(sse, lerr)
			}
			out = section(out, "re-encoded", sse)
			golden(t, name, out)

			if err := s.Close(); err != nil || body.closed != 1 {
				t.Fatalf("Close: %v, body closed %d times", err, body.closed)
			}
			_ = s.Close()
			if body.closed != 1 {
				t.Fatal("second Close closed the body again")
			}
		})
	}
}

// In raw mode the passthrough encoder reproduces the upstream bytes, minus
// the usage chunk when the caller did not ask for usage, and the canonical
// events are the same as without raw.
func TestStreamRawPassthrough(t *testing.T) {
	for _, name := range []string{"stream_tools_interleaved", "stream_reasoning", "stream_completion"} {
		t.Run(name, func(t *testing.T) {
			input := readTestdata(t, name+".sse")
			plain, err := drain(t, NewStreamDecoder(io.NopCloser(bytes.NewReader(input)), false))
			if err != io.EOF {
				t.Fatal(err)
			}
			raw, err := drain(t, NewStreamDecoder(io.NopCloser(bytes.NewReader(input)), true))
			if err != io.EOF {
				t.Fatal(err)
			}
			var canon []llm.Event
			for _, ev := range raw {
				if ev.RawDialect != llm.DialectOpenAI {
					t.Fatalf("raw event without RawDialect: %+v", ev)
				}
				if ev.Type != 0 {
					ev.Raw, ev.RawDialect = nil, ""
					canon = append(canon, ev)
				}
			}
			var a, b []byte
			for _, ev := range plain {
				a = append(a, eventLine(t, ev)...)
			}
			for _, ev := range canon {
				b = append(b, eventLine(t, ev)...)
			}
			if !bytes.Equal(a, b) {
				t.Fatalf("raw mode changes the events:\n%s\nvs\n%s", b, a)
			}

			// Expected output: the input's frames without comments.
			var frames []string
			for _, f := range strings.SplitAfter(string(input), "\n\n") {
				if strings.HasPrefix(f, ":") || f == "" {
					continue
				}
				frames = append(frames, f)
			}
			for _, includeUsage := range []bool{true, false} {
				enc := newTestEncoder(llm.OpChat, includeUsage)
				var got []byte
				for _, ev := range raw {
					got = enc.Encode(got, ev)
				}
				got = enc.Finish(got)
				var want string
				for _, f := range frames {
					if !includeUsage && strings.Contains(f, `"choices":[]`) {
						continue
					}
					want += f
				}
				if string(got) != want {
					t.Errorf("includeUsage=%v passthrough:\n%s\nwant:\n%s", includeUsage, got, want)
				}
			}
		})
	}
}

func TestGoldenStreamEncode(t *testing.T) {
	cases := []struct {
		name, input  string
		op           llm.Operation
		includeUsage bool
	}{
		{"encode_stream_usage", "events_anthropic_like.json", llm.OpChat, true},
		{"encode_stream_no_usage", "events_anthropic_like.json", llm.OpChat, false},
		{"encode_stream_completion", "events_completion.json", llm.OpCompletion, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var evs []llm.Event
			if err := json.Unmarshal(readTestdata(t, tc.input), &evs); err != nil {
				t.Fatal(err)
			}
			enc := newTestEncoder(tc.op, tc.includeUsage)
			var out []byte
			for _, ev := range evs {
				out = enc.Encode(out, ev)
			}
			out = enc.Finish(out)
			checkFrames(t, out)
			golden(t, tc.name, out)

			// Decoding our own output gives back the content.
			back, err := drain(t, NewStreamDecoder(io.NopCloser(bytes.NewReader(out)), false))
			if err != io.EOF {
				t.Fatal(err)
			}
			var text, args strings.Builder
			for _, ev := range back {
				if ev.Type == llm.EventDelta {
					text.WriteString(ev.Text)
				}
			}
			for _, ev := range evs {
				if ev.Type == llm.EventDelta {
					args.WriteString(ev.Text)
				}
			}
			if text.String() != args.String() {
				t.Errorf("round trip text %q, want %q", text.String(), args.String())
			}
		})
	}
}

// checkFrames asserts every frame is "data: <valid JSON or [DONE]>\n\n".
func checkFrames(t *testing.T, out []byte) {
	t.Helper()
	s := string(out)
	if !strings.HasSuffix(s, "data: [DONE]\n\n") {
		t.Fatalf("stream does not end with [DONE]:\n%s", s)
	}
	for _, f := range strings.Split(strings.TrimSuffix(s, "\n\n"), "\n\n") {
		data, ok := strings.CutPrefix(f, "data: ")
		if !ok || strings.Contains(data, "\n") {
			t.Fatalf("bad frame %q", f)
		}
		if data != "[DONE]" && !json.Valid([]byte(data)) {
			t.Fatalf("invalid JSON frame %q", data)
		}
	}
}

func TestStreamEncodeResponseEvent(t *testing.T) {
	resp, err := DecodeResponse(readTestdata(t, "resp_chat_tools.json"))
	if err != nil {
		t.Fatal(err)
	}
	enc := newTestEncoder(llm.OpChat, true)
	out := enc.Encode(nil, llm.Event{Type: llm.EventResponse, Response: resp})
	out = enc.Finish(out)
	checkFrames(t, out)
	golden(t, "encode_stream_response_event", out)
}
