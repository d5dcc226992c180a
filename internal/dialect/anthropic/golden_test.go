package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/dialect/dialecttest"
	"github.com/tidegate/tidegate/internal/llm"
)

// golden compares got with the golden file at path (go test -update
// rewrites it).
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	dialecttest.CheckGolden(t, path, got)
}

// prune drops null, empty and zero struct fields (capitalised keys), to
// keep canonical goldens short; raw JSON (lowercase keys) is kept as is.
func prune(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case bool:
		return x, x
	case float64:
		return x, x != 0
	case string:
		return x, x != ""
	case []any:
		for i, e := range x {
			x[i], _ = prune(e)
		}
		return x, len(x) > 0
	case map[string]any:
		for k, e := range x {
			if k == "" || k[0] < 'A' || k[0] > 'Z' {
				continue
			}
			if p, ok := prune(e); ok {
				x[k] = p
			} else {
				delete(x, k)
			}
		}
		return x, len(x) > 0
	}
	return v, true
}

// render shows a value as indented JSON without zero fields.
func render(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var a any
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	a, _ = prune(a)
	out, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

func renderError(t *testing.T, err error) []byte {
	t.Helper()
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *llm.Error", err)
	}
	return []byte(fmt.Sprintf("kind=%s status=%d param=%q\nmessage=%s\nbody=%s\n", e.Kind, e.HTTPStatus(), e.Param, e.Message, EncodeError(e)))
}

func canonical(t *testing.T, req *llm.Request) []byte {
	t.Helper()
	c := *req
	c.Source = llm.Source{Dialect: req.Source.Dialect}
	return render(t, &c)
}

func inputs(t *testing.T, dir, ext string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*"+ext))
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s inputs in testdata/%s", ext, dir)
	}
	return files
}

// Caller requests: decoded to canonical, then re-encoded for an upstream.
func TestDecodeRequestGolden(t *testing.T) {
	infos := map[string]llm.ModelInfo{
		"claude_code":       {MaxOutput: 64000, Reasoning: true},
		"thinking_enabled":  {MaxOutput: 32000, Reasoning: true},
		"thinking_disabled": {MaxOutput: 8192, Reasoning: true},
	}
	for _, in := range inputs(t, "requests", ".json") {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			req, err := DecodeMessagesRequest(body)
			if err != nil {
				t.Fatal(err)
			}
			if req.Source.Dialect != llm.DialectAnthropic || !bytes.Equal(req.Source.Body, body) {
				t.Error("Source not set")
			}
			golden(t, strings.TrimSuffix(in, ".json")+".canonical.golden", canonical(t, req))
			out, err := EncodeMessagesRequest(req, infos[name])
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(in, ".json")+".encoded.golden", dialecttest.Indent(t, out))

			// Re-decoding the encoded body gives the same canonical request,
			// except for what encoding normalises.
			again, err := DecodeMessagesRequest(out)
			if err != nil {
				t.Fatalf("re-decode: %v", err)
			}
			out2, err := EncodeMessagesRequest(again, infos[name])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, out2) {
				t.Errorf("encoding is not stable:\n%s\n%s", out, out2)
			}

			count, err := DecodeCountTokensRequest(body)
			if err != nil {
				t.Fatal(err)
			}
			if count.Stream || count.MaxTokens != 0 {
				t.Error("count_tokens request kept stream/max_tokens")
			}
			cb, err := EncodeCountTokensRequest(count)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(in, ".json")+".count.golden", dialecttest.Indent(t, cb))
		})
	}
}

// Canonical requests (as another dialect would decode them) encoded for an
// Anthropic upstream.
func TestEncodeRequestGolden(t *testing.T) {
	for _, in := range inputs(t, "encode", ".json") {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var c struct {
				Info    llm.ModelInfo
				Request llm.Request
			}
			if err := json.Unmarshal(body, &c); err != nil {
				t.Fatal(err)
			}
			out, err := EncodeMessagesRequest(&c.Request, c.Info)
			var got []byte
			if err != nil {
				got = renderError(t, err)
			} else {
				got = dialecttest.Indent(t, out)
			}
			golden(t, strings.TrimSuffix(in, ".json")+".golden", got)
		})
	}
}

// Upstream responses: decoded to canonical, then encoded for a caller.
func TestResponseGolden(t *testing.T) {
	for _, in := range inputs(t, "responses", ".json") {
		name := strings.TrimSuffix(in, ".json")
		t.Run(filepath.Base(name), func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := DecodeResponse(body)
			if err != nil {
				golden(t, name+".canonical.golden", renderError(t, err))
				return
			}
			golden(t, name+".canonical.golden", render(t, resp))
			golden(t, name+".encoded.golden", dialecttest.Indent(t, EncodeResponse(resp)))
		})
	}
}

var eventNames = map[string]llm.EventType{
	"start": llm.EventStart, "block_start": llm.EventBlockStart, "delta": llm.EventDelta,
	"block_stop": llm.EventBlockStop, "finish": llm.EventFinish, "usage": llm.EventUsage,
	"ping": llm.EventPing, "response": llm.EventResponse, "raw": 0,
}

func eventName(t llm.EventType) string {
	for k, v := range eventNames {
		if v == t {
			return k
		}
	}
	return fmt.Sprint(int(t))
}

