package routing_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/testbinary"
	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// fallbackConfig: model "smart" tries OpenAI (twice) and then Anthropic.
const fallbackConfig = providers + `
models:
  smart:
    strategy: fallback
    targets:
      - {provider: oai, model: gpt-4o-mini, retry: {attempts: 2, backoff: 10ms}}
      - {provider: ant, model: claude-sonnet-4-5}
`

// TestRetrySameTarget: a 500 then a success is answered by the same
// target on its second attempt; the other target never hears of it.
func TestRetrySameTarget(t *testing.T) {
	g := testgateway.Start(t, fallbackConfig)
	g.OpenAI.Script(testupstream.Reply{Status: 500}, testupstream.Reply{Text: "second time lucky"})
	r := chat(t, g, "smart")
	served(t, r, "oai", 2)
	if !strings.Contains(string(r.Body), "second time lucky") {
		t.Errorf("body %s", r.Body)
	}
	if g.OpenAI.Posts() != 2 || g.Anthropic.Posts() != 0 {
		t.Errorf("upstream requests: openai %d (want 2), anthropic %d (want 0)", g.OpenAI.Posts(), g.Anthropic.Posts())
	}
}

// TestRetryAfterShort: a 429 whose retry-after-ms is within
// max_retry_after is retried on the same target after that wait.
func TestRetryAfterShort(t *testing.T) {
	g := testgateway.Start(t, fallbackConfig)
	g.OpenAI.Script(testupstream.Reply{Status: 429, Header: map[string]string{"retry-after-ms": "300"}}, testupstream.Reply{Text: "after the wait"})
	start := time.Now()
	r := chat(t, g, "smart")
	served(t, r, "oai", 2)
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("retried after %s; the upstream asked for 300ms", el)
	}
	if g.Anthropic.Posts() != 0 {
		t.Error("the fallback target was called")
	}
}

// TestRetryAfterLong: a Retry-After above max_retry_after is not waited
// for: the next target answers at once.
func TestRetryAfterLong(t *testing.T) {
	g := testgateway.Start(t, fallbackConfig)
	g.OpenAI.Set(testupstream.Reply{Status: 429, Header: map[string]string{"Retry-After": "120"}})
	start := time.Now()
	r := chat(t, g, "smart")
	served(t, r, "ant", 2)
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("answered after %s; a long Retry-After must move on at once", el)
	}
	if g.OpenAI.Posts() != 1 {
		t.Errorf("openai got %d requests, want 1 (no retry against a long Retry-After)", g.OpenAI.Posts())
	}
}

// TestConnectionRefusedFallsBack: a provider nobody listens for is
// skipped over to the next target.
func TestConnectionRefusedFallsBack(t *testing.T) {
	g := testgateway.Start(t, providers+`
  dead: {type: openai, base_url: "http://`+testbinary.FreeAddr(t)+`/v1", api_key: k, connect_timeout: 1s}
models:
  smart:
    targets:
      - {provider: dead, model: gpt-4o}
      - {provider: oai, model: gpt-4o-mini}
`)
	r := chat(t, g, "smart")
	served(t, r, "oai", 2)
	if got := r.Header.Get("x-tidegate-model"); got != "gpt-4o-mini" {
		t.Errorf("x-tidegate-model %q", got)
	}
}

// TestSlowFirstByteFallsBack: an upstream slower than first_byte_timeout
// is abandoned for the next target, quickly.
func TestSlowFirstByteFallsBack(t *testing.T) {
	g := testgateway.Start(t, `
providers:
  oai: {type: openai, base_url: "{{openai}}/v1", api_key: k, first_byte_timeout: 200ms}
  ant: {type: anthropic, base_url: "{{anthropic}}", api_key: k}
models:
  smart: {targets: [{provider: oai, model: gpt-4o-mini}, {provider: ant, model: claude-sonnet-4-5}]}
`)
	g.OpenAI.Set(testupstream.Reply{Text: "too late", Delay: 5 * time.Second})
	for _, stream := range []bool{false, true} {
		start := time.Now()
		var r response
		if stream {
			r, _ = streamChat(t, g, "openai", "smart")
		} else {
			r = chat(t, g, "smart")
		}
		if r.Status != 200 || r.Header.Get("x-tidegate-provider") != "ant" {
			t.Errorf("stream=%t: %s from %q", stream, r, r.Header.Get("x-tidegate-provider"))
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("stream=%t: answered after %s; first_byte_timeout is 200ms", stream, el)
		}
	}
}

