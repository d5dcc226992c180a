package anthropic

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

func addSeeds(f *testing.F, pattern string) {
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds for %s", pattern)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// Decoding never panics, and whatever decodes encodes to valid JSON, both
// for an upstream and for count_tokens.
func FuzzDecodeMessagesRequest(f *testing.F) {
	addSeeds(f, "testdata/requests/*.json")
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"image","source":{"type":"url","url":"data:image/png;base64,AA"}}]}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeMessagesRequest(body)
		if err != nil {
			if llm.AsError(err).Kind != llm.KindInvalidRequest {
				t.Fatalf("error kind %v", err)
			}
			return
		}
		for _, info := range []llm.ModelInfo{{}, {MaxOutput: 2000, Reasoning: true}} {
			out, err := EncodeMessagesRequest(req, info)
			if err == nil && !json.Valid(out) {
				t.Fatalf("invalid JSON: %s", out)
			}
		}
		if out, err := EncodeCountTokensRequest(req); err == nil && !json.Valid(out) {
			t.Fatalf("invalid JSON: %s", out)
		}
		if out, err := RewriteRequest(body, "other", req.Stream); err != nil || !json.Valid(out) {
			t.Fatalf("RewriteRequest: %v %s", err, out)
		}
	})
}

// Decoding a response never panics, and re-encoding gives valid JSON.
func FuzzDecodeResponse(f *testing.F) {
	addSeeds(f, "testdata/responses/*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := DecodeResponse(body)
		if err != nil {
			if _, ok := err.(*llm.Error); !ok {
				t.Fatalf("error %T", err)
			}
			if !json.Valid(EncodeError(llm.AsError(err))) && llm.AsError(err).BodyDialect != llm.DialectAnthropic {
				t.Fatal("invalid error body")
			}
			return
		}
		if out := EncodeResponse(resp); !json.Valid(out) {
			t.Fatalf("invalid JSON: %s", out)
		}
		e := DecodeError(500, body)
		if !json.Valid(EncodeError(e)) {
			t.Fatalf("invalid error body for %s", body)
		}
	})
}

// Arbitrary bytes as an upstream stream: the decoder never panics, always
// ends, and the encoder fed its events writes well-formed frames; the raw
// passthrough writes the upstream frames back.
func FuzzStreamDecoder(f *testing.F) {
	addSeeds(f, "testdata/streams/*.sse")
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, raw := range []bool{false, true} {
			s := NewStreamDecoder(io.NopCloser(bytes.NewReader(body)), raw)
			enc := NewStreamEncoder(&llm.Request{Model: "m"})
			var out []byte
			open := -1
			for n := 0; ; n++ {
				if n > len(body)+10 {
					t.Fatal("stream does not end")
				}
				ev, err := s.Next()
				if err != nil {
					if err != io.EOF {
						if _, ok := err.(*llm.Error); !ok {
							t.Fatalf("error %T %v", err, err)
						}
						out = enc.Error(out, llm.AsError(err))
					} else {
						out = enc.Finish(out)
					}
					break
				}
				if raw && ev.Raw == nil {
					t.Fatal("raw mode event without Raw")
				}
				// Canonical blocks are sequential and numbered in order.
				switch ev.Type {
				case llm.EventBlockStart:
					if open != -1 || ev.Part == nil {
						t.Fatalf("block %d starts while %d is open", ev.Index, open)
					}
					open = ev.Index
				case llm.EventDelta:
					if ev.Index != open {
						t.Fatalf("delta for %d while %d is open", ev.Index, open)
					}
				case llm.EventBlockStop:
					if ev.Index != open {
						t.Fatalf("stop for %d while %d is open", ev.Index, open)
					}
					open = -1
				}
				out = enc.Encode(out, ev)
			}
			s.Close()
			if raw {
				continue
			}
			for _, line := range strings.Split(string(out), "\n") {
				if data, ok := strings.CutPrefix(line, "data: "); ok && !json.Valid([]byte(data)) {
					t.Fatalf("invalid data line %q", line)
				}
			}
		}
	})
}