// eventLine renders an event compactly, without Raw.
func eventLine(t *testing.T, ev llm.Event) string {
	t.Helper()
	ev.Raw, ev.RawDialect = nil, ""
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "Type")
	p, _ := prune(m)
	if p == nil {
		p = map[string]any{}
	}
	b, _ = json.Marshal(p)
	return eventName(ev.Type) + " " + string(b)
}

// drain reads a stream to its end, rendering each event.
func drain(t *testing.T, s llm.Stream) (lines []string, events []llm.Event, err error) {
	t.Helper()
	for i := 0; ; i++ {
		if i > 10000 {
			t.Fatal("stream does not end")
		}
		ev, err := s.Next()
		if err != nil {
			if err == io.EOF {
				return append(lines, "EOF"), events, nil
			}
			var e *llm.Error
			if !errors.As(err, &e) {
				t.Fatalf("stream error %v is not an *llm.Error", err)
			}
			return append(lines, fmt.Sprintf("error kind=%s upstream_type=%q message=%q body=%s", e.Kind, e.UpstreamType, e.Message, e.Body)), events, err
		}
		lines = append(lines, eventLine(t, ev))
		events = append(events, ev)
	}
}

type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

// Upstream streams: decoded (canonical events golden), re-encoded for an
// Anthropic caller from canonical events (golden), and passed through raw
// (must reproduce the upstream bytes).
func TestStreamDecodeGolden(t *testing.T) {
	for _, in := range inputs(t, "streams", ".sse") {
		name := strings.TrimSuffix(in, ".sse")
		t.Run(filepath.Base(name), func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			cc := &closeCounter{Reader: bytes.NewReader(body)}
			s := NewStreamDecoder(cc, false)
			lines, events, serr := drain(t, s)
			if err := s.Close(); err != nil || s.Close() != nil || cc.closed != 1 {
				t.Errorf("Close: err %v, closed %d times", err, cc.closed)
			}
			golden(t, name+".events.golden", []byte(strings.Join(lines, "\n")+"\n"))

			// Canonical events → Anthropic caller.
			enc := NewStreamEncoder(&llm.Request{Model: "caller-model"})
			var out []byte
			for _, ev := range events {
				out = enc.Encode(out, ev)
			}
			if serr != nil {
				out = enc.Error(out, llm.AsError(serr))
			} else {
				out = enc.Finish(out)
			}
			checkSSE(t, out)
			golden(t, name+".reencoded.golden", out)

			// Raw passthrough reproduces the upstream's frames exactly.
			s = NewStreamDecoder(io.NopCloser(bytes.NewReader(body)), true)
			_, rawEvents, rerr := drain(t, s)
			if (rerr == nil) != (serr == nil) {
				t.Fatalf("raw mode error %v, canonical mode error %v", rerr, serr)
			}
			enc = NewStreamEncoder(&llm.Request{Model: "caller-model"})
			out = out[:0]
			for _, ev := range rawEvents {
				if ev.Raw == nil || ev.RawDialect != llm.DialectAnthropic {
					t.Fatalf("raw mode event without Raw: %s", eventLine(t, ev))
				}
				out = enc.Encode(out, ev)
			}
			if rerr != nil {
				return
			}
			out = enc.Finish(out)
			want := strings.ReplaceAll(string(body), "\r\n", "\n")
			want = regexp.MustCompile(`(?m)^:.*\n\n`).ReplaceAllString(want, "")
			if string(out) != want {
				t.Errorf("raw passthrough differs:\n%s\n--- want:\n%s", out, want)
			}
		})
	}
}

var randomID = regexp.MustCompile(`msg_[A-Z2-7]{26}`)

// checkSSE checks that every data line of an encoded stream is valid JSON.
func checkSSE(t *testing.T, out []byte) {
	t.Helper()
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n\n")) {
		t.Errorf("stream does not end with a blank line: %q", out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if data, ok := strings.CutPrefix(line, "data: "); ok && !json.Valid([]byte(data)) {
			t.Errorf("invalid JSON data line: %s", line)
		}
	}
}

// Canonical events (as other dialects' decoders produce them) encoded for
// an Anthropic caller.
func TestStreamEncodeGolden(t *testing.T) {
	for _, in := range inputs(t, "encode_streams", ".json") {
		name := strings.TrimSuffix(in, ".json")
		t.Run(filepath.Base(name), func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var c struct {
				Model  string
				Events []struct {
					T string
					llm.Event
				}
				Finish bool
				Error  *llm.Error
			}
			if err := json.Unmarshal(body, &c); err != nil {
				t.Fatal(err)
			}
			enc := NewStreamEncoder(&llm.Request{Model: c.Model})
			var out []byte
			for _, e := range c.Events {
				ev := e.Event
				typ, ok := eventNames[e.T]
				if !ok {
					t.Fatalf("unknown event %q", e.T)
				}
				ev.Type = typ
				out = enc.Encode(out, ev)
			}
			if c.Error != nil {
				out = enc.Error(out, c.Error)
			}
			if c.Finish {
				out = enc.Finish(out)
				if again := enc.Finish(nil); len(again) != 0 {
					t.Errorf("second Finish wrote %q", again)
				}
			}
			checkSSE(t, out)
			if n := strings.Count(string(out), "event: message_stop"); n > 1 {
				t.Errorf("%d message_stop events", n)
			}
			golden(t, name+".golden", randomID.ReplaceAll(out, []byte("msg_RANDOM")))
		})
	}
}
