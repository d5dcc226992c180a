package bedrock

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidegate/tidegate/internal/dialect/dialecttest"
	"github.com/tidegate/tidegate/internal/llm"
)

func FuzzStreamDecoder(f *testing.F) {
	files, _ := filepath.Glob("testdata/stream/*.jsonl")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(encodeFrames(f, b))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewStreamDecoder(io.NopCloser(bytes.NewReader(data)))
		if err := dialecttest.CheckStream(s); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	files, _ := filepath.Glob("testdata/response/*.json")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeResponse(body)
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) || e.Kind != llm.KindUpstream {
				t.Fatalf("error %v", err)
			}
			return
		}
		for _, p := range r.Content {
			if p.Type == llm.PartToolCall {
				var obj map[string]any
				if p.ToolCall.ID == "" || json.Unmarshal([]byte(p.ToolCall.Arguments), &obj) != nil {
					t.Fatalf("bad tool call %+v", p.ToolCall)
				}
			}
		}
	})
}
