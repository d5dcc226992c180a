package guard_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

const cacheConfig = `
providers:
  oai: {type: openai, base_url: "{{openai}}/v1", api_key: "` + testgateway.OpenAIKey + `"}
  ant: {type: anthropic, base_url: "{{anthropic}}", api_key: "` + testgateway.AnthropicKey + `"}
guardrails:
  mask: {restore: true}
  json: {pii: off, secrets: off, schema: {}}
cache: {ttl: 1m}
models:
  gpt:    {provider: oai, model: gpt-4o-mini, cache: {}}
  claude: {provider: ant, model: claude-sonnet-4-5, cache: {ttl: 10m}}
  cross:  {provider: ant, model: claude-sonnet-4-5, cache: {}}
  masked: {provider: oai, model: gpt-4o-mini, cache: {}, guardrails: [mask]}
  plain:  {provider: oai, model: gpt-4o-mini}
  typed:  {provider: oai, model: gpt-4o-mini, cache: {}, guardrails: [json]}
`

func postH(t *testing.T, url, body string, h map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, data}
}

// TestCacheBothDialects: a repeated request is answered from the cache
// (no upstream call, the same answer, x-tidegate-cache: hit), non-stream
// and stream, on the passthrough and the translated path; streams replay
// as streams in the caller's dialect.
func TestCacheBothDialects(t *testing.T) {
	g := testgateway.Start(t, cacheConfig)
	g.OpenAI.Set(testupstream.Reply{Text: "cached words from openai"})
	g.Anthropic.Set(testupstream.Reply{Text: "cached words from anthropic"})
	cases := []struct{ path, model, want string }{
		{"/v1/chat/completions", "gpt", "cached words from openai"},
		{"/v1/messages", "claude", "cached words from anthropic"},
		{"/v1/chat/completions", "cross", "cached words from anthropic"},
	}
	for _, tc := range cases {
		for _, stream := range []bool{false, true} {
			body := `{"model":"` + tc.model + `","max_tokens":50,"messages":[{"role":"user","content":"same question"}]}`
			if stream {
				body = strings.Replace(body, "{", `{"stream":true,`, 1)
			}
			posts := g.OpenAI.Posts() + g.Anthropic.Posts()
			var first, second response
			for i, want := range []string{"miss", "hit"} {
				r := postH(t, g.URL+tc.path, body, map[string]string{"anthropic-version": "2023-06-01"})
				if r.Status != 200 || r.Header.Get("x-tidegate-cache") != want {
					t.Fatalf("%s %s stream=%v #%d: cache %q, %s", tc.path, tc.model, stream, i, r.Header.Get("x-tidegate-cache"), r)
				}
				if i == 0 {
					first = r
				} else {
					second = r
				}
			}
			if n := g.OpenAI.Posts() + g.Anthropic.Posts(); n != posts+1 {
				t.Errorf("%s %s stream=%v: %d upstream calls, want 1", tc.path, tc.model, stream, n-posts)
			}
			text := func(r response) string {
				if stream {
					s, _, _ := streamText(t, r.Body)
					return s
				}
				return gjson.GetBytes(r.Body, "choices.0.message.content").String() + gjson.GetBytes(r.Body, "content.0.text").String()
			}
			if text(first) != tc.want || text(second) != tc.want {
				t.Errorf("%s %s stream=%v: %q then %q", tc.path, tc.model, stream, text(first), text(second))
			}
			if stream && (!strings.HasPrefix(second.Header.Get("Content-Type"), "text/event-stream") || !strings.Contains(string(second.Body), "data: ")) {
				t.Errorf("a cached stream was not replayed as a stream: %s", second.Body)
			}
			if stream && tc.path == "/v1/messages" && !strings.Contains(string(second.Body), "event: message_stop") {
				t.Errorf("replayed Anthropic stream does not end with message_stop: %s", second.Body)
			}
			if stream && tc.path == "/v1/chat/completions" && !strings.Contains(string(second.Body), "data: [DONE]") {
				t.Errorf("replayed OpenAI stream does not end with [DONE]: %s", second.Body)
			}
		}
	}
}

