package llm

import "io"

// Queue is the event buffer and sticky end shared by stream decoders that
// turn each upstream frame into zero or more events. A decoder embeds it,
// pushes events and sets Err (io.EOF or an *Error) from its step, and
// implements Stream with Next and Close.
type Queue struct {
	events []Event
	head   int
	// Err ends the stream once the queued events are out; every later
	// Next returns it again.
	Err    error
	closed bool
}

// Push queues one event.
func (q *Queue) Push(ev Event) { q.events = append(q.events, ev) }

// Next returns the next queued event, calling step to read more while the
// queue is empty and the stream has not ended.
func (q *Queue) Next(step func()) (Event, error) {
	for {
		if q.head < len(q.events) {
			ev := q.events[q.head]
			q.events[q.head] = Event{}
			q.head++
			return ev, nil
		}
		q.events, q.head = q.events[:0], 0
		if q.Err != nil {
			return Event{}, q.Err
		}
		step()
	}
}

// Close ends the stream, so that a Next after it reports an upstream
// error unless it had already ended, and closes body once.
func (q *Queue) Close(body io.Closer) error {
	if q.closed {
		return nil
	}
	q.closed = true
	if q.Err == nil {
		q.Err = &Error{Kind: KindUpstream, Message: "upstream stream closed"}
	}
	return body.Close()
}
