package guard

import (
	"errors"
	"io"

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
func (p *Policy) Stream(first llm.Event, in llm.Stream, sess *Session) llm.Stream {
	return &guarded{in: in, p: p, sess: sess.with(p.resp), first: &first}
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
				if errors.Is(err, io.EOF) && g.red != nil {
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
