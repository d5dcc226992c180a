package bedrock

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/tidegate/tidegate/internal/dialect/dialecttest"
	"github.com/tidegate/tidegate/internal/llm"
)

var reID = regexp.MustCompile(`bedrock-[0-9a-f]{24}`)

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	dialecttest.CheckGolden(t, path, reID.ReplaceAll(got, []byte("bedrock-ID")))
}

func TestEncodeRequestGolden(t *testing.T) {
	for in, golden := range dialecttest.Inputs(t, "request", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, _ := os.ReadFile(in)
			var c struct {
				Request llm.Request   `json:"request"`
				Info    llm.ModelInfo `json:"info"`
			}
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&c); err != nil {
				t.Fatalf("bad test input: %v", err)
			}
			body, err := EncodeRequest(&c.Request, c.Info)
			if err != nil {
				checkGolden(t, golden, dialecttest.RenderError(err))
				return
			}
			checkGolden(t, golden, dialecttest.Indent(t, body))
		})
	}
}

func TestDecodeResponseGolden(t *testing.T) {
	for in, golden := range dialecttest.Inputs(t, "response", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, _ := os.ReadFile(in)
			r, err := DecodeResponse(raw)
			if err != nil {
				checkGolden(t, golden, dialecttest.RenderError(err))
				return
			}
			b, _ := json.Marshal(r)
			checkGolden(t, golden, dialecttest.Indent(t, b))
		})
	}
}

// encodeFrames turns a fixture (one JSON object per line: an event type
// and its payload, or an exception) into real event-stream bytes.
func encodeFrames(t testing.TB, jsonl []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	enc := eventstream.NewEncoder()
	sc := bufio.NewScanner(bytes.NewReader(jsonl))
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var line struct {
			Type      string          `json:"type"`
			Exception string          `json:"exception"`
			Payload   json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("bad fixture line %s: %v", sc.Bytes(), err)
		}
		var msg eventstream.Message
		if line.Exception != "" {
			msg.Headers.Set(":message-type", eventstream.StringValue("exception"))
			msg.Headers.Set(":exception-type", eventstream.StringValue(line.Exception))
		} else {
			msg.Headers.Set(":message-type", eventstream.StringValue("event"))
			msg.Headers.Set(":event-type", eventstream.StringValue(line.Type))
		}
		msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
		msg.Payload = line.Payload
		if err := enc.Encode(&out, msg); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

var eventNames = map[llm.EventType]string{
	llm.EventStart: "start", llm.EventBlockStart: "block_start", llm.EventDelta: "delta",
	llm.EventBlockStop: "block_stop", llm.EventFinish: "finish",
}

func TestStreamDecoderGolden(t *testing.T) {
	for in, golden := range dialecttest.Inputs(t, "stream", ".jsonl") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, _ := os.ReadFile(in)
			frames := encodeFrames(t, raw)
			if err := dialecttest.CheckStream(NewStreamDecoder(io.NopCloser(bytes.NewReader(frames)))); err != nil {
				t.Errorf("stream contract: %v", err)
			}
			s := NewStreamDecoder(io.NopCloser(bytes.NewReader(frames)))
			defer s.Close()
			var out bytes.Buffer
			for {
				ev, err := s.Next()
				if err == io.EOF {
					out.WriteString("EOF\n")
					break
				}
				if err != nil {
					out.Write(dialecttest.RenderError(err))
					break
				}
				line := eventNames[ev.Type]
				switch ev.Type {
				case llm.EventBlockStart:
					line += fmt.Sprintf(" %d %s", ev.Index, ev.Part.Type)
					if tc := ev.Part.ToolCall; tc != nil {
						line += " id=" + tc.ID + " name=" + tc.Name
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
			checkGolden(t, golden, out.Bytes())
		})
	}
}
