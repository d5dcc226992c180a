package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/tidegate/tidegate/internal/cache"
	"github.com/tidegate/tidegate/internal/govern"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/router"
)

// storeTimeout bounds a cache write on the request path (Redis).
const storeTimeout = 2 * time.Second

// serveHit answers from the cache: the stored body, or the stored events
// replayed through the caller's stream encoder, after the response guard
// (so restored placeholders are this request's own). The hit costs
// nothing and is logged as a cache hit.
func (s *Server) serveHit(w http.ResponseWriter, r *http.Request, c *caller, req *llm.Request, stream bool, g guarded, e *cache.Entry, t *govern.Ticket) {
	status, failure := http.StatusOK, error(nil)
	defer func() {
		if t != nil {
			t.Finish(govern.Outcome{CacheHit: true, UsageKnown: true, Status: status, Err: failure, Provider: e.Provider, Upstream: ""})
		}
	}()
	res := &router.Result{}
	if stream {
		events := make([]llm.Event, len(e.Events))
		for i, ev := range e.Events {
			events[i] = ev.Event()
		}
		if len(events) == 0 {
			events = []llm.Event{{}}
		}
		res.First, res.Stream = events[0], &llm.SliceStream{Events: events[1:]}
	} else {
		res.First, res.Stream = llm.Event{Type: llm.EventResponse, Raw: e.Body, RawDialect: c.dialect}, &llm.SliceStream{}
	}
	if err := g.response(c, stream, res); err != nil {
		status, failure = llm.AsError(err).HTTPStatus(), err
		s.writeError(w, c, err)
		return
	}
	h := w.Header()
	h.Set("x-tidegate-cache", cache.Hit)
	h.Set("x-tidegate-provider", e.Provider)
	h.Set("x-tidegate-model", e.Model)
	h.Set("x-tidegate-attempts", "0")
	if stream {
		s.stream(w, r, c, req, res.First, res.Stream, e.Provider, nil, nil)
		return
	}
	s.respond(w, c, req, res.First, nil)
}

// storeWhole caches a successful non-stream answer as the caller's
// dialect body, before the response guard changed it.
func (s *Server) storeWhole(r *http.Request, c *caller, req *llm.Request, cr *cache.Request, ev llm.Event, res *router.Result) {
	var body []byte
	switch {
	case ev.Raw != nil && ev.RawDialect == c.dialect:
		body = ev.Raw
	case ev.Response != nil:
		body = c.encodeResponse(req, ev.Response)
	default:
		return
	}
	s.store(r, cr, &cache.Entry{Body: body, Provider: res.Target.Provider.Name(), Model: res.Target.Model})
}

func (s *Server) store(r *http.Request, cr *cache.Request, e *cache.Entry) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), storeTimeout)
	defer cancel()
	if err := cr.Store(ctx, e); err != nil {
		s.opt.Logger.Warn("cache store failed", "error", err)
	}
}

// recording collects a stream's canonical events (before the response
// guard: placeholders stay placeholders) and notes a clean end; the
// handler stores them once the stream also reached the caller whole, so
// a failed, cut or guard-refused stream is never stored.
type recording struct {
	llm.Stream
	entry cache.Entry
	done  bool
}

func newRecording(res *router.Result) *recording {
	rec := &recording{Stream: res.Stream, entry: cache.Entry{Provider: res.Target.Provider.Name(), Model: res.Target.Model}}
	rec.add(res.First)
	return rec
}

func (rec *recording) add(ev llm.Event) {
	if e, ok := cache.FromEvent(ev); ok {
		rec.entry.Events = append(rec.entry.Events, e)
	}
}

func (rec *recording) Next() (llm.Event, error) {
	ev, err := rec.Stream.Next()
	switch {
	case err == nil:
		rec.add(ev)
	case errors.Is(err, io.EOF):
		rec.done = true
	}
	return ev, err
}

// keyID is the caller's key id, for key-scoped cache entries.
func keyID(id *govern.Identity) string {
	if id == nil || id.Key == nil {
		return ""
	}
	return id.Key.ID
}
