package router

import (
	"math"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/llm"
)

func orderOf(t *testing.T, h *harness, model string, in *Input) []string {
	t.Helper()
	rt := h.route(t, model)
	if in == nil {
		in = &Input{Model: model}
	}
	idx, err := h.r.order(nil, rt, in)
	if err != nil {
		t.Fatalf("order: %v", err)
	}
	out := make([]string, len(idx))
	for i, j := range idx {
		out[i] = rt.Targets[j].Provider.Name()
	}
	return out
}

func TestLoadBalanceWeights(t *testing.T) {
	h := newHarness(t, `
models:
  lb:
    strategy: loadbalance
    targets:
      - {provider: a, model: ma, weight: 5}
      - {provider: b, model: mb, weight: 3}
      - {provider: c, model: mc, weight: 2}
`)
	const picks = 10000
	counts := map[string]int{}
	for i := 0; i < picks; i++ {
		order := orderOf(t, h, "lb", nil)
		counts[order[0]]++
		if len(order) != 3 {
			t.Fatalf("order %v: every target must follow as a fallback", order)
		}
	}
	for name, weight := range map[string]float64{"a": 0.5, "b": 0.3, "c": 0.2} {
		share := float64(counts[name]) / picks
		if math.Abs(share-weight) > 0.05*weight {
			t.Errorf("%s: share %.4f, want %.2f ±5%%", name, share, weight)
		}
	}
	// Smooth: picks interleave, exactly the weights over every cycle.
	seq := ""
	for i := 0; i < 10; i++ {
		seq += orderOf(t, h, "lb", nil)[0]
	}
	if seq != "abcaabacba" {
		t.Errorf("picks %s, want nginx's smooth sequence abcaabacba", seq)
	}
}

func TestLoadBalanceFallbacksAndOpenTargets(t *testing.T) {
	h := newHarness(t, `
breaker: {failures: 1}
models:
  lb:
    strategy: loadbalance
    targets:
      - {provider: a, model: ma, weight: 1}
      - {provider: b, model: mb, weight: 3}
      - {provider: c, model: mc, weight: 0}
`)
	first := orderOf(t, h, "lb", nil)
	if first[0] != "b" || first[1] != "a" || first[2] != "c" {
		t.Fatalf("order %v: the pick, then by weight, weight 0 last", first)
	}
	// Open b: its share goes to a; c (weight 0) is never picked.
	h.p["b"].set(reply{err: upstream(500)})
	for h.p["b"].Calls() == 0 { // until b's turn comes: it fails and opens, a answers
		if res, err := h.chat(t, "lb", false); err != nil || res.Target.Provider.Name() == "c" {
			t.Fatalf("chat: %v", err)
		}
	}
	for i := 0; i < 20; i++ {
		if o := orderOf(t, h, "lb", nil); o[0] != "a" {
			t.Fatalf("pick %d: %v, want a while b is open", i, o)
		}
	}
}

func TestLeastLatency(t *testing.T) {
	h := newHarness(t, `
models:
  ll:
    strategy: least-latency
    targets: [{provider: a, model: ma}, {provider: b, model: mb}, {provider: c, model: mc}]
`)
	h.r.explore = 0
	// No samples yet: config order, each explored in turn.
	if o := orderOf(t, h, "ll", nil); o[0] != "a" {
		t.Fatalf("order %v", o)
	}
	h.p["a"].set(reply{took: 300 * time.Millisecond})
	h.p["b"].set(reply{took: 100 * time.Millisecond})
	h.p["c"].set(reply{took: 200 * time.Millisecond})
	for i := 0; i < 3; i++ { // a, then b, then c are measured
		h.chat(t, "ll", false)
	}
	if o := orderOf(t, h, "ll", nil); o[0] != "b" || o[1] != "c" || o[2] != "a" {
		t.Fatalf("order %v, want fastest first b c a", o)
	}
	// The EWMA follows: b slows down.
	h.p["b"].set(reply{took: time.Second})
	h.chat(t, "ll", false)
	if o := orderOf(t, h, "ll", nil); o[0] != "c" {
		t.Fatalf("order %v after b slowed down", o)
	}
	// A stale sample is explored again (a recovered target gets noticed).
	h.clock.Advance(20 * time.Second)
	h.chat(t, "ll", false) // c refreshed
	h.p["c"].set(reply{took: 200 * time.Millisecond})
	h.clock.Advance(15 * time.Second) // a and b are 35 s old, c 15 s
	if o := orderOf(t, h, "ll", nil); o[0] != "a" || o[1] != "b" || o[2] != "c" {
		t.Fatalf("order %v, want the stale a and b explored first", o)
	}
}

