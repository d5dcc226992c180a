package cohere

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

var update = flag.Bool("update", false, "rewrite the *.golden files from the current output")

// Random parts of synthesised IDs are replaced so golden files are stable.
var (
	reMessageID = regexp.MustCompile(`cohere-[0-9a-f]{24}`)
	reCallID    = regexp.MustCompile(`call_([0-9]+)_[0-9a-f]{8}`)
)

func normalizeIDs(b []byte) []byte {
	b = reMessageID.ReplaceAll(b, []byte("cohere-ID"))
	return reCallID.ReplaceAll(b, []byte("call_${1}_HEX"))
}

func checkGolden(t *testing.T, path string, got []byte) {
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

func inputs(t *testing.T, dir, ext string) map[string]string {
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

func renderError(err error) []byte {
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

func indent(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, b)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

type requestCase struct {
	Request llm.Request   `json:"request"`
	Info    llm.ModelInfo `json:"info"`
}

func TestEncodeRequestGolden(t *testing.T) {
	for in, golden := range inputs(t, "request", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var c requestCase
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&c); err != nil {
				t.Fatalf("bad test input: %v", err)
			}
			body, err := EncodeRequest(&c.Request, c.Info)
			var got []byte
			if err != nil {
				got = renderError(err)
			} else {
				got = indent(t, body)
			}
			checkGolden(t, golden, got)
		})
	}
}

// responseView is a compact, stable view of a canonical response.
func responseView(t *testing.T, r *llm.Response) []byte {
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
	return indent(t, mustJSON(t, v))
}

func TestDecodeResponseGolden(t *testing.T) {
	for in, golden := range inputs(t, "response", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			r, err := DecodeResponse(raw)
			var got []byte
			if err != nil {
				got = renderError(err)
			} else {
				got = normalizeIDs(responseView(t, r))
			}
			checkGolden(t, golden, got)
		})
	}
}

var eventNames = map[llm.EventType]string{
	llm.EventStart: "start", llm.EventBlockStart: "block_start", llm.EventDelta: "delta",
	llm.EventBlockStop: "block_stop", llm.EventFinish: "finish", llm.EventUsage: "usage",
}

func TestStreamDecoderGolden(t *testing.T) {
	for in, golden := range inputs(t, "stream", ".sse") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			if err := checkStream(NewStreamDecoder(io.NopCloser(bytes.NewReader(raw)))); err != nil {
				t.Errorf("stream contract: %v", err)
			}
			s := NewStreamDecoder(io.NopCloser(bytes.NewReader(raw)))
			defer s.Close()
			var out bytes.Buffer
			for {
				ev, err := s.Next()
				if err == io.EOF {
					out.WriteString("EOF\n")
					break
				}
				if err != nil {
					out.Write(renderError(err))
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
			checkGolden(t, golden, normalizeIDs(out.Bytes()))
		})
	}
}
