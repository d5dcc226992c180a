package openai

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

func BenchmarkDecodeChatRequest(b *testing.B) {
	body, err := os.ReadFile("testdata/chat_tool_history.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := DecodeChatRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeChatRequest(b *testing.B) {
	body, _ := os.ReadFile("testdata/chat_tool_history.json")
	req, err := DecodeChatRequest(body)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeChatRequest(req, llm.ModelInfo{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStreamDecode(b *testing.B) {
	benchmarkStreamDecode(b, "testdata/stream_tools_interleaved.sse")
}

// BenchmarkStreamDecodeText is the load benchmark's stream: 68 one-word
// deltas as OpenAI sends them, then the finish and a usage chunk.
func BenchmarkStreamDecodeText(b *testing.B) {
	benchmarkStreamDecode(b, "testdata/stream_text_usage.sse")
}

func benchmarkStreamDecode(b *testing.B, name string) {
	input, err := os.ReadFile(name)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(input)))
	for b.Loop() {
		s := NewStreamDecoder(io.NopCloser(bytes.NewReader(input)), true)
		for {
			if _, err := s.Next(); err != nil {
				break
			}
		}
	}
}

// BenchmarkStreamEncodeDelta is the per-event hot path of a translated
// stream: one text delta rendered as a chunk.
func BenchmarkStreamEncodeDelta(b *testing.B) {
	enc := NewStreamEncoder(&llm.Request{Model: "m"})
	buf := enc.Encode(nil, llm.Event{Type: llm.EventStart, ID: "chatcmpl-1", Model: "m"})
	buf = enc.Encode(buf[:0], llm.Event{Type: llm.EventBlockStart, Part: &llm.Part{Type: llm.PartText}})
	ev := llm.Event{Type: llm.EventDelta, Text: " word"}
	b.ReportAllocs()
	for b.Loop() {
		buf = enc.Encode(buf[:0], ev)
	}
}
