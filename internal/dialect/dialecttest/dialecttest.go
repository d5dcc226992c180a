// Package dialecttest holds what the upstream dialects' golden and fuzz
// tests share: golden files (go test -update rewrites them), the canonical
// stream contract, and compact views of responses and streams.
package dialecttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

var update = flag.Bool("update", false, "rewrite the *.golden files from the current output")

// CheckGolden compares got with the golden file at path.
func CheckGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// Inputs maps testdata/<dir>/*<ext> to their .golden files.
func Inputs(t *testing.T, dir, ext string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*"+ext))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata in %s (%v)", dir, err)
	}
	out := map[string]string{}
	for _, f := range files {
		out[f] = strings.TrimSuffix(f, ext) + ".golden"
	}
	return out
}

// RenderError is an error as a golden line.
func RenderError(err error) []byte {
	var e *llm.Error
	if !errors.As(err, &e) {
		return []byte(fmt.Sprintf("error (not *llm.Error): %v\n", err))
	}
	s := fmt.Sprintf("error: kind=%s status=%d", e.Kind, e.HTTPStatus())
	if e.Param != "" {
		s += " param=" + e.Param
	}
	return []byte(s + " message=" + e.Message + "\n")
}

// Indent pretty-prints JSON output.
func Indent(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, b)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// MustJSON encodes v without HTML escaping.
func MustJSON(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// RequestCase is a request golden input: a canonical request and the
// target model's info.
type RequestCase struct {
	Request llm.Request   `json:"request"`
	Info    llm.ModelInfo `json:"info"`
}

// EncodeRequestGolden runs encode over testdata/request/*.json.
func EncodeRequestGolden(t *testing.T, encode func(*llm.Request, llm.ModelInfo) ([]byte, error)) {
	for in, golden := range Inputs(t, "request", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var c RequestCase
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&c); err != nil {
				t.Fatalf("bad test input: %v", err)
			}
			body, err := encode(&c.Request, c.Info)
			var got []byte
			if err != nil {
				got = RenderError(err)
			} else {
				got = Indent(t, body)
			}
			CheckGolden(t, golden, got)
		})
	}
}

// ResponseView is a compact, stable view of a canonical response.
func ResponseView(t *testing.T, r *llm.Response) []byte {
	t.Helper()
	type part struct {
		Type      string `json:"type"`
		Text      string `json:"text,omitempty"`
		Signature string `json:"signature,omitempty"`
		ID        string `json:"id,omitempty"`
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments,omitempty"`
	}
	v := struct {
		ID         string    `json:"id"`
		Model      string    `json:"model"`
		Content    []part    `json:"content"`
		StopReason string    `json:"stop_reason"`
		Usage      llm.Usage `json:"usage"`
	}{ID: r.ID, Model: r.Model, StopReason: string(r.StopReason), Usage: r.Usage}
	for _, p := range r.Content {
		pv := part{Type: string(p.Type), Text: p.Text, Signature: p.Signature}
		if p.ToolCall != nil {
			pv.ID, pv.Name, pv.Arguments = p.ToolCall.ID, p.ToolCall.Name, p.ToolCall.Arguments
		}
		v.Content = append(v.Content, pv)
	}
	return Indent(t, MustJSON(t, v))
}

// DecodeResponseGolden runs decode over testdata/response/*.json.
func DecodeResponseGolden(t *testing.T, decode func([]byte) (*llm.Response, error), normalize func([]byte) []byte) {
	for in, golden := range Inputs(t, "response", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			r, err := decode(raw)
			var got []byte
			if err != nil {
				got = RenderError(err)
			} else {
				got = normalize(ResponseView(t, r))
			}
			CheckGolden(t, golden, got)
		})
	}
}

var eventNames = map[llm.EventType]string{
	llm.EventStart: "start", llm.EventBlockStart: "block_start", llm.EventDelta: "delta",
	llm.EventBlockStop: "block_stop", llm.EventFinish: "finish", llm.EventUsage: "usage",
}

