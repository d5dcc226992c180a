package router

import (
	"context"
	"testing"

	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/llm"
)

// benchProvider answers every request with the same one-event stream, so
// the benchmark measures the router, not the fake.
type benchProvider struct {
	name   string
	stream benchStream
}

type benchStream struct{ ev llm.Event }

func (s *benchStream) Next() (llm.Event, error) { return s.ev, nil }
func (s *benchStream) Close() error             { return nil }

func (p *benchProvider) Name() string         { return p.name }
func (p *benchProvider) Dialect() llm.Dialect { return llm.DialectOpenAI }
func (p *benchProvider) Chat(context.Context, *llm.Request) (llm.Stream, error) {
	return &p.stream, nil
}
func (p *benchProvider) Embed(context.Context, *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	return nil, nil
}

// BenchmarkChat is one routing decision and one attempt: resolve the
// model, order its targets, check the breaker, call the provider, read the
// first event, record the outcome and close.
func BenchmarkChat(b *testing.B) {
	for _, strategy := range []string{"fallback", "loadbalance", "least-latency", "cost"} {
		b.Run(strategy, func(b *testing.B) {
			cfg, err := config.Parse([]byte(`
providers: {a: {type: echo}, b: {type: echo}}
models:
  m:
    strategy: `+strategy+`
    targets: [{provider: a, model: gpt-4o-mini}, {provider: b, model: gpt-4o}]
`), func(string) string { return "" })
			if err != nil {
				b.Fatal(err)
			}
			resp := &llm.Response{Model: "gpt-4o-mini"}
			providers := map[string]llm.Provider{}
			for _, n := range []string{"a", "b"} {
				providers[n] = &benchProvider{name: n, stream: benchStream{ev: llm.Event{Type: llm.EventResponse, Response: resp}}}
			}
			r, err := New(Options{Config: cfg, Providers: providers})
			if err != nil {
				b.Fatal(err)
			}
			req := &llm.Request{Model: "m"}
			in := &Input{Model: "m", EstimatedTokens: 250}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				rt, err := r.Route(in)
				if err != nil {
					b.Fatal(err)
				}
				res, err := r.Chat(ctx, rt, req, in)
				if err != nil {
					b.Fatal(err)
				}
				res.Stream.Close()
			}
		})
	}
}
