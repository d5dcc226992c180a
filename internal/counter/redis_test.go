package counter

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// countHook counts the commands a go-redis client sends.
type countHook struct {
	n     atomic.Int64
	keep  bool // record the names too
	mu    sync.Mutex
	names []string
}

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		if h.keep {
			h.mu.Lock()
			h.names = append(h.names, cmd.Name())
			h.mu.Unlock()
		}
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// take returns the commands sent since the last take.
func (h *countHook) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.names
	h.names = nil
	return out
}

func fullReservation() *Reservation {
	return &Reservation{
		ID: newID(),
		Requests: []Window{
			{Key: "key:k:rpm", Limit: 1 << 40, Window: time.Second},
			{Key: "team:t:rpm", Limit: 1 << 40, Window: time.Second},
		},
		Tokens:      []Window{{Key: "key:k:tpm", Limit: 1 << 50, Window: time.Second}},
		TokenAmount: 1000,
		Budgets:     []Budget{{Key: "key:k:budget:total", Limit: 1 << 60}},
		Cost:        500,
		TTL:         time.Minute,
	}
}

func TestRedisOneRoundTrip(t *testing.T) {
	client := redisClient(t)
	hook := &countHook{keep: true}
	client.AddHook(hook)
	c := NewRedis(client, testPrefix(t, client), newFakeClock().Now)

	// The first Reserve of a budget seeds it: two round trips.
	r := fullReservation()
	expectAllowed(t, mustReserve(t, c, r), true)
	mustSettle(t, c, r, Usage{Tokens: 10, Cost: 5})
	hook.take()

	for range 3 {
		r := fullReservation()
		expectAllowed(t, mustReserve(t, c, r), true)
		if got := hook.take(); len(got) != 1 || got[0] != "evalsha" {
			t.Fatalf("Reserve sent %v, want one evalsha", got)
		}
		mustSettle(t, c, r, Usage{Tokens: 10, Cost: 5})
		if got := hook.take(); len(got) != 1 || got[0] != "evalsha" {
			t.Fatalf("Settle sent %v, want one evalsha", got)
		}
	}

	// A server that lost its scripts gets them again through EVAL.
	if err := client.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	hook.take()
	expectAllowed(t, mustReserve(t, c, fullReservation()), true)
	if got := strings.Join(hook.take(), " "); got != "evalsha eval" {
		t.Fatalf("after SCRIPT FLUSH Reserve sent %q, want evalsha then eval", got)
	}
	expectAllowed(t, mustReserve(t, c, fullReservation()), true)
	if got := hook.take(); len(got) != 1 {
		t.Fatalf("Reserve sent %v, want one command", got)
	}
}

func TestRedisUnavailable(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer client.Close()
	c := NewRedis(client, "tgtest:down:", nil)
	r := fullReservation()
	if _, err := c.Reserve(ctx, r); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Reserve: %v, want ErrUnavailable", err)
	}
	if err := c.Settle(ctx, r, Usage{Tokens: 1, Cost: 1}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Settle: %v, want ErrUnavailable", err)
	}
}

// TestRedisKeysExpire: idle state vanishes by itself; only a budget
// without a period end stays.
func TestRedisKeysExpire(t *testing.T) {
	client := redisClient(t)
	prefix := testPrefix(t, client)
	clk := newFakeClock()
	c := NewRedis(client, prefix, clk.Now)
	r := fullReservation()
	r.Budgets = append(r.Budgets, Budget{Key: "key:k:budget:daily", Limit: 1 << 40, Expires: clk.Now().Add(time.Hour)})
	expectAllowed(t, mustReserve(t, c, r), true)
	keys, err := client.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1+2+2+3+3 {
		t.Fatalf("keys %v", keys)
	}
	for _, k := range keys {
		ttl := client.PTTL(ctx, k).Val()
		switch {
		case k == prefix+"b:key:k:budget:total":
			if ttl != -1 {
				t.Errorf("%s: TTL %v, want none", k, ttl)
			}
		case k == prefix+"b:key:k:budget:daily":
			if ttl <= 59*time.Minute || ttl > time.Hour {
				t.Errorf("%s: TTL %v, want the period end", k, ttl)
			}
		case ttl <= 0:
			t.Errorf("%s: no TTL", k)
		}
	}
}

func TestRedisClusterPrefix(t *testing.T) {
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	defer cluster.Close()
	single := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer single.Close()
	for _, tc := range []struct {
		client redis.UniversalClient
		in     string
		want   string
	}{
		{cluster, "tidegate:", "{tidegate:}"},
		{cluster, "{tg}:", "{tg}:"},
		{cluster, "x{}:", "{x{}:}"},
		{cluster, "", "{tidegate:}"},
		{single, "tidegate:", "tidegate:"},
	} {
		if got := NewRedis(tc.client, tc.in, nil).prefix; got != tc.want {
			t.Errorf("prefix %q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}
