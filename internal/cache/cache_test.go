package cache

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/llm"
)

func TestKeyNormalises(t *testing.T) {
	a := `{"model":"x","messages":[{"role":"user","content":"hi \u00e9"}],"temperature":0.5,"stream":false}`
	b := "{ \"temperature\":0.5, \"messages\":[{\"content\":\"hi é\",\"role\":\"user\"}],\n \"model\":\"other\",\"stream_options\":{\"include_usage\":true}}"
	k := func(body string) string {
		return Key(llm.DialectOpenAI, "/v1/chat/completions", "m", "", false, []byte(body))
	}
	if k(a) != k(b) {
		t.Fatal("key order, whitespace, escapes, model and stream fields changed the key")
	}
	for name, other := range map[string]string{
		"message":     Key(llm.DialectOpenAI, "/v1/chat/completions", "m", "", false, []byte(strings.Replace(a, "hi", "ho", 1))),
		"param":       Key(llm.DialectOpenAI, "/v1/chat/completions", "m", "", false, []byte(strings.Replace(a, "0.5", "0.6", 1))),
		"model":       Key(llm.DialectOpenAI, "/v1/chat/completions", "n", "", false, []byte(a)),
		"scope":       Key(llm.DialectOpenAI, "/v1/chat/completions", "m", "key_1", false, []byte(a)),
		"stream":      Key(llm.DialectOpenAI, "/v1/chat/completions", "m", "", true, []byte(a)),
		"dialect":     Key(llm.DialectAnthropic, "/v1/chat/completions", "m", "", false, []byte(a)),
		"nested tool": Key(llm.DialectOpenAI, "/v1/chat/completions", "m", "", false, []byte(strings.Replace(a, `"temperature"`, `"tools":[{"a":1}],"temperature"`, 1))),
	} {
		if other == k(a) {
			t.Errorf("a different %s gave the same key", name)
		}
	}
}

func TestBypass(t *testing.T) {
	for h, want := range map[string]bool{
		"Cache-Control: no-store":            true,
		"Cache-Control: max-age=0, NO-STORE": true,
		"Cache-Control: no-cache":            false,
		"X-Tidegate-Cache: off":              true,
		"X-Tidegate-Cache: on":               false,
	} {
		name, value, _ := strings.Cut(h, ": ")
		hdr := http.Header{}
		hdr.Set(name, value)
		if bypass(hdr) != want {
			t.Errorf("%s: bypass %v", h, !want)
		}
	}
}

func TestMemoryLRUBoundedByBytes(t *testing.T) {
	now := time.Unix(1000, 0)
	m := NewMemory(100, func() time.Time { return now })
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		_ = m.Set(ctx, fmt.Sprint("k", i), make([]byte, 28), time.Minute) // 30 bytes each
	}
	if m.Size() > 100 {
		t.Fatalf("size %d over the bound", m.Size())
	}
	if _, ok, _ := m.Get(ctx, "k0"); ok {
		t.Error("the oldest entry survived")
	}
	if _, ok, _ := m.Get(ctx, "k4"); !ok {
		t.Error("the newest entry was evicted")
	}
	// Use k2, then add: k3 is now the least recently used.
	_, _, _ = m.Get(ctx, "k2")
	_ = m.Set(ctx, "k5", make([]byte, 28), time.Minute)
	if _, ok, _ := m.Get(ctx, "k2"); !ok {
		t.Error("a recently used entry was evicted")
	}
	if _, ok, _ := m.Get(ctx, "k3"); ok {
		t.Error("the least recently used entry survived")
	}
	_ = m.Set(ctx, "huge", make([]byte, 200), time.Minute)
	if _, ok, _ := m.Get(ctx, "huge"); ok || m.Size() > 100 {
		t.Error("an entry larger than the cache was stored")
	}
	now = now.Add(2 * time.Minute)
	if _, ok, _ := m.Get(ctx, "k5"); ok {
		t.Error("an expired entry was served")
	}
}

