package ollama

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

// checkStream drains s and reports the first broken invariant of the
// canonical stream contract: a start event first, sequential blocks,
// deltas only into the open block, finish with no open block, io.EOF only
// after finish, errors as *llm.Error, and a sticky end.
func checkStream(s llm.Stream) error {
	started, finished := false, false
	open, next := -1, 0
	var kind llm.PartType
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
				if e.Kind != llm.KindUpstream {
					return fmt.Errorf("stream error kind %s", e.Kind)
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
			if open >= 0 {
				return fmt.Errorf("block %d starts while %d is open", ev.Index, open)
			}
			if ev.Index != next {
				return fmt.Errorf("block %d starts, want %d", ev.Index, next)
			}
			if ev.Part == nil {
				return errors.New("block start without part")
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
			if ev.Text == "" {
				return errors.New("empty delta")
			}
			if kind == llm.PartToolCall && !json.Valid([]byte(ev.Text)) {
				return fmt.Errorf("tool arguments are not JSON: %q", ev.Text)
			}
		case llm.EventBlockStop:
			if open < 0 || ev.Index != open {
				return fmt.Errorf("stop for block %d, open %d", ev.Index, open)
			}
			open = -1
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

func checkEventOrder(t *testing.T, raw []byte) {
	t.Helper()
	s := NewStreamDecoder(io.NopCloser(bytes.NewReader(raw)))
	defer s.Close()
	if err := checkStream(s); err != nil {
		t.Error(err)
	}
}

func addSeeds(f *testing.F, pattern string) {
	files, _ := filepath.Glob(pattern)
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err == nil {
			f.Add(b)
		}
	}
}

func FuzzDecodeResponse(f *testing.F) {
	addSeeds(f, "testdata/response/*.json")
	f.Add([]byte(`{"message":{"tool_calls":[{"function":{"arguments":"{\"a\":1}"}}]},"done":true}`))
	f.Add([]byte(`{"error":{"message":"x"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := DecodeResponse(body)
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) || e.Kind != llm.KindUpstream {
				t.Fatalf("error %T %v, want KindUpstream *llm.Error", err, err)
			}
			return
		}
		if resp == nil || resp.ID == "" || resp.StopReason == "" {
			t.Fatalf("incomplete response %+v", resp)
		}
		for _, p := range resp.Content {
			switch p.Type {
			case llm.PartText, llm.PartThinking:
				if p.Text == "" {
					t.Fatal("empty text part")
				}
			case llm.PartToolCall:
				if p.ToolCall.ID == "" {
					t.Fatal("tool call without ID")
				}
				var obj map[string]any
				if err := json.Unmarshal([]byte(p.ToolCall.Arguments), &obj); err != nil {
					t.Fatalf("arguments %q are not a JSON object: %v", p.ToolCall.Arguments, err)
				}
			default:
				t.Fatalf("unexpected part %s", p.Type)
			}
		}
	})
}

func FuzzStreamDecoder(f *testing.F) {
	addSeeds(f, "testdata/stream/*.ndjson")
	f.Add([]byte("{\"message\":{\"content\":\"a\"}}\n{\"done\":true}"))
	f.Add([]byte("\n\n{\"error\":\"boom\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewStreamDecoder(io.NopCloser(bytes.NewReader(data)))
		if err := checkStream(s); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
}