func TestLeastLatencyExploration(t *testing.T) {
	h := newHarness(t, `
models:
  ll:
    strategy: least-latency
    targets: [{provider: a, model: ma}, {provider: b, model: mb}, {provider: c, model: mc}]
`)
	for _, p := range []string{"a", "b", "c"} {
		h.p[p].set(reply{took: map[string]time.Duration{"a": 10, "b": 20, "c": 30}[p] * time.Millisecond})
		h.chat(t, "ll", false)
	}
	draws := []float64{0.01, 0.9} // explore (0.01 < 5%), then pick index int(0.9*3) = 2
	h.r.rand = func() float64 { d := draws[0]; draws = append(draws[1:], d); return d }
	if o := orderOf(t, h, "ll", nil); o[0] != "c" || o[1] != "a" || o[2] != "b" {
		t.Fatalf("exploration order %v, want c a b", o)
	}
	h.r.rand = func() float64 { return 0.5 } // no exploration
	if o := orderOf(t, h, "ll", nil); o[0] != "a" {
		t.Fatalf("order %v", o)
	}
}

func TestCost(t *testing.T) {
	h := newHarness(t, `
model_info:
  cheap-in:  {input_price: 0.1, output_price: 10}
  cheap-out: {input_price: 5, output_price: 1}
models:
  cost:
    strategy: cost
    targets:
      - {provider: a, model: unknown-model}
      - {provider: b, model: cheap-in}
      - {provider: c, model: cheap-out}
  real:
    strategy: cost
    targets: [{provider: a, model: claude-opus-4-1}, {provider: b, model: gpt-4o-mini}, {provider: c, model: claude-sonnet-4-5}]
`)
	// cheap-in: 1000×0.1 + 1000×10 = 10100; cheap-out: 1000×5 + 1000×1 = 6000.
	if o := orderOf(t, h, "cost", &Input{EstimatedTokens: 1000}); o[0] != "c" || o[1] != "b" || o[2] != "a" {
		t.Errorf("order %v, want cheap-out, cheap-in, unknown last", o)
	}
	// A long prompt and a short answer: input price dominates.
	if o := orderOf(t, h, "cost", &Input{EstimatedTokens: 100000, MaxTokens: 10}); o[0] != "b" || o[2] != "a" {
		t.Errorf("order %v, want cheap-in first", o)
	}
	if o := orderOf(t, h, "real", &Input{EstimatedTokens: 500}); o[0] != "b" || o[1] != "c" || o[2] != "a" {
		t.Errorf("embedded prices: order %v, want gpt-4o-mini, sonnet, opus", o)
	}
}

func TestCostNeedsNoCatalogue(t *testing.T) {
	h := newHarness(t, "models:\n  cost: {strategy: cost, targets: [{provider: a, model: x}, {provider: b, model: y}]}\n")
	h.r.catalog = nil
	if o := orderOf(t, h, "cost", nil); o[0] != "a" || o[1] != "b" {
		t.Errorf("unknown prices keep config order: %v", o)
	}
}

func TestConditional(t *testing.T) {
	h := newHarness(t, `
models:
  cond:
    strategy: conditional
    targets:
      - {provider: a, model: ma, when: big}
      - {provider: b, model: mb, when: stream}
      - {provider: c, model: mc}
  broken:
    strategy: conditional
    targets: [{provider: a, model: ma, when: fail}, {provider: b, model: mb, when: stream}]
`)
	cases := []struct {
		in   Input
		want string
	}{
		{Input{}, "c"},
		{Input{Stream: true}, "bc"},
		{Input{EstimatedTokens: 5000}, "ac"},
		{Input{EstimatedTokens: 5000, Stream: true}, "abc"},
	}
	for _, c := range cases {
		got := ""
		for _, p := range orderOf(t, h, "cond", &c.in) {
			got += p
		}
		if got != c.want {
			t.Errorf("%+v: order %s, want %s", c.in, got, c.want)
		}
	}
	// An evaluation error is no match; no match and no default is a 400.
	if o := orderOf(t, h, "broken", &Input{Stream: true}); len(o) != 1 || o[0] != "b" {
		t.Errorf("order %v", o)
	}
	_, err := h.r.order(nil, h.route(t, "broken"), &Input{})
	if e := llm.AsError(err); e.HTTPStatus() != 400 {
		t.Errorf("no applicable target: %v", err)
	}
	// Through the executor, with the Input the server builds.
	res, err := h.r.Chat(t.Context(), h.route(t, "cond"), &llm.Request{Model: "cond"}, &Input{EstimatedTokens: 4000})
	if err != nil || res.Target.Provider.Name() != "a" {
		t.Fatalf("chat: %v", err)
	}
	res.Stream.Close()
}
