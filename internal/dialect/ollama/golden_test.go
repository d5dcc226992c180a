package ollama

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/tidegate/tidegate/internal/dialect/dialecttest"
	"github.com/tidegate/tidegate/internal/llm"
)

// Random parts of synthesised IDs are replaced so golden files are stable.
var (
	reMessageID = regexp.MustCompile(`ollama-[0-9a-f]{24}`)
	reCallID    = regexp.MustCompile(`call_([0-9]+)_[0-9a-f]{8}`)
)

func normalizeIDs(b []byte) []byte {
	b = reMessageID.ReplaceAll(b, []byte("ollama-ID"))
	return reCallID.ReplaceAll(b, []byte("call_${1}_HEX"))
}

// checkGolden compares got with path, or rewrites path under -update.
// inputs lists testdata/<dir>/*<ext>, with the golden path of each.
// Views of the canonical types, compact and stable for golden files.

type partView struct {
	Type      string `json:"type"`
	Text      string `json:"text,omitempty"`
	ID        string `json:"id,omitempty"`
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments,omitempty"`
}

type usageView struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
}

type responseView struct {
	ID         string     `json:"id"`
	Model      string     `json:"model"`
	Created    int64      `json:"created"`
	Content    []partView `json:"content"`
	StopReason string     `json:"stop_reason"`
	Usage      usageView  `json:"usage"`
}

type eventView struct {
	Type       string     `json:"type"`
	Index      *int       `json:"index,omitempty"`
	ID         string     `json:"id,omitempty"`
	Model      string     `json:"model,omitempty"`
	Part       *partView  `json:"part,omitempty"`
	Text       *string    `json:"text,omitempty"`
	StopReason string     `json:"stop_reason,omitempty"`
	Usage      *usageView `json:"usage,omitempty"`
}

func viewPart(p llm.Part) partView {
	v := partView{Type: string(p.Type), Text: p.Text}
	if p.ToolCall != nil {
		v.ID, v.Name, v.Arguments = p.ToolCall.ID, p.ToolCall.Name, p.ToolCall.Arguments
	}
	return v
}

func viewUsage(u *llm.Usage) *usageView {
	if u == nil {
		return nil
	}
	return &usageView{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens}
}

var eventNames = map[llm.EventType]string{
	llm.EventStart:      "start",
	llm.EventBlockStart: "block_start",
	llm.EventDelta:      "delta",
	llm.EventBlockStop:  "block_stop",
	llm.EventFinish:     "finish",
	llm.EventUsage:      "usage",
	llm.EventPing:       "ping",
	llm.EventResponse:   "response",
}

func viewEvent(ev llm.Event) eventView {
	v := eventView{Type: eventNames[ev.Type], ID: ev.ID, Model: ev.Model,
		StopReason: string(ev.StopReason), Usage: viewUsage(ev.Usage)}
	switch ev.Type {
	case llm.EventBlockStart, llm.EventDelta, llm.EventBlockStop:
		i := ev.Index
		v.Index = &i
	}
	if ev.Part != nil {
		p := viewPart(*ev.Part)
		v.Part = &p
	}
	if ev.Type == llm.EventDelta {
		s := ev.Text
		v.Text = &s
	}
	return v
}

// requestCase is a testdata/request input: a canonical request in Go field
// names, and the model info to clamp with.
type requestCase struct {
	Request llm.Request   `json:"request"`
	Info    llm.ModelInfo `json:"info"`
}

func TestEncodeChatRequestGolden(t *testing.T) {
	for in, golden := range dialecttest.Inputs(t, "request", ".json") {
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
			body, err := EncodeChatRequest(&c.Request, c.Info)
			var got []byte
			if err != nil {
				got = dialecttest.RenderError(err)
			} else {
				got = dialecttest.Indent(t, body)
			}
			dialecttest.CheckGolden(t, golden, got)
		})
	}
}

func TestDecodeResponseGolden(t *testing.T) {
	for in, golden := range dialecttest.Inputs(t, "response", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := DecodeResponse(raw)
			var got []byte
			if err != nil {
				got = dialecttest.RenderError(err)
			} else {
				v := responseView{ID: resp.ID, Model: resp.Model, Created: resp.Created,
					Content: []partView{}, StopReason: string(resp.StopReason),
					Usage: *viewUsage(&resp.Usage)}
				for _, p := range resp.Content {
					v.Content = append(v.Content, viewPart(p))
				}
				got = dialecttest.Indent(t, normalizeIDs(dialecttest.MustJSON(t, v)))
			}
			dialecttest.CheckGolden(t, golden, got)
		})
	}
}

// renderStream drains a stream into one JSON line per event and a last
// line for how it ended.
func renderStream(t *testing.T, s llm.Stream) []byte {
	t.Helper()
	var buf bytes.Buffer
	for i := 0; ; i++ {
		if i > 10000 {
			t.Fatal("stream does not end")
		}
		ev, err := s.Next()
		if err == io.EOF {
			buf.WriteString("EOF\n")
			break
		}
		if err != nil {
			buf.Write(dialecttest.RenderError(err))
			break
		}
		buf.Write(normalizeIDs(dialecttest.MustJSON(t, viewEvent(ev))))
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

func TestStreamDecoderGolden(t *testing.T) {
	for in, golden := range dialecttest.Inputs(t, "stream", ".ndjson") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			s := NewStreamDecoder(io.NopCloser(bytes.NewReader(raw)))
			defer s.Close()
			got := renderStream(t, s)
			dialecttest.CheckGolden(t, golden, got)
			checkEventOrder(t, raw)
		})
	}
}
