package guard

import (
	"errors"
	"io"
	"strings"

	"github.com/tidegate/tidegate/internal/llm"
)

// BlockedResponse is the error a blocked answer becomes: a 502 before the
// first byte, an error event in a stream. It names the profile and the
// detector, never the text.
func BlockedResponse(policy string, b *BlockedError) *llm.Error {
	return &llm.Error{Kind: llm.KindUpstream, Code: "guardrail_blocked",
		Message: "the response was blocked by guardrail " + policy + ": it " + b.Error(), Err: b}
}

// BlockedRequest is the 400 a refused request gets.
func BlockedRequest(policy string, b *BlockedError) *llm.Error {
	msg := "the request was blocked by guardrail " + policy + ": "
	if b.Reason != "" {
		msg += b.Reason
	} else {
		msg += "it " + b.Error()
	}
	return &llm.Error{Kind: llm.KindInvalidRequest, Code: "guardrail_blocked", Message: msg, Err: b}
}

// Stream guards a streamed answer whose first event is first: text and
// tool-argument deltas go through the output redactor (held text is
// released before the block's stop), and events lose their upstream
// bytes so the caller's encoder renders the redacted text. A blocked
// match ends the stream with BlockedResponse.
//
// With schemas, the answer's text and tool calls are collected as they
// pass, and a stream whose answer does not match ends with a schema error
// event instead of its clean end (what was streamed cannot be recalled).
func (p *Policy) Stream(first llm.Event, in llm.Stream, sess *Session, schemas *Schemas) llm.Stream {
	return &guarded{in: in, p: p, sess: sess.with(p.resp), first: &first, schemas: schemas}
}

type guarded struct {
	in    llm.Stream
	p     *Policy
	sess  *Session
	first *llm.Event
	queue []llm.Event
	red   *StreamRedactor // the open text or tool block's
	index int
	err   error

	schemas *Schemas
	text    strings.Builder // the answer as the upstream wrote it
	calls   []llm.ToolCall
	block   llm.PartType // the open block's type
}

func (g *guarded) Close() error { return g.in.Close() }

func (g *guarded) Next() (llm.Event, error) {
	for {
		if len(g.queue) > 0 {
			ev := g.queue[0]
			g.queue = g.queue[1:]
			return ev, nil
		}
		if g.err != nil {
			return llm.Event{}, g.err
		}
		var ev llm.Event
		if g.first != nil {
			ev, g.first = *g.first, nil
		} else {
			var err error
			if ev, err = g.in.Next(); err != nil {
				if errors.Is(err, io.EOF) && g.schemas != nil {
					if serr := g.schemas.Check(g.text.String(), g.calls); serr != nil {
						err = SchemaError(serr)
					}
				}
				if g.red != nil {
					g.err = err
					if d, ok, berr := g.flush(); berr != nil {
						return llm.Event{}, berr
					} else if ok {
						return d, nil
					}
				}
				return llm.Event{}, err
			}
		}
		out, ok, err := g.filter(ev)
		if err != nil {
			g.err = err
			return llm.Event{}, err
		}
		if ok {
			return out, nil
		}
	}
}

// filter rewrites one event; false drops it (text held back, or a frame
// that only carried upstream bytes).
func (g *guarded) filter(ev llm.Event) (llm.Event, bool, error) {
	ev.Raw, ev.RawDialect = nil, ""
	if g.schemas != nil {
		g.collect(ev)
	}
	switch ev.Type {
	case 0:
		return ev, false, nil
	case llm.EventBlockStart:
		g.red, g.index = nil, ev.Index
		if ev.Part != nil && (ev.Part.Type == llm.PartText || ev.Part.Type == llm.PartToolCall) {
			g.red = g.sess.NewStream()
			part := *ev.Part
			if part.Type == llm.PartText && part.Text != "" {
				out, err := g.red.Push(part.Text)
				if err != nil {
					return ev, false, g.blocked(err)
				}
				part.Text = out
			}
			if tc := part.ToolCall; tc != nil && tc.Arguments != "" {
				out, err := g.red.Push(tc.Arguments)
				if err != nil {
					return ev, false, g.blocked(err)
				}
				c := *tc
				c.Arguments = out
				part.ToolCall = &c
			}
			ev.Part = &part
		}
	case llm.EventDelta:
		if g.red != nil && ev.Text != "" {
			out, err := g.red.Push(ev.Text)
			if err != nil {
				return ev, false, g.blocked(err)
			}
			if out == "" && ev.Signature == "" {
				return ev, false, nil
			}
			ev.Text = out
		}
	case llm.EventBlockStop, llm.EventFinish, llm.EventResponse:
		if g.red != nil {
			d, ok, err := g.flush()
			if err != nil {
				return ev, false, err
			}
			if ok {
				g.queue = append(g.queue, ev)
				return d, true, nil
			}
		}
		if ev.Type == llm.EventResponse && ev.Response != nil {
			if err := g.p.Response(ev.Response, g.sess); err != nil {
				return ev, false, g.blocked(err)
			}
		}
	}
	return ev, true, nil
}

// collect keeps the answer's text and tool calls for the schema check.
func (g *guarded) collect(ev llm.Event) {
	switch ev.Type {
	case llm.EventBlockStart:
		g.block = llm.PartText
		if ev.Part == nil {
			break
		}
		g.block = ev.Part.Type
		switch {
		case ev.Part.Type == llm.PartText:
			g.text.WriteString(ev.Part.Text)
		case ev.Part.Type == llm.PartToolCall && ev.Part.ToolCall != nil:
			g.calls = append(g.calls, llm.ToolCall{Name: ev.Part.ToolCall.Name, Arguments: ev.Part.ToolCall.Arguments})
		case ev.Part.Type == llm.PartToolCall:
			g.calls = append(g.calls, llm.ToolCall{})
		}
	case llm.EventDelta:
		switch g.block {
		case llm.PartToolCall:
			g.calls[len(g.calls)-1].Arguments += ev.Text
		case llm.PartText:
			g.text.WriteString(ev.Text)
		}
	case llm.EventResponse:
		if ev.Response != nil {
			text, calls := AnswerOf("", nil, ev.Response)
			g.text.WriteString(text)
			g.calls = append(g.calls, calls...)
		}
	}
}

// SchemaError is the 502 an answer that fails its schema becomes.
func SchemaError(err error) *llm.Error {
	return &llm.Error{Kind: llm.KindUpstream, Code: "schema_validation_failed", Message: err.Error()}
}

// flush releases the open block's held text as one delta.
func (g *guarded) flush() (llm.Event, bool, error) {
	red := g.red
	g.red = nil
	out, err := red.Flush()
	if err != nil {
		return llm.Event{}, false, g.blocked(err)
	}
	if out == "" {
		return llm.Event{}, false, nil
	}
	return llm.Event{Type: llm.EventDelta, Index: g.index, Text: out}, true, nil
}

func (g *guarded) blocked(err error) error {
	if b, ok := AsBlocked(err); ok {
		return BlockedResponse(g.p.Name, b)
	}
	return err
}
