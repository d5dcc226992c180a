// Package routing_test drives a whole in-process tidegate whose models have
// several targets, against fake upstreams that fail on purpose: retries,
// Retry-After, fallback, circuit breakers, timeouts, health checks and
// load balancing, all seen from the caller's side of the HTTP API.
package routing_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tidegate/tidegate/internal/testgateway"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// client bounds every request, so a hanging gateway fails the test.
func client() *http.Client {
	return &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
}

// providers is the provider block every test config starts with.
const providers = `
providers:
  oai:  {type: openai, base_url: "{{openai}}/v1", api_key: "` + testgateway.OpenAIKey + `"}
  ant:  {type: anthropic, base_url: "{{anthropic}}", api_key: "` + testgateway.AnthropicKey + `"}
  olla: {type: ollama, base_url: "{{ollama}}"}
`

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) String() string { return fmt.Sprintf("HTTP %d %s", r.Status, r.Body) }

func do(t *testing.T, method, url, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", url, err)
	}
	return response{resp.StatusCode, resp.Header, data}
}

// chat sends an OpenAI chat completion for model.
func chat(t *testing.T, g *testgateway.Gateway, model string) response {
	t.Helper()
	return do(t, http.MethodPost, g.URL+"/v1/chat/completions",
		fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hello there"}]}`, model))
}

// served checks a successful answer and where it was served.
func served(t *testing.T, r response, provider string, attempts int) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("want 200 from %s, got %s", provider, r)
	}
	if got := r.Header.Get("x-tidegate-provider"); got != provider {
		t.Errorf("x-tidegate-provider %q, want %q", got, provider)
	}
	if got := r.Header.Get("x-tidegate-attempts"); got != fmt.Sprint(attempts) {
		t.Errorf("x-tidegate-attempts %q, want %d", got, attempts)
	}
}

// errorMessage decodes the message of an OpenAI-dialect error body.
func errorMessage(t *testing.T, r response) string {
	t.Helper()
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("error body is not JSON: %s", r)
	}
	return e.Error.Message
}

type frame struct{ Event, Data string }

// streamChat sends a streaming request in dialect "openai" or "anthropic"
// and reads every SSE frame.
func streamChat(t *testing.T, g *testgateway.Gateway, dialect, model string) (response, []frame) {
	t.Helper()
	path, body := "/v1/chat/completions", fmt.Sprintf(`{"model":%q,"stream":true,"messages":[{"role":"user","content":"one two three"}]}`, model)
	if dialect == "anthropic" {
		path, body = "/v1/messages", fmt.Sprintf(`{"model":%q,"max_tokens":64,"stream":true,"messages":[{"role":"user","content":"one two three"}]}`, model)
	}
	req, _ := http.NewRequest(http.MethodPost, g.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client().Do(req)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	defer resp.Body.Close()
	r := response{Status: resp.StatusCode, Header: resp.Header}
	if resp.StatusCode != http.StatusOK {
		r.Body, _ = io.ReadAll(resp.Body)
		return r, nil
	}
	var frames []frame
	var cur frame
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur != (frame{}) {
				frames = append(frames, cur)
			}
			cur = frame{}
		case strings.HasPrefix(line, "event:"):
			cur.Event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			cur.Data = strings.TrimSpace(strings.TrimPrefix(line, "data:"))
		}
	}
	return r, frames
}

// health reads GET /health?deep=1 (or another health path).
func health(t *testing.T, g *testgateway.Gateway, path string) (int, healthReport) {
	t.Helper()
	r := do(t, http.MethodGet, g.URL+path, "")
	var h healthReport
	if err := json.Unmarshal(r.Body, &h); err != nil {
		t.Fatalf("%s: %v: %s", path, err, r.Body)
	}
	return r.Status, h
}

type healthReport struct {
	Status  string `json:"status"`
	Targets []struct {
		Target              string   `json:"target"`
		Provider            string   `json:"provider"`
		State               string   `json:"state"`
		Available           bool     `json:"available"`
		ConsecutiveFailures int      `json:"consecutive_failures"`
		LastError           string   `json:"last_error"`
		LatencyMS           *float64 `json:"latency_ewma_ms"`
	} `json:"targets"`
	Providers []struct {
		Provider string `json:"provider"`
		Healthy  bool   `json:"healthy"`
	} `json:"providers"`
	Unavailable []string `json:"unavailable_models"`
}

func (h healthReport) target(id string) (state string, failures int, lastErr string) {
	for _, t := range h.Targets {
		if t.Target == id {
			return t.State, t.ConsecutiveFailures, t.LastError
		}
	}
	return "missing", 0, ""
}

// fakeClock drives breaker cooldowns; retry backoff sleeps return at once
// (and move it).
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.Advance(d)
	return ctx.Err()
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// waitFor polls cond every 10ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
