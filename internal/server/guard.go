package server

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/tidegate/tidegate/internal/govern"
	"github.com/tidegate/tidegate/internal/guard"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/router"
)

// guarded is a request's guardrail state; the zero value guards nothing.
type guarded struct {
	policy  *guard.Policy
	sess    *guard.Session
	schemas *guard.Schemas // with a schema guard: what the answer must match
}

// guardRequest applies the guardrails attached to the route and the
// caller to the request body, returning the (maybe redacted) body. It
// answers a refusal itself. Without profiles it costs a nil check.
func (s *Server) guardRequest(w http.ResponseWriter, r *http.Request, c *caller, id *govern.Identity, route *router.Route, e env, in *router.Input, body []byte) (guarded, []byte, bool) {
	if s.opt.Guards == nil {
		return guarded{}, body, true
	}
	p, err := s.opt.Guards.Resolve(route.LimitKey, identityMetadata(id)...)
	if err == nil && p == nil {
		return guarded{}, body, true
	}
	var g guarded
	if err == nil {
		g = guarded{policy: p, sess: p.NewSession()}
		body, err = p.Request(c.dialect, body, g.sess, guard.RequestInfo{MaxTokens: e.maxTokens, EstimatedTokens: in.EstimatedTokens,
			Caller: promptCaller(id, r.Header, s.opt.Now())})
		if err == nil && p.Schema {
			g.schemas, err = p.RequestSchemas(c.dialect, body)
		}
		if b, ok := guard.AsBlocked(err); ok {
			err = guard.BlockedRequest(p.Name, b)
			s.opt.Logger.Info("request blocked by guardrail", "model", e.model, "guardrail", p.Name, "reason", b.Error())
		}
	}
	if err != nil {
		s.refused(w, id, e.model, err)
		s.writeError(w, c, err)
		return guarded{}, nil, false
	}
	return g, body, true
}

// response guards the answer before anything is written: a non-stream
// body is redacted (and placeholders restored) in the caller's dialect, a
// stream is wrapped. A blocked non-stream answer is returned as an error.
func (g guarded) response(c *caller, stream bool, res *router.Result) error {
	if g.policy == nil || (!g.policy.ChecksResponse(g.sess) && (g.schemas == nil || !stream)) {
		return nil
	}
	if stream {
		gs := g.policy.Stream(res.First, res.Stream, g.sess, g.schemas)
		first, err := gs.Next()
		if errors.Is(err, io.EOF) {
			first, err = llm.Event{}, nil
			gs = &llm.SliceStream{}
		}
		if err != nil {
			return err
		}
		// The handler's deferred Close still closes the stream under gs.
		res.First, res.Stream = first, gs
		return nil
	}
	ev := res.First
	var err error
	switch {
	case ev.Raw != nil && ev.RawDialect == c.dialect:
		ev.Raw, err = g.policy.ResponseBody(c.dialect, ev.Raw, g.sess)
	case ev.Response != nil:
		resp := *ev.Response
		resp.Content = append([]llm.Part(nil), resp.Content...)
		err = g.policy.Response(&resp, g.sess)
		ev.Response = &resp
	}
	if b, ok := guard.AsBlocked(err); ok {
		return guard.BlockedResponse(g.policy.Name, b)
	}
	if err != nil {
		return err
	}
	res.First = ev
	return nil
}

// checkSchema validates a non-stream answer against the schemas the
// request asked for (before the response guard changes it); with retry,
// an invalid answer is asked for once more. The error is a 502 that says
// where the answer failed, never its content.
func (s *Server) checkSchema(r *http.Request, g guarded, c *caller, route *router.Route, req *llm.Request, in *router.Input, res *router.Result, m *meter) error {
	if g.schemas == nil || req.Stream { // streams are checked as they end (guard.Policy.Stream)
		return nil
	}
	check := func(ev llm.Event) error {
		var raw []byte
		if ev.RawDialect == c.dialect {
			raw = ev.Raw
		}
		text, calls := guard.AnswerOf(c.dialect, raw, ev.Response)
		return g.schemas.Check(text, calls)
	}
	err := check(res.First)
	if err != nil && g.policy.SchemaRetry {
		s.opt.Logger.Info("answer failed its schema; retrying once", "model", req.Model, "guardrail", g.policy.Name, "reason", err.Error())
		again, cerr := s.opt.Router.Chat(r.Context(), route, req, in)
		if cerr != nil {
			return cerr
		}
		_ = m.Stream.Close() // the first answer's upstream
		prev := m.usage
		m.Stream = again.Stream
		m.observe(again.First)
		addUsage(&m.usage, prev)
		res.First, res.Target, res.Attempts = again.First, again.Target, res.Attempts+again.Attempts
		err = check(res.First)
	}
	if err != nil {
		s.opt.Logger.Warn("answer failed its schema", "model", req.Model, "guardrail", g.policy.Name, "reason", err.Error())
		return guard.SchemaError(err)
	}
	return nil
}

// promptCaller is the caller as managed system prompts see it.
func promptCaller(id *govern.Identity, h http.Header, now time.Time) guard.Caller {
	c := guard.Caller{Header: h, Now: now}
	if id == nil || id.Key == nil {
		return c
	}
	c.Key = guard.Principal{ID: id.Key.ID, Name: id.Key.Name, Metadata: id.Key.Metadata}
	if u := id.User; u != nil {
		c.User = guard.Principal{ID: u.ID, Name: u.Name, Metadata: u.Metadata}
	}
	if t := id.Team; t != nil {
		c.Team = guard.Principal{ID: t.ID, Name: t.Name, Metadata: t.Metadata}
	}
	return c
}

// identityMetadata is the key's, user's and team's metadata, where
// guardrail profiles may be attached.
func identityMetadata(id *govern.Identity) []map[string]string {
	if id == nil || id.Key == nil {
		return nil
	}
	out := []map[string]string{id.Key.Metadata}
	if id.User != nil {
		out = append(out, id.User.Metadata)
	}
	if id.Team != nil {
		out = append(out, id.Team.Metadata)
	}
	return out
}
