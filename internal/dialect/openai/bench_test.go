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
	input, err := os.ReadFile("testdata/stream_tools_interleaved.sse")
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
