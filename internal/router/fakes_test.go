package router

import (
	"context"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/llm"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock only moves when told to (or when the executor sleeps).
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// reply scripts one answer of a fake provider.
type reply struct {
	err      error          // Chat fails with it (nothing sent)
	firstErr error          // the stream fails before its first event
	midErr   error          // the stream fails after its first event
	stop     llm.StopReason // non-stream stop reason
	block    bool           // Chat waits until ctx ends
	took     time.Duration  // advances the fake clock (latency)
}

// fakeProvider plays its script in order; the last reply repeats. With no
// script it answers "ok".
type fakeProvider struct {
	name  string
	clock *fakeClock

	mu     sync.Mutex
	script []reply
	calls  int
	models []string
}

func (p *fakeProvider) Name() string         { return p.name }
func (p *fakeProvider) Dialect() llm.Dialect { return llm.DialectOpenAI }

func (p *fakeProvider) next(model string) reply {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	p.models = append(p.models, model)
	if len(p.script) == 0 {
		return reply{}
	}
	rep := p.script[0]
	if len(p.script) > 1 {
		p.script = p.script[1:]
	}
	return rep
}

func (p *fakeProvider) Calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

func (p *fakeProvider) set(script ...reply) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.script = script
}

func (p *fakeProvider) Chat(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	rep := p.next(req.Model)
	if rep.took > 0 && p.clock != nil {
		p.clock.Advance(rep.took)
	}
	if rep.block {
		<-ctx.Done()
		return nil, &llm.Error{Kind: llm.KindTimeout, Message: "upstream " + p.name + " timed out", Err: ctx.Err()}
	}
	if rep.err != nil {
		return nil, rep.err
	}
	if !req.Stream {
		stop := rep.stop
		if stop == "" {
			stop = llm.StopEndTurn
		}
		resp := &llm.Response{Model: req.Model, StopReason: stop, Content: []llm.Part{llm.TextPart("from " + p.name)}}
		return &fakeStream{events: []llm.Event{{Type: llm.EventResponse, Response: resp}}, firstErr: rep.firstErr}, nil
	}
	return &fakeStream{
		events:   []llm.Event{{Type: llm.EventStart, Model: req.Model}, {Type: llm.EventDelta, Text: p.name}, {Type: llm.EventFinish, StopReason: llm.StopEndTurn}},
		firstErr: rep.firstErr,
		midErr:   rep.midErr,
	}, nil
}

func (p *fakeProvider) Embed(ctx context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	rep := p.next(req.Model)
	if rep.err != nil {
		return nil, rep.err
	}
	return &llm.EmbedResponse{Model: req.Model, Embeddings: [][]float32{{1}}}, nil
}

type fakeStream struct {
	events   []llm.Event
	pos      int
	firstErr error
	midErr   error
	closed   bool
}

func (s *fakeStream) Next() (llm.Event, error) {
	if s.pos == 0 && s.firstErr != nil {
		return llm.Event{}, s.firstErr
	}
	if s.pos == 1 && s.midErr != nil {
		return llm.Event{}, s.midErr
	}
	if s.pos >= len(s.events) {
		return llm.Event{}, io.EOF
	}
	s.pos++
	return s.events[s.pos-1], nil
}

func (s *fakeStream) Close() error { s.closed = true; return nil }

// upstream builds an upstream HTTP failure the way provider.post does.
func upstream(status int) *llm.Error {
	e := &llm.Error{Kind: llm.KindForStatus(status), Status: status, UpstreamStatus: status, Message: "upstream said HTTP " + strconv.Itoa(status)}
	if status >= 500 {
		e.Status = 0
	}
	return e
}

var errConnRefused = &llm.Error{Kind: llm.KindUpstream, Message: "cannot reach upstream", Err: io.ErrUnexpectedEOF}

// harness is a router over fake providers a, b and c.
type harness struct {
	r     *Router
	clock *fakeClock
	p     map[string]*fakeProvider
}

// fakeCompiler understands a tiny language for conditional tests:
// "stream", "big" (estimated tokens > 1000), "fail" (evaluation error).
func fakeCompiler(expr string) (Condition, error) {
	switch expr {
	case "stream", "big", "fail":
		return fakeCondition(expr), nil
	}
	return nil, errBadExpr
}

var errBadExpr = &llm.Error{Kind: llm.KindInvalidRequest, Message: "bad expression"}

type fakeCondition string

func (c fakeCondition) Match(in *Input) (bool, error) {
	switch c {
	case "stream":
		return in.Stream, nil
	case "big":
		return in.EstimatedTokens > 1000, nil
	}
	return true, errBadExpr
}

// newHarness builds a router from the models part of a config (providers
// a, b, c are fakes) with a fake clock and rand fixed at 0.5.
func newHarness(t testing.TB, yaml string) *harness {
	t.Helper()
	cfg, err := config.Parse([]byte("providers:\n  a: {type: echo}\n  b: {type: echo}\n  c: {type: echo}\n"+yaml), func(string) string { return "" })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	h := &harness{clock: newFakeClock(), p: map[string]*fakeProvider{}}
	providers := map[string]llm.Provider{}
	for _, name := range []string{"a", "b", "c"} {
		h.p[name] = &fakeProvider{name: name, clock: h.clock}
		providers[name] = h.p[name]
	}
	var prices []catalog.Entry
	for name, mi := range cfg.ModelInfo {
		prices = append(prices, catalog.Entry{Name: name, Info: llm.ModelInfo{Price: &llm.Price{Input: *mi.InputPrice, Output: *mi.OutputPrice}}})
	}
	h.r, err = New(Options{
		Config: cfg, Providers: providers, Catalog: catalog.New(catalog.Embedded(), prices),
		CompileCondition: fakeCompiler, Clock: h.clock, Rand: func() float64 { return 0.5 },
	})
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return h
}

func (h *harness) route(t testing.TB, model string) *Route {
	t.Helper()
	rt, ok := h.r.Resolve(model)
	if !ok {
		t.Fatalf("%s: not resolved", model)
	}
	return rt
}

// chat runs a request for model and drains the stream.
func (h *harness) chat(t testing.TB, model string, stream bool) (*Result, error) {
	t.Helper()
	req := &llm.Request{Model: model, Stream: stream}
	res, err := h.r.Chat(context.Background(), h.route(t, model), req, nil)
	if err != nil {
		return nil, err
	}
	for {
		if _, err := res.Stream.Next(); err != nil {
			break
		}
	}
	res.Stream.Close()
	return res, nil
}
