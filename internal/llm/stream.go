package llm

import (
	"context"
)

// EventType tags a stream Event.
type EventType uint8

const (
	// EventStart opens the message: ID, Model and, when known, Usage with
	// the input tokens.
	EventStart EventType = iota + 1
	// EventBlockStart opens content block Index. Part says its type, and for
	// a tool call its ID and Name (Arguments empty).
	EventBlockStart
	// EventDelta appends to block Index: Text for text and thinking blocks,
	// Text as an arguments fragment for tool calls, Signature for thinking.
	EventDelta
	// EventBlockStop closes block Index.
	EventBlockStop
	// EventFinish carries StopReason/StopSequence and, when the upstream
	// reports them together, the final Usage.
	EventFinish
	// EventUsage carries the final Usage when it comes after the finish
	// (OpenAI's usage chunk).
	EventUsage
	// EventPing is a keep-alive.
	EventPing
	// EventResponse carries a whole non-stream Response; it is the only
	// event of a non-stream request.
	EventResponse
)

// Event is one canonical stream event. Blocks are sequential: a block is
// stopped before the next one starts, and Index counts blocks from 0.
type Event struct {
	Type  EventType
	Index int

	ID    string // EventStart
	Model string // EventStart

	Part      *Part  // EventBlockStart
	Text      string // EventDelta
	Signature string // EventDelta on a thinking block

	StopReason   StopReason // EventFinish
	StopSequence string     // EventFinish
	Usage        *Usage     // EventStart, EventFinish, EventUsage

	Response *Response // EventResponse

	// Raw is the upstream's own encoding of this event (an SSE frame with
	// its terminating blank line, or a whole JSON body for EventResponse)
	// in RawDialect. When the caller speaks RawDialect it is written as is.
	// Events synthesised by a decoder (no upstream counterpart) have none;
	// an upstream event that maps to no canonical event is passed with
	// Type 0 and only Raw, so the passthrough loses nothing.
	Raw        []byte
	RawDialect Dialect
}

// Stream is a pull-based sequence of events. Next returns io.EOF after the
// last event, or an *Error if the upstream failed mid-way. Close releases
// the upstream connection and may be called at any time, more than once.
type Stream interface {
	Next() (Event, error)
	Close() error
}

// Provider is an upstream that can generate. An error from Chat means
// nothing reached the caller yet, so the router may try another target.
type Provider interface {
	Name() string
	// Dialect is the wire format the provider speaks, for passthrough.
	Dialect() Dialect
	Chat(ctx context.Context, req *Request) (Stream, error)
	Embed(ctx context.Context, req *EmbedRequest) (*EmbedResponse, error)
}

// TokenCounter is an optional Provider capability: an exact prompt token
// count from the upstream (Anthropic's count_tokens).
type TokenCounter interface {
	CountTokens(ctx context.Context, req *Request) (int, error)
}

// SliceStream replays fixed events; useful for synthesised responses.
type SliceStream struct {
	Events []Event
	pos    int
}

// Next returns the next event or io.EOF.
func (s *SliceStream) Next() (Event, error) {
	if s.pos >= len(s.Events) {
		return Event{}, errEOF
	}
	e := s.Events[s.pos]
	s.pos++
	return e, nil
}

// Close does nothing.
func (s *SliceStream) Close() error { return nil }
