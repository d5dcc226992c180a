package provider

import (
	"context"
	"fmt"
	"io"

	"github.com/tidegate/tidegate/internal/llm"
)

// passthrough reports whether the caller's own bytes can be forwarded.
func passthrough(src llm.Source, d llm.Dialect) bool {
	return src.Dialect == d && src.Body != nil
}

func single(ev llm.Event) llm.Stream { return &llm.SliceStream{Events: []llm.Event{ev}} }

func invalidJSON(name string) *llm.Error {
	return &llm.Error{Kind: llm.KindUpstream, Message: fmt.Sprintf("upstream %s returned a response that is not valid JSON", name)}
}

// guard classifies a stream's failures: an idle upstream becomes a
// timeout, a cancelled caller a cancellation, any other read failure an
// upstream error, so the caller always learns why a stream ended.
func (b *base) guard(ctx context.Context, s llm.Stream, body io.ReadCloser) llm.Stream {
	idle, _ := body.(*idleBody)
	return &guardedStream{s: s, ctx: ctx, b: b, idle: idle}
}

type guardedStream struct {
	s    llm.Stream
	ctx  context.Context
	b    *base
	idle *idleBody
}

func (g *guardedStream) Next() (llm.Event, error) {
	ev, err := g.s.Next()
	if err == nil || err == io.EOF {
		return ev, err
	}
	if g.idle != nil && g.idle.timedOut() {
		return ev, g.b.transportError(g.ctx, errIdle)
	}
	if g.ctx.Err() != nil {
		return ev, g.b.transportError(g.ctx, err)
	}
	return ev, g.b.maskError(g.b.transportError(g.ctx, err)) // keeps an *llm.Error's kind
}

func (g *guardedStream) Close() error { return g.s.Close() }
