package bedrock

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
// canonical stream contract.
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
			if err == io.EOF && !finished {
				return errors.New("io.EOF before finish")
			}
			var e *llm.Error
			if err != io.EOF && !errors.As(err, &e) {
				return fmt.Errorf("error is not *llm.Error: %T %v", err, err)
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
			if started || ev.ID == "" {
				return errors.New("second start or no ID")
			}
			started = true
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
		case llm.EventBlockStop:
			if open < 0 || ev.Index != open {
				return fmt.Errorf("stop for block %d, open %d", ev.Index, open)
			}
			open = -1
		case llm.EventFinish:
			if open >= 0 || ev.StopReason == "" || ev.Usage == nil {
				return errors.New("bad finish")
			}
			finished = true
		default:
			return fmt.Errorf("unexpected event type %d", ev.Type)
		}
	}
}

func FuzzStreamDecoder(f *testing.F) {
	files, _ := filepath.Glob("testdata/stream/*.jsonl")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(encodeFrames(f, b))
		}
	}
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
