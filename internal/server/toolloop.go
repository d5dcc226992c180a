package server

import (
	"context"
	"net/http"
	"strconv"

	"github.com/tidegate/tidegate/internal/govern"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/router"
	"github.com/tidegate/tidegate/internal/toolloop"
)

// toolLoop answers a request for a model with attached tools: the loop
// runs every round through the router (non-stream) and the gateway's
// tool calls through the gate; the caller gets the final answer, as one
// response or, when it asked for a stream, as a stream replaying it.
func (s *Server) toolLoop(w http.ResponseWriter, r *http.Request, c *caller, loop *toolloop.Loop, g guarded, route *router.Route, req *llm.Request, in *router.Input, id *govern.Identity, ticket *govern.Ticket, includeUsage bool, done func([]byte)) {
	x := exchangeOf(w)
	if err := req.Decode(); err != nil {
		s.settle(x, ticket, nil, nil, http.StatusBadRequest, err)
		s.writeError(w, c, err)
		return
	}
	stream := req.Stream
	var last *router.Result
	attempts := 0
	chat := func(ctx context.Context, q *llm.Request) (*llm.Response, error) {
		res, err := s.opt.Router.Chat(ctx, route, q, in)
		if err != nil {
			return nil, err
		}
		defer res.Stream.Close()
		last, attempts = res, attempts+res.Attempts
		if res.First.Response == nil {
			return nil, &llm.Error{Kind: llm.KindUpstream, Message: "upstream sent a stream to a non-stream request"}
		}
		return res.First.Response, nil
	}
	reqID := w.Header().Get("x-request-id")
	var admit toolloop.Admit
	if gate := s.opt.Gate; gate != nil {
		admit = func(ctx context.Context, model string) (func(int, error), error) {
			tin := &router.Input{Model: model, Path: in.Path, Dialect: in.Dialect, Header: in.Header, Key: in.Key, User: in.User, Team: in.Team}
			carrier := llm.NewLazyRequest(llm.OpChat, model, false, false, llm.Source{}, func(*llm.Request) error { return nil })
			t, err := gate.Admit(ctx, id, tin, &router.Route{}, carrier, reqID)
			if err != nil {
				return nil, err
			}
			return func(status int, err error) {
				t.Finish(govern.Outcome{Sent: true, Status: status, Err: err, UsageKnown: true, Provider: "tool"})
			}, nil
		}
	}
	resp, err := loop.Run(r.Context(), req, r.Header, chat, admit)
	if err != nil {
		s.settle(x, ticket, last, nil, llm.AsError(err).HTTPStatus(), err)
		s.writeError(w, c, err)
		return
	}
	resp.Op = req.Op
	m := &meter{}
	m.observe(llm.Event{Type: llm.EventResponse, Response: resp})
	status, failure := http.StatusOK, error(nil)
	x.ran(in, last.Target)
	if x != nil {
		x.attempts = attempts // every round's
	}
	defer func() { s.settle(x, ticket, last, m, status, failure) }()
	// The final answer passes the response guardrails like any other.
	final := &router.Result{Target: last.Target, Attempts: attempts, First: llm.Event{Type: llm.EventResponse, Response: resp}}
	if stream {
		req.Stream, req.IncludeUsage = true, includeUsage
		evs := toolloop.Events(resp)
		final.First, final.Stream = evs[0], &llm.SliceStream{Events: evs[1:]}
	}
	if err := g.response(c, stream, final); err != nil {
		status, failure = llm.AsError(err).HTTPStatus(), err
		s.writeError(w, c, err)
		return
	}
	h := w.Header()
	h.Set("x-tidegate-provider", last.Target.Provider.Name())
	h.Set("x-tidegate-model", last.Target.Model)
	h.Set("x-tidegate-attempts", strconv.Itoa(attempts))
	if stream {
		s.stream(w, r, c, req, final.First, final.Stream, last.Target.Provider.Name(), nil, done) // a replay, not an upstream stream
		return
	}
	s.respond(w, c, req, final.First, done)
}
