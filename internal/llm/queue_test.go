package llm

import (
	"errors"
	"io"
	"testing"
)

type closeCount struct{ n int }

func (c *closeCount) Close() error { c.n++; return nil }

// Queue hands out what each step pushed, in order, then its end for good;
// Close turns a stream that had not ended into an upstream error.
func TestQueue(t *testing.T) {
	var q Queue
	steps := 0
	step := func() {
		steps++
		switch steps {
		case 1:
			q.Push(Event{Type: EventStart})
			q.Push(Event{Type: EventDelta, Text: "a"})
		case 2: // a frame with no events
		case 3:
			q.Push(Event{Type: EventFinish})
			q.Err = io.EOF
		}
	}
	var got []EventType
	for {
		ev, err := q.Next(step)
		if err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
		got = append(got, ev.Type)
	}
	if len(got) != 3 || got[0] != EventStart || got[2] != EventFinish || steps != 3 {
		t.Fatalf("events %v after %d steps", got, steps)
	}
	if _, err := q.Next(step); err != io.EOF || steps != 3 {
		t.Fatalf("after the end: %v (steps %d)", err, steps)
	}
	var body closeCount
	if err := q.Close(&body); err != nil || body.n != 1 {
		t.Fatal(err, body.n)
	}
	q.Close(&body)
	if body.n != 1 {
		t.Fatalf("body closed %d times", body.n)
	}

	var open Queue
	open.Close(&body)
	var e *Error
	if _, err := open.Next(func() { t.Fatal("step after Close") }); !errors.As(err, &e) || e.Kind != KindUpstream {
		t.Fatalf("Next after Close: %v", err)
	}
}
