package router

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/llm"
)

// Strategies only order targets: they return indexes into Route.Targets,
// appended to dst, and the executor runs that order.

// staleLatency is the age past which a latency sample no longer counts and
// least-latency tries the target again (so a recovered target is noticed).
const staleLatency = 30 * time.Second

// defaultOutputTokens is the output the cost strategy assumes when the
// request sets no max_tokens.
const defaultOutputTokens = 1000

// order returns the targets to try, in order.
func (r *Router) order(dst []int, rt *Route, in *Input) ([]int, error) {
	n := len(rt.Targets)
	switch rt.Strategy {
	case config.StrategyLoadBalance:
		return rt.lb.order(dst, rt.Targets, r.clock.Now()), nil
	case config.StrategyLeastLatency:
		return r.leastLatency(dst, rt.Targets), nil
	case config.StrategyCost:
		return orderByCost(dst, rt.Targets, in), nil
	case config.StrategyConditional:
		return r.conditional(dst, rt, in)
	}
	for i := 0; i < n; i++ { // single, fallback: config order
		dst = append(dst, i)
	}
	return dst, nil
}

// balancer is nginx's smooth weighted round robin: every pick adds each
// target's weight to its current value, takes the highest, and subtracts
// the total from it. Picks interleave (a:5 b:1 c:1 → a a b a c a a) and
// match the weights exactly over every cycle. Targets that are skipped
// right now (open circuit) sit out, so their share spreads over the rest.
type balancer struct {
	mu       sync.Mutex
	current  []int
	byWeight []int // fallback order after the pick: heaviest first
}

func newBalancer(targets []Target) *balancer {
	b := &balancer{current: make([]int, len(targets)), byWeight: make([]int, len(targets))}
	for i := range targets {
		b.byWeight[i] = i
	}
	sort.SliceStable(b.byWeight, func(i, j int) bool { return targets[b.byWeight[i]].Weight > targets[b.byWeight[j]].Weight })
	return b
}

func (b *balancer) pick(targets []Target, now time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	total, best := 0, -1
	for i := range targets {
		t := &targets[i]
		if t.Weight <= 0 || t.state != nil && !t.state.available(now) {
			continue
		}
		b.current[i] += t.Weight
		total += t.Weight
		if best < 0 || b.current[i] > b.current[best] {
			best = i
		}
	}
	if best >= 0 {
		b.current[best] -= total
	}
	return best
}

// order is the pick, then every other target by weight as fallbacks.
func (b *balancer) order(dst []int, targets []Target, now time.Time) []int {
	first := b.pick(targets, now)
	if first >= 0 {
		dst = append(dst, first)
	}
	for _, i := range b.byWeight {
		if i != first {
			dst = append(dst, i)
		}
	}
	return dst
}

// leastLatency orders by the average time to the first event, fastest
// first. Targets without a recent sample come first, so a new or recovered
// target is measured; and with a small chance a random target goes first,
// so averages stay current.
func (r *Router) leastLatency(dst []int, targets []Target) []int {
	now := r.clock.Now()
	var buf [16]float64
	keys := keyBuf(buf[:], len(targets))
	for i := range targets {
		var d time.Duration
		var at time.Time
		if targets[i].state != nil {
			d, at = targets[i].state.latency.value()
		}
		keys[i] = float64(d)
		if at.IsZero() || now.Sub(at) > staleLatency {
			keys[i] = -1 // explore first
		}
	}
	start := len(dst)
	dst = sortByKey(dst, keys)
	order := dst[start:]
	if len(order) > 1 && r.rand() < r.explore {
		j := min(int(r.rand()*float64(len(order))), len(order)-1)
		pick := order[j]
		copy(order[1:j+1], order[:j])
		order[0] = pick
	}
	return dst
}

// orderByCost puts the cheapest target for this request first: estimated
// input tokens × input price + max_tokens (or 1000) × output price. Targets
// without a known price go last, in config order.
func orderByCost(dst []int, targets []Target, in *Input) []int {
	out := in.MaxTokens
	if out <= 0 {
		out = defaultOutputTokens
	}
	var buf [16]float64
	keys := keyBuf(buf[:], len(targets))
	for i := range targets {
		keys[i] = math.Inf(1)
		if p := targets[i].price; p != nil {
			keys[i] = float64(in.EstimatedTokens)*p.Input + float64(out)*p.Output
		}
	}
	return sortByKey(dst, keys)
}

// conditional takes the targets whose `when` matches, in order, then the
// targets without one (the default).
func (r *Router) conditional(dst []int, rt *Route, in *Input) ([]int, error) {
	start := len(dst)
	for i := range rt.Targets {
		c := rt.Targets[i].When
		if c == nil {
			continue
		}
		ok, err := c.Match(in)
		if err != nil {
			r.logger.Debug("routing condition failed; no match", "model", rt.Name, "when", rt.Targets[i].WhenExpr, "error", err)
		}
		if ok && err == nil {
			dst = append(dst, i)
		}
	}
	for i := range rt.Targets {
		if rt.Targets[i].When == nil {
			dst = append(dst, i)
		}
	}
	if len(dst) == start {
		return dst, &llm.Error{Kind: llm.KindInvalidRequest, Param: "model",
			Message: fmt.Sprintf("no target of model %q applies to this request (no condition matched and there is no default target)", rt.Name)}
	}
	return dst, nil
}

// keyBuf returns n keys, from buf when it is large enough.
func keyBuf(buf []float64, n int) []float64 {
	if n <= len(buf) {
		return buf[:n]
	}
	return make([]float64, n)
}

// sortByKey appends the indexes of keys to dst, ordered by key, stable
// (equal keys keep config order). An insertion sort: a route has a few
// targets, and it does not allocate.
func sortByKey(dst []int, keys []float64) []int {
	start := len(dst)
	for i := range keys {
		dst = append(dst, i)
	}
	s := dst[start:]
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && keys[s[j]] < keys[s[j-1]]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return dst
}