// TestCacheBypassAndFailures: no-store and x-tidegate-cache: off bypass,
// errors are never stored, uncached models carry no header, and a masked
// answer is stored with placeholders and restored per request.
func TestCacheBypassAndFailures(t *testing.T) {
	g := testgateway.Start(t, cacheConfig)
	body := `{"model":"gpt","messages":[{"role":"user","content":"q"}]}`
	for _, h := range []map[string]string{{"Cache-Control": "no-store"}, {"x-tidegate-cache": "off"}} {
		r := postH(t, g.URL+"/v1/chat/completions", body, h)
		if r.Status != 200 || r.Header.Get("x-tidegate-cache") != "bypass" {
			t.Fatalf("%v: %q %s", h, r.Header.Get("x-tidegate-cache"), r)
		}
	}
	if r := postH(t, g.URL+"/v1/chat/completions", body, nil); r.Header.Get("x-tidegate-cache") != "miss" {
		t.Fatalf("bypassed answers were stored: %q", r.Header.Get("x-tidegate-cache"))
	}
	// A failure is not stored.
	g.OpenAI.Set(testupstream.Reply{Status: 500})
	failing := `{"model":"gpt","messages":[{"role":"user","content":"fails"}]}`
	if r := postH(t, g.URL+"/v1/chat/completions", failing, nil); r.Status != http.StatusBadGateway {
		t.Fatal(r)
	}
	g.OpenAI.Set(testupstream.Reply{Text: "ok now"})
	if r := postH(t, g.URL+"/v1/chat/completions", failing, nil); r.Status != 200 || r.Header.Get("x-tidegate-cache") != "miss" {
		t.Fatalf("an error was cached: %q %s", r.Header.Get("x-tidegate-cache"), r)
	}
	// A stream cut mid-way is not stored.
	g.OpenAI.Set(testupstream.Reply{Text: "one two three four", CutAfter: 2})
	cut := `{"model":"gpt","stream":true,"messages":[{"role":"user","content":"cut"}]}`
	postH(t, g.URL+"/v1/chat/completions", cut, nil)
	g.OpenAI.Set(testupstream.Reply{Text: "whole"})
	if r := postH(t, g.URL+"/v1/chat/completions", cut, nil); r.Header.Get("x-tidegate-cache") != "miss" {
		t.Fatalf("a cut stream was cached: %q", r.Header.Get("x-tidegate-cache"))
	}
	// A stream that fails its schema reached its end upstream, but is not
	// stored.
	typed := `{"model":"typed","stream":true,"messages":[{"role":"user","content":"q"}],"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object","required":["age"]}}}}`
	g.OpenAI.Set(testupstream.Reply{Text: "{}"})
	for range 2 {
		r := postH(t, g.URL+"/v1/chat/completions", typed, nil)
		if _, _, e := streamText(t, r.Body); r.Header.Get("x-tidegate-cache") != "miss" || !strings.Contains(e, "schema") {
			t.Fatalf("typed stream: cache %q, error %q", r.Header.Get("x-tidegate-cache"), e)
		}
	}
	if r := postH(t, g.URL+"/v1/chat/completions", `{"model":"plain","messages":[{"role":"user","content":"q"}]}`, nil); r.Header.Get("x-tidegate-cache") != "" {
		t.Fatalf("uncached model has x-tidegate-cache %q", r.Header.Get("x-tidegate-cache"))
	}

	// Masking: two callers whose e-mails differ share the redacted prompt,
	// so the second is a hit, but each gets its own e-mail back.
	g.OpenAI.Set(testupstream.Reply{Text: "Hello [EMAIL_1]"})
	for i, email := range []string{"ann@example.com", "bob@example.com"} {
		r := postH(t, g.URL+"/v1/chat/completions", `{"model":"masked","messages":[{"role":"user","content":"I am `+email+`"}]}`, nil)
		if got := gjson.GetBytes(r.Body, "choices.0.message.content").String(); got != "Hello "+email {
			t.Errorf("caller %d got %q (cache %s)", i, got, r.Header.Get("x-tidegate-cache"))
		}
		if want := []string{"miss", "hit"}[i]; r.Header.Get("x-tidegate-cache") != want {
			t.Errorf("caller %d: cache %q, want %q", i, r.Header.Get("x-tidegate-cache"), want)
		}
	}
}

// TestCacheRedis: two gateways sharing Redis share the cache (a hit on
// the second after a miss on the first), under a key prefix of the test's
// own that is removed afterwards.
func TestCacheRedis(t *testing.T) {
	addr := os.Getenv("TIDEGATE_TEST_REDIS")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	client := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second})
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		t.Skipf("redis not reachable at %s (set TIDEGATE_TEST_REDIS): %v", addr, err)
	}
	prefix := fmt.Sprintf("tidegate-e2e-cache-%d:", time.Now().UnixNano())
	t.Cleanup(func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
	})
	yaml := `
redis: redis://` + addr + `/0
counters: {prefix: "` + prefix + `counters:"}
providers:
  oai: {type: openai, base_url: "{{openai}}/v1", api_key: "` + testgateway.OpenAIKey + `"}
cache: {backend: redis, prefix: "` + prefix + `", ttl: 30s}
models:
  gpt: {provider: oai, model: gpt-4o-mini, cache: {}}
`
	a, b := testgateway.Start(t, yaml), testgateway.Start(t, yaml)
	a.OpenAI.Set(testupstream.Reply{Text: "shared answer"})
	body := `{"model":"gpt","stream":true,"messages":[{"role":"user","content":"shared"}]}`
	if r := postH(t, a.URL+"/v1/chat/completions", body, nil); r.Header.Get("x-tidegate-cache") != "miss" {
		t.Fatalf("first: %q %s", r.Header.Get("x-tidegate-cache"), r)
	}
	r := postH(t, b.URL+"/v1/chat/completions", body, nil)
	if text, _, _ := streamText(t, r.Body); r.Header.Get("x-tidegate-cache") != "hit" || text != "shared answer" || b.OpenAI.Posts() != 0 {
		t.Fatalf("second gateway: %q %q (%d upstream calls)", r.Header.Get("x-tidegate-cache"), text, b.OpenAI.Posts())
	}
	keys, err := client.Keys(context.Background(), prefix+"*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("no cache keys under %s: %v", prefix, err)
	}
	for _, k := range keys {
		if ttl := client.PTTL(context.Background(), k).Val(); !strings.HasPrefix(k, prefix+"counters:") && (ttl <= 0 || ttl > 30*time.Second) {
			t.Errorf("%s has TTL %v, want (0, 30s]", k, ttl)
		}
	}
}
