package counter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// fakeClock starts at the real time (so Redis's own key expiry, which only
// collects idle state, stays in the future) and moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now().Truncate(time.Second)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// backend builds one counter on a clock.
type backend struct {
	name string
	new  func(t testing.TB, clock Clock) Counter
}

var backends = []backend{
	{"memory", func(t testing.TB, clock Clock) Counter { return NewMemory(clock) }},
	{"redis", func(t testing.TB, clock Clock) Counter {
		client := redisClient(t)
		return NewRedis(client, testPrefix(t, client), clock)
	}},
}

// each runs f against every backend, each on its own fake clock.
func each(t *testing.T, f func(t *testing.T, c Counter, clk *fakeClock)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			clk := newFakeClock()
			c := b.new(t, clk.Now)
			t.Cleanup(func() { _ = c.Close() })
			f(t, c, clk)
		})
	}
}

func redisAddr() string {
	if a := os.Getenv("TIDEGATE_TEST_REDIS"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// redisReachable pings the test Redis once per test binary.
var redisReachable = sync.OnceValue(func() error {
	client := redis.NewClient(&redis.Options{Addr: redisAddr(), MaxRetries: -1})
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return client.Ping(ctx).Err()
})

// redisClient connects to the test Redis or skips the test.
func redisClient(t testing.TB) *redis.Client {
	t.Helper()
	if err := redisReachable(); err != nil {
		t.Skipf("redis not reachable at %s (set TIDEGATE_TEST_REDIS to another address): %v", redisAddr(), err)
	}
	client := redis.NewClient(&redis.Options{Addr: redisAddr(), PoolSize: 64})
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// testPrefix returns a fresh key prefix and deletes its keys at cleanup.
func testPrefix(t testing.TB, client *redis.Client) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "tgtest:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			client.Del(ctx, keys...)
		}
	})
	return prefix
}

var idSeq atomic.Int64

func newID() string { return "r" + strconv.FormatInt(idSeq.Add(1), 10) }