// TestCaller4xxNeverFallsBack: the upstream's verdict on the caller's own
// request is answered as is; no other target is tried.
func TestCaller4xxNeverFallsBack(t *testing.T) {
	g := testgateway.Start(t, fallbackConfig)
	for _, status := range []int{400, 404, 413, 422} {
		body := `{"error":{"message":"bad request","type":"invalid_request_error","param":"messages","code":null}}`
		g.OpenAI.Set(testupstream.Reply{Status: status, ErrorBody: body})
		before := g.OpenAI.Posts()
		r := chat(t, g, "smart")
		if r.Status != status || string(r.Body) != body {
			t.Errorf("%d: got %s, want the upstream's own answer", status, r)
		}
		if n := g.OpenAI.Posts() - before; n != 1 {
			t.Errorf("%d: openai got %d requests, want 1 (no retry)", status, n)
		}
	}
	if g.Anthropic.Posts() != 0 {
		t.Errorf("the fallback target received %d requests for the caller's own errors", g.Anthropic.Posts())
	}
	if _, h := health(t, g, "/health?deep=1"); h.Status != "healthy" {
		t.Errorf("caller errors counted against the breaker: %+v", h)
	}
}

// TestTimeoutBoundsAllAttempts: the model's timeout ends everything —
// retries and fallbacks included — with a 504 that says so.
func TestTimeoutBoundsAllAttempts(t *testing.T) {
	g := testgateway.Start(t, providers+`
models:
  smart:
    timeout: 500ms
    targets:
      - {provider: oai, model: gpt-4o-mini, retry: {attempts: 3, backoff: 10ms}}
      - {provider: ant, model: claude-sonnet-4-5}
`)
	g.OpenAI.Set(testupstream.Reply{Status: 500, Delay: 200 * time.Millisecond})
	g.Anthropic.Set(testupstream.Reply{Text: "slow", Delay: 5 * time.Second})
	start := time.Now()
	r := chat(t, g, "smart")
	el := time.Since(start)
	if r.Status != http.StatusGatewayTimeout || !strings.Contains(errorMessage(t, r), `model "smart": no answer within its 500ms timeout`) {
		t.Errorf("got %s", r)
	}
	if el < 450*time.Millisecond || el > 2*time.Second {
		t.Errorf("answered after %s; the timeout is 500ms", el)
	}
	if g.OpenAI.Posts() > 3 {
		t.Errorf("openai got %d requests", g.OpenAI.Posts())
	}
}

// TestEmbeddingsFallBack: embeddings go through the same executor.
func TestEmbeddingsFallBack(t *testing.T) {
	g := testgateway.Start(t, providers+`
models:
  embed: {targets: [{provider: oai, model: text-embedding-3-small}, {provider: olla, model: nomic-embed-text}]}
`)
	g.OpenAI.Set(testupstream.Reply{Status: 503})
	r := do(t, http.MethodPost, g.URL+"/v1/embeddings", `{"model":"embed","input":"hello"}`)
	served(t, r, "olla", 2)
	if !strings.Contains(string(r.Body), `"embedding"`) {
		t.Errorf("body %s", r.Body)
	}
}

// TestAliases: an alias answers like its model and is listed.
func TestAliases(t *testing.T) {
	g := testgateway.Start(t, providers+`
aliases: {fast: gpt, newest: "openai/gpt-5"}
models:
  gpt: {provider: oai, model: gpt-4o-mini}
  "openai/*": {provider: oai}
`)
	served(t, chat(t, g, "fast"), "oai", 1)
	if got := g.OpenAI.Last().JSON()["model"]; got != "gpt-4o-mini" {
		t.Errorf("upstream model %v", got)
	}
	served(t, chat(t, g, "newest"), "oai", 1)
	if got := g.OpenAI.Last().JSON()["model"]; got != "gpt-5" {
		t.Errorf("upstream model %v", got)
	}
	if list := do(t, http.MethodGet, g.URL+"/v1/models", ""); !strings.Contains(string(list.Body), `"fast"`) {
		t.Errorf("the alias is not listed: %s", list.Body)
	}
}