// StreamDecoderGolden runs decoder over testdata/stream/*<ext>: the
// stream contract, then one golden line per event.
func StreamDecoderGolden(t *testing.T, ext string, decoder func(io.ReadCloser) llm.Stream, normalize func([]byte) []byte) {
	for in, golden := range Inputs(t, "stream", ext) {
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckStream(decoder(io.NopCloser(bytes.NewReader(raw)))); err != nil {
				t.Errorf("stream contract: %v", err)
			}
			s := decoder(io.NopCloser(bytes.NewReader(raw)))
			defer s.Close()
			var out bytes.Buffer
			for {
				ev, err := s.Next()
				if err == io.EOF {
					out.WriteString("EOF\n")
					break
				}
				if err != nil {
					out.Write(RenderError(err))
					break
				}
				line := eventNames[ev.Type]
				switch ev.Type {
				case llm.EventStart:
					line += fmt.Sprintf(" id=%s model=%s", ev.ID, ev.Model)
				case llm.EventBlockStart:
					line += fmt.Sprintf(" %d %s", ev.Index, ev.Part.Type)
					if tc := ev.Part.ToolCall; tc != nil {
						line += fmt.Sprintf(" id=%s name=%s", tc.ID, tc.Name)
					}
				case llm.EventDelta:
					line += fmt.Sprintf(" %d %q", ev.Index, ev.Text)
					if ev.Signature != "" {
						line += " signature=" + ev.Signature
					}
				case llm.EventBlockStop:
					line += fmt.Sprintf(" %d", ev.Index)
				case llm.EventFinish:
					line += fmt.Sprintf(" %s usage=%+v", ev.StopReason, *ev.Usage)
				}
				out.WriteString(line + "\n")
			}
			CheckGolden(t, golden, normalize(out.Bytes()))
		})
	}
}

// CheckStream drains s and reports the first broken invariant of the
// canonical stream contract: start first, sequential blocks, deltas only
// into the open block, a tool call's arguments JSON once its block stops, finish with no open block and with usage, io.EOF
// only after finish, errors as *llm.Error, and a sticky end.
func CheckStream(s llm.Stream) error {
	started, finished := false, false
	open, next := -1, 0
	var kind llm.PartType
	var args bytes.Buffer // the open tool block's arguments, streamed in pieces
	for n := 0; ; n++ {
		if n > 1<<20 {
			return errors.New("stream does not end")
		}
		ev, err := s.Next()
		if err != nil {
			if err == io.EOF {
				if !finished {
					return errors.New("io.EOF before finish")
				}
			} else {
				var e *llm.Error
				if !errors.As(err, &e) {
					return fmt.Errorf("error is not *llm.Error: %T %v", err, err)
				}
			}
			if _, again := s.Next(); again != err {
				return fmt.Errorf("end is not sticky: %v then %v", err, again)
			}
			return nil
		}
		if finished {
			return fmt.Errorf("event %d after finish", ev.Type)
		}
		if !started && ev.Type != llm.EventStart {
			return fmt.Errorf("first event is %d, not start", ev.Type)
		}
		switch ev.Type {
		case llm.EventStart:
			if started {
				return errors.New("second start")
			}
			started = true
			if ev.ID == "" {
				return errors.New("start without ID")
			}
		case llm.EventBlockStart:
			if open >= 0 || ev.Index != next || ev.Part == nil {
				return fmt.Errorf("block %d starts (open %d, next %d)", ev.Index, open, next)
			}
			kind = ev.Part.Type
			if kind == llm.PartToolCall && (ev.Part.ToolCall == nil || ev.Part.ToolCall.ID == "") {
				return errors.New("tool block without call ID")
			}
			open, next = ev.Index, next+1
		case llm.EventDelta:
			if open < 0 || ev.Index != open {
				return fmt.Errorf("delta for block %d, open %d", ev.Index, open)
			}
			if ev.Text == "" && ev.Signature == "" {
				return errors.New("empty delta")
			}
			if kind == llm.PartToolCall {
				args.WriteString(ev.Text)
			}
		case llm.EventBlockStop:
			if open < 0 || ev.Index != open {
				return fmt.Errorf("stop for block %d, open %d", ev.Index, open)
			}
			if kind == llm.PartToolCall && args.Len() > 0 && !json.Valid(args.Bytes()) {
				return fmt.Errorf("tool arguments are not JSON: %q", args.Bytes())
			}
			open = -1
			args.Reset()
		case llm.EventFinish:
			if open >= 0 {
				return fmt.Errorf("finish with block %d open", open)
			}
			if ev.StopReason == "" || ev.Usage == nil {
				return errors.New("finish without stop reason or usage")
			}
			finished = true
		default:
			return fmt.Errorf("unexpected event type %d", ev.Type)
		}
	}
}