func cfg(t *testing.T, yaml string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(yaml), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBeginPerModel(t *testing.T) {
	c, err := New(cfg(t, `
providers: {e: {type: echo}}
cache: {ttl: 1m}
models:
  on:  {provider: e, model: echo, cache: {ttl: 10m, scope: key}}
  off: {provider: e, model: echo}
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"messages":[]}`)
	if r := c.Begin("off", llm.DialectOpenAI, "/p", false, body, http.Header{}, ""); r != nil {
		t.Fatal("an uncached model got a cache request")
	}
	r := c.Begin("on", llm.DialectOpenAI, "/p", false, body, http.Header{}, "key_a")
	if r == nil || r.ttl != 10*time.Minute {
		t.Fatalf("%+v", r)
	}
	if r2 := c.Begin("on", llm.DialectOpenAI, "/p", false, body, http.Header{}, "key_b"); r2.key == r.key {
		t.Error("scope key: two keys share an entry")
	}
	if none, _ := New(cfg(t, "providers: {e: {type: echo}}\n"), Options{}); none != nil {
		t.Error("a config without caching built a cache")
	}
	if (*Cache)(nil).Begin("on", llm.DialectOpenAI, "/p", false, body, nil, "") != nil {
		t.Error("nil cache")
	}
}

// TestRoundTrip stores and looks up through Begin on the memory store and,
// when reachable, on Redis under a prefix of its own.
func TestRoundTrip(t *testing.T) {
	conf := cfg(t, "providers: {e: {type: echo}}\ncache: {all_models: true, ttl: 1m}\nmodels:\n  m: {provider: e, model: echo}\n")
	stores := map[string]Store{"memory": NewMemory(1<<20, time.Now)}
	if client := redisClient(t); client != nil {
		prefix := fmt.Sprintf("tidegate-test:cache:%d:", time.Now().UnixNano())
		t.Cleanup(func() { cleanRedis(client, prefix); _ = client.Close() })
		stores["redis"] = NewRedis(client, prefix, false)
	}
	for name, store := range stores {
		t.Run(name, func(t *testing.T) {
			var seen []string
			c := NewWithStore(conf, store, Options{Observe: func(model, result string) { seen = append(seen, model+":"+result) }})
			ctx := context.Background()
			body := []byte(`{"messages":[{"role":"user","content":"hi"}]}`)
			r := c.Begin("m", llm.DialectOpenAI, "/p", true, body, http.Header{}, "")
			if _, hit := r.Lookup(ctx); hit || r.Header() != Miss {
				t.Fatal("hit on an empty cache")
			}
			u := llm.Usage{InputTokens: 3, OutputTokens: 2}
			ev, _ := FromEvent(llm.Event{Type: llm.EventBlockStart, Part: &llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "c", Name: "f"}}})
			fin, _ := FromEvent(llm.Event{Type: llm.EventFinish, StopReason: llm.StopToolUse, Usage: &u})
			if err := r.Store(ctx, &Entry{Events: []Event{ev, fin}, Provider: "p"}); err != nil {
				t.Fatal(err)
			}
			r = c.Begin("m", llm.DialectOpenAI, "/p", true, body, http.Header{}, "")
			e, hit := r.Lookup(ctx)
			if !hit || r.Header() != Hit || len(e.Events) != 2 {
				t.Fatalf("no hit: %+v", e)
			}
			got := e.Events[0].Event()
			if got.Part.ToolCall.Name != "f" || e.Events[1].Event().Usage.OutputTokens != 2 || e.Events[1].Event().StopReason != llm.StopToolUse {
				t.Fatalf("replayed %+v", e.Events)
			}
			h := http.Header{}
			h.Set("Cache-Control", "no-store")
			r = c.Begin("m", llm.DialectOpenAI, "/p", true, body, h, "")
			if _, hit := r.Lookup(ctx); hit || r.Header() != Bypass {
				t.Fatal("no-store was served from the cache")
			}
			if strings.Join(seen, ",") != "m:miss,m:hit,m:bypass" {
				t.Errorf("observed %v", seen)
			}
		})
	}
}

func redisClient(t *testing.T) *redis.Client {
	addr := os.Getenv("TIDEGATE_TEST_REDIS")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	client := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		t.Logf("redis not reachable at %s (set TIDEGATE_TEST_REDIS): the redis case is skipped: %v", addr, err)
		return nil
	}
	return client
}

func cleanRedis(client *redis.Client, prefix string) {
	ctx := context.Background()
	iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		client.Del(ctx, iter.Val())
	}
}
