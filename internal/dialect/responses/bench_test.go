package responses

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

// go test ./internal/dialect/responses -run '^$' -bench . -benchtime 2000x -benchmem

func BenchmarkDecodeCodexRequest(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("testdata", "codex_request.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamEncode is one whole stream: thinking, text, a namespace
// call and a custom call, then response.completed.
func BenchmarkStreamEncode(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("testdata", "codex_request.json"))
	if err != nil {
		b.Fatal(err)
	}
	req, err := DecodeRequest(body)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		e := NewStreamEncoder(req)
		for _, ev := range streamEvents {
			buf = e.Encode(buf[:0], ev)
		}
		buf = e.Finish(buf[:0])
	}
}

// BenchmarkTextDelta is the per-token cost: one output_text.delta.
func BenchmarkTextDelta(b *testing.B) {
	req := &llm.Request{Model: "m", Source: llm.Source{Body: []byte(`{"model":"m","input":"hi"}`)}}
	e := NewStreamEncoder(req)
	buf := e.Encode(nil, llm.Event{Type: llm.EventBlockStart, Part: &llm.Part{Type: llm.PartText}})
	ev := llm.Event{Type: llm.EventDelta, Text: " token"}
	b.ReportAllocs()
	for b.Loop() {
		buf = e.Encode(buf[:0], ev)
	}
}
