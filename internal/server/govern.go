package server

import (
	"net/http"

	"github.com/tidegate/tidegate/internal/govern"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/metrics"
	"github.com/tidegate/tidegate/internal/router"
)

// identify authenticates the caller when governance is on and puts the
// identity in the routing input. It answers a refusal itself.
func (s *Server) identify(w http.ResponseWriter, r *http.Request, c *caller, in *router.Input) (*govern.Identity, bool) {
	g := s.opt.Gate
	if g == nil {
		return nil, true
	}
	id, err := g.Identify(r.Context(), r.Header)
	if err != nil {
		g.RecordRefusal(nil, in.Model, w.Header().Get("x-request-id"), llm.AsError(err).HTTPStatus(), err)
		s.writeError(w, c, err)
		return nil, false
	}
	in.Key, in.User, in.Team = id.Vars()
	exchangeOf(w).identified(id)
	return id, true
}

// admit checks allowlists and takes the reservations; it answers a
// refusal itself. A nil ticket with true means governance is off.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, c *caller, id *govern.Identity, in *router.Input, route *router.Route, req *llm.Request) (*govern.Ticket, bool) {
	g := s.opt.Gate
	if g == nil {
		return nil, true
	}
	t, err := g.Admit(r.Context(), id, in, route, req, w.Header().Get("x-request-id"))
	if err != nil {
		s.writeError(w, c, err)
		return nil, false
	}
	t.SetHeaders(w.Header(), c.dialect)
	return t, true
}

// refused records a request answered before admission (unknown model,
// policy) when governance is on.
func (s *Server) refused(w http.ResponseWriter, id *govern.Identity, model string, err error) {
	if g := s.opt.Gate; g != nil {
		g.RecordRefusal(id, model, w.Header().Get("x-request-id"), llm.AsError(err).HTTPStatus(), err)
	}
}

// meter watches a stream for the usage the upstream reports.
type meter struct {
	llm.Stream
	usage llm.Usage
	known bool
}

func (m *meter) Next() (llm.Event, error) {
	ev, err := m.Stream.Next()
	if err == nil {
		m.observe(ev)
	}
	return ev, err
}

func (m *meter) observe(ev llm.Event) {
	switch {
	case ev.Type == llm.EventResponse && ev.Response != nil:
		m.usage, m.known = ev.Response.Usage, true
	case ev.Usage != nil:
		m.usage.Merge(*ev.Usage)
		m.known = true
	}
}

// Add sums two usages (an answer asked for twice).
func addUsage(u *llm.Usage, o llm.Usage) {
	u.InputTokens += o.InputTokens
	u.OutputTokens += o.OutputTokens
	u.CacheReadTokens += o.CacheReadTokens
	u.CacheWriteTokens += o.CacheWriteTokens
	u.ReasoningTokens += o.ReasoningTokens
}

// settle ends a request with what the stream reported: the ticket
// (counters, usage log) when governance is on, then the token and cost
// metrics and the exchange (access log, span) when observation is.
func (s *Server) settle(x *exchange, t *govern.Ticket, res *router.Result, m *meter, status int, err error) {
	var obs *metrics.Target
	if res != nil {
		obs = res.Target.Metrics()
	}
	if t == nil && x == nil && obs == nil {
		return
	}
	o := govern.Outcome{Sent: true, Status: status, Err: err}
	if res != nil {
		o.Provider, o.Upstream = res.Target.Provider.Name(), res.Target.Model
	}
	if m != nil {
		o.Usage, o.UsageKnown = m.usage, m.known
	} else {
		o.UsageKnown = true // the upstream refused: nothing was generated
	}
	var cost float64
	if t != nil {
		cost = t.Finish(o)
	} else if res != nil && o.UsageKnown {
		cost = govern.Cost(o.Usage, res.Target.Price())
	}
	if res == nil {
		return
	}
	u := o.Usage
	if x != nil {
		x.usage, x.usageKnown, x.cost = u, o.UsageKnown, cost
	}
	obs.Usage(u.InputTokens, u.OutputTokens, u.CacheReadTokens, u.CacheWriteTokens, cost, x.consumer())
}

// consumer is the key name for cost_dollars_total.
func (x *exchange) consumer() string {
	if x == nil {
		return ""
	}
	return x.keyName
}