// AddSeeds adds the files matching pattern to f's corpus.
func AddSeeds(f *testing.F, pattern string) {
	files, _ := filepath.Glob(pattern)
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
}

// FuzzDecodeResponse fuzzes decode from testdata/response/*.json and
// extra seeds: it returns an *llm.Error or a complete response whose parts
// are non-empty and whose tool calls carry an ID and a JSON object.
func FuzzDecodeResponse(f *testing.F, decode func([]byte) (*llm.Response, error), seeds ...string) {
	AddSeeds(f, "testdata/response/*.json")
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := decode(body)
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v, want *llm.Error", err, err)
			}
			return
		}
		if resp.ID == "" || resp.StopReason == "" {
			t.Fatalf("incomplete response %+v", resp)
		}
		for _, p := range resp.Content {
			switch p.Type {
			case llm.PartText:
				if p.Text == "" {
					t.Fatal("empty text part")
				}
			case llm.PartThinking:
				if p.Text == "" && p.Signature == "" {
					t.Fatal("empty thinking part")
				}
			case llm.PartToolCall:
				var obj map[string]any
				if p.ToolCall.ID == "" || json.Unmarshal([]byte(p.ToolCall.Arguments), &obj) != nil {
					t.Fatalf("bad tool call %+v", p.ToolCall)
				}
			default:
				t.Fatalf("unexpected part %s", p.Type)
			}
		}
	})
}

// FuzzStreamDecoder fuzzes decoder from testdata/stream/*<ext> and extra
// seeds against the canonical stream contract (CheckStream).
func FuzzStreamDecoder(f *testing.F, ext string, decoder func(io.ReadCloser) llm.Stream, seeds ...string) {
	AddSeeds(f, "testdata/stream/*"+ext)
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := decoder(io.NopCloser(bytes.NewReader(data)))
		if err := CheckStream(s); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzEncodeRequest fuzzes encode with a tool round trip whose text,
// arguments and parameter schema are the fuzzer's: it returns valid JSON
// or an invalid_request *llm.Error.
func FuzzEncodeRequest(f *testing.F, model string, encode func(*llm.Request, llm.ModelInfo) ([]byte, error)) {
	f.Add("hello", `{"a":1}`, `{"type":"object"}`)
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, text, args, params string) {
		req := &llm.Request{Model: model, Messages: []llm.Message{
			{Role: llm.RoleUser, Content: []llm.Part{llm.TextPart(text)}},
			{Role: llm.RoleAssistant, Content: []llm.Part{{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "1", Name: "f", Arguments: args}}}},
			{Role: llm.RoleTool, Content: []llm.Part{{Type: llm.PartToolResult, ToolResult: &llm.ToolResult{CallID: "1", Content: []llm.Part{llm.TextPart(text)}}}}},
		}, Tools: []llm.Tool{{Name: "f", Parameters: json.RawMessage(params)}}}
		body, err := encode(req, llm.ModelInfo{})
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) || e.Kind != llm.KindInvalidRequest {
				t.Fatalf("error %v, want KindInvalidRequest", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("invalid JSON: %s", body)
		}
	})
}
