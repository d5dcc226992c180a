package governance_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/router"
	"github.com/tidegate/tidegate/internal/testbinary"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// Prices of the single-process gateway, USD per million tokens.
const (
	oaiIn, oaiOut                      = 1.0, 3.0 // tg-oai-model (gpt, openai/*)
	antIn, antOut, antCRead, antCWrite = 2.0, 5.0, 0.5, 4.0
	singleConfig                       = `
listen: {{listen}}
auth: keys
store: "sqlite://%s"
pricing:
  tg-oai-model: {input: %v, output: %v}
  tg-ant-model: {input: %v, output: %v, cache_read: %v, cache_write: %v}
providers:
  oai: {type: openai, base_url: "%s/v1", api_key: "sk-upstream-openai-single-0123456789"}
  ant: {type: anthropic, base_url: "%s", api_key: "sk-ant-upstream-single-0123456789"}
models:
  gpt:    {provider: oai, model: tg-oai-model}
  claude: {provider: ant, model: tg-ant-model}
  "openai/*": {provider: oai}
`
)

// single is one gateway on SQLite with memory counters, in front of a fake
// OpenAI and a fake Anthropic upstream.
type single struct {
	g       *testbinary.Process
	oai     *testupstream.Server
	ant     *testupstream.Server
	adm     admin
	secrets []string // checked against the process output when the test ends
}

func startSingle(t *testing.T) *single {
	t.Helper()
	bin.Need(t)
	s := &single{oai: testupstream.New("openai"), ant: testupstream.New("anthropic")}
	t.Cleanup(s.oai.Close)
	t.Cleanup(s.ant.Close)
	adminKey := "tg-admin-" + randHex(16)
	db := filepath.Join(t.TempDir(), "tidegate.db") // absolute: sqlite:///abs/path
	cfg := fmt.Sprintf(singleConfig, db, oaiIn, oaiOut, antIn, antOut, antCRead, antCWrite, s.oai.URL, s.ant.URL)
	s.g = startGateway(t, "tidegate", cfg, adminKey)
	s.adm = admin{url: s.g.URL, key: adminKey}
	s.secrets = []string{adminKey}
	t.Cleanup(func() {
		checkNoSecrets(t, s.g, s.secrets...)
		s.checkNotForwarded(t)
	})
	return s
}

func (s *single) key(t *testing.T, fields map[string]any) createdKey {
	t.Helper()
	k := s.adm.createKey(t, fields)
	s.secrets = append(s.secrets, k.Secret)
	return k
}

func (s *single) posts() int { return s.oai.Posts() + s.ant.Posts() }

// checkNotForwarded: no virtual key or admin key ever reached an upstream.
func (s *single) checkNotForwarded(t *testing.T) {
	t.Helper()
	for _, up := range []*testupstream.Server{s.oai, s.ant} {
		for _, r := range up.Requests() {
			for name, vs := range r.Header {
				for _, v := range vs {
					for _, sec := range s.secrets {
						if strings.Contains(v, sec) {
							t.Errorf("a tidegate key was forwarded upstream in header %s", name)
						}
					}
				}
			}
			for _, sec := range s.secrets {
				if strings.Contains(string(r.Body), sec) {
					t.Errorf("a tidegate key was forwarded upstream in a request body")
				}
			}
		}
	}
}

func (s *single) chat(t *testing.T, style, key, body string) response {
	t.Helper()
	return do(t, http.MethodPost, s.g.URL+"/v1/chat/completions", style, key, body)
}

func (s *single) messages(t *testing.T, style, key, body string) response {
	t.Helper()
	return do(t, http.MethodPost, s.g.URL+"/v1/messages", style, key, body)
}

// wantOpenAIError checks an OpenAI-shaped error.
func wantOpenAIError(t *testing.T, what string, r response, status int, typ string) {
	t.Helper()
	got, _, _, ok := parseOpenAIError(r)
	if r.Status != status || !ok || got != typ {
		t.Errorf("%s: got %s; want HTTP %d with an OpenAI error of type %s", what, r, status, typ)
	}
}

// wantAnthropicError checks an Anthropic-shaped error.
func wantAnthropicError(t *testing.T, what string, r response, status int, typ string) {
	t.Helper()
	got, _, ok := parseAnthropicError(r)
	if r.Status != status || !ok || got != typ {
		t.Errorf("%s: got %s; want HTTP %d with an Anthropic error {\"type\":\"error\",\"error\":{\"type\":%q}}", what, r, status, typ)
	}
}

func want200(t *testing.T, what string, r response) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Errorf("%s: got %s; want 200", what, r)
	}
}

// TestAuthentication: keys in every header real clients use; missing,
// unknown, expired and revoked keys are 401 in the caller's dialect and
// nothing is forwarded; allowlists (with wildcards) give 403.
func TestAuthentication(t *testing.T) {
	t.Parallel()
	s := startSingle(t)
	chat := chatBody("gpt", 50, false)
	msgs := messagesBody("claude", 50, false)

	// No key, and a key tidegate never issued.
	bogus := "sk-tg-" + randHex(32)
	s.secrets = append(s.secrets, bogus)
	for _, c := range []struct{ what, key string }{{"no key", ""}, {"unknown key", bogus}} {
		wantOpenAIError(t, c.what+" on /v1/chat/completions", s.chat(t, bearer, c.key, chat), 401, "authentication_error")
		wantAnthropicError(t, c.what+" on /v1/messages", s.messages(t, xAPIKey, c.key, msgs), 401, "authentication_error")
		wantAnthropicError(t, c.what+" on /v1/messages (OpenAI-backed model)", s.messages(t, xAPIKey, c.key, messagesBody("gpt", 50, false)), 401, "authentication_error")
	}
	if n := s.posts(); n != 0 {
		t.Errorf("requests without a valid key reached the upstream %d times", n)
	}

	// A valid key in each header style, on each route.
	k := s.key(t, map[string]any{"name": "any-header"})
	want200(t, "Authorization: Bearer on /v1/chat/completions", s.chat(t, bearer, k.Secret, chat))
	want200(t, "x-api-key on /v1/messages (Anthropic SDK, Claude Code)", s.messages(t, xAPIKey, k.Secret, msgs))
	want200(t, "Authorization: Bearer on /v1/messages", s.messages(t, bearer, k.Secret, msgs))
	want200(t, "x-api-key on /v1/chat/completions", s.chat(t, xAPIKey, k.Secret, chat))
	want200(t, "api-key on /v1/chat/completions", s.chat(t, apiKey, k.Secret, chat))
	if n := s.posts(); n != 5 {
		t.Errorf("5 accepted requests, the upstreams got %d", n)
	}

	// Expired: works until expires_at, 401 after, nothing forwarded.
	expiresAt := time.Now().Add(1500 * time.Millisecond)
	exp := s.key(t, map[string]any{"name": "expiring", "expires_at": expiresAt.UTC().Format(time.RFC3339Nano)})
	want200(t, "a key before its expiry", s.chat(t, bearer, exp.Secret, chat))
	time.Sleep(time.Until(expiresAt) + 100*time.Millisecond)
	before := s.posts()
	wantOpenAIError(t, "expired key on /v1/chat/completions", s.chat(t, bearer, exp.Secret, chat), 401, "authentication_error")
	wantAnthropicError(t, "expired key on /v1/messages", s.messages(t, xAPIKey, exp.Secret, msgs), 401, "authentication_error")

	// Revoked: 401 at once on this replica.
	rev := s.key(t, map[string]any{"name": "revoked"})
	want200(t, "a key before its revocation", s.chat(t, bearer, rev.Secret, chat))
	before++
	s.adm.revoke(t, rev.ID)
	wantOpenAIError(t, "revoked key on /v1/chat/completions", s.chat(t, bearer, rev.Secret, chat), 401, "authentication_error")
	wantAnthropicError(t, "revoked key on /v1/messages", s.messages(t, xAPIKey, rev.Secret, msgs), 401, "authentication_error")
	if n := s.posts(); n != before {
		t.Errorf("requests with an expired or revoked key reached the upstream (%d, want %d)", n, before)
	}

	// Allowlist with a wildcard.
	lim := s.key(t, map[string]any{"name": "allowlisted", "models": []string{"gpt", "openai/tg-*"}})
	want200(t, "an allowed model", s.chat(t, bearer, lim.Secret, chat))
	want200(t, "a model allowed by a wildcard (openai/tg-*)", s.chat(t, bearer, lim.Secret, chatBody("openai/tg-oai-model", 50, false)))
	before = s.posts()
	wantOpenAIError(t, "a model not in the allowlist, OpenAI dialect", s.chat(t, bearer, lim.Secret, chatBody("claude", 50, false)), 403, "permission_error")
	wantAnthropicError(t, "a model not in the allowlist, Anthropic dialect", s.messages(t, xAPIKey, lim.Secret, msgs), 403, "permission_error")
	wantOpenAIError(t, "a wildcard model outside the allowlist's pattern", s.chat(t, bearer, lim.Secret, chatBody("openai/gpt-4o", 50, false)), 403, "permission_error")
	if n := s.posts(); n != before {
		t.Errorf("requests for models outside the allowlist reached the upstream (%d, want %d)", n, before)
	}
}

// TestRateLimitHeaders: OpenAI routes carry x-ratelimit-*, /v1/messages
// anthropic-ratelimit-*; the request past the limit is a 429 with
// Retry-After in the caller's dialect.
func TestRateLimitHeaders(t *testing.T) {
	t.Parallel()
	s := startSingle(t)
	const maxTokens = 50
	k := s.key(t, map[string]any{"name": "limited", "rpm": 5, "tpm": 100000})
	chat := chatBody("gpt", maxTokens, false)
	p := promptTokens(t, chat, false)

	r := s.chat(t, bearer, k.Secret, chat)
	want200(t, "first request", r)
	h := r.Header
	if h.Get("x-ratelimit-limit-requests") != "5" || h.Get("x-ratelimit-remaining-requests") != "4" {
		t.Errorf("OpenAI request headers after 1 of 5: limit %q remaining %q, want 5 and 4", h.Get("x-ratelimit-limit-requests"), h.Get("x-ratelimit-remaining-requests"))
	}
	if d, err := time.ParseDuration(h.Get("x-ratelimit-reset-requests")); err != nil || d <= 0 || d > time.Minute {
		t.Errorf("x-ratelimit-reset-requests %q: want a duration in (0, 1m]", h.Get("x-ratelimit-reset-requests"))
	}
	if h.Get("x-ratelimit-limit-tokens") != "100000" {
		t.Errorf("x-ratelimit-limit-tokens %q, want 100000", h.Get("x-ratelimit-limit-tokens"))
	}
	if rem, err := strconv.Atoi(h.Get("x-ratelimit-remaining-tokens")); err != nil || rem > 100000-(p+maxTokens) || rem < 0 {
		t.Errorf("x-ratelimit-remaining-tokens %q: want at most 100000 - (%d prompt + %d max_tokens)", h.Get("x-ratelimit-remaining-tokens"), p, maxTokens)
	}
	if h.Get("x-ratelimit-reset-tokens") == "" {
		t.Errorf("no x-ratelimit-reset-tokens")
	}
	for name := range h {
		if strings.HasPrefix(strings.ToLower(name), "anthropic-ratelimit-") {
			t.Errorf("OpenAI route carries %s", name)
		}
	}

	r = s.messages(t, xAPIKey, k.Secret, messagesBody("claude", maxTokens, false))
	want200(t, "second request (/v1/messages)", r)
	h = r.Header
	if h.Get("anthropic-ratelimit-requests-limit") != "5" || h.Get("anthropic-ratelimit-requests-remaining") != "3" {
		t.Errorf("Anthropic request headers after 2 of 5: limit %q remaining %q, want 5 and 3", h.Get("anthropic-ratelimit-requests-limit"), h.Get("anthropic-ratelimit-requests-remaining"))
	}
	if at, err := time.Parse(time.RFC3339, h.Get("anthropic-ratelimit-requests-reset")); err != nil || at.Before(time.Now().Add(-2*time.Second)) || at.After(time.Now().Add(62*time.Second)) {
		t.Errorf("anthropic-ratelimit-requests-reset %q: want an RFC 3339 time within the next minute", h.Get("anthropic-ratelimit-requests-reset"))
	}
	if h.Get("anthropic-ratelimit-tokens-limit") != "100000" || h.Get("anthropic-ratelimit-tokens-remaining") == "" || h.Get("anthropic-ratelimit-tokens-reset") == "" {
		t.Errorf("anthropic-ratelimit-tokens-*: limit %q remaining %q reset %q", h.Get("anthropic-ratelimit-tokens-limit"), h.Get("anthropic-ratelimit-tokens-remaining"), h.Get("anthropic-ratelimit-tokens-reset"))
	}
	for name := range h {
		if strings.HasPrefix(strings.ToLower(name), "x-ratelimit-") {
			t.Errorf("/v1/messages carries %s", name)
		}
	}

	for i := 3; i <= 5; i++ {
		want200(t, fmt.Sprintf("request %d of 5", i), s.chat(t, bearer, k.Secret, chat))
	}
	before := s.posts()
	r = s.chat(t, bearer, k.Secret, chat)
	wantOpenAIError(t, "request 6 of 5, OpenAI dialect", r, 429, "rate_limit_error")
	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Errorf("429 Retry-After %q, want 1..60 s", r.Header.Get("Retry-After"))
	}
	r = s.messages(t, xAPIKey, k.Secret, messagesBody("claude", maxTokens, false))
	wantAnthropicError(t, "request 6 of 5, Anthropic dialect", r, 429, "rate_limit_error")
	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Errorf("Anthropic 429 Retry-After %q, want 1..60 s", r.Header.Get("Retry-After"))
	}
	if n := s.posts(); n != before {
		t.Errorf("rate-limited requests reached the upstream")
	}
}

// checkLeft proves that exactly k0 × 3 + P µUSD of a key's budget are left
// (gpt: 1 USD/M in, 3 USD/M out): a request reserving one output token more
// is refused for the budget, then one reserving exactly that is admitted.
func (s *single) checkLeft(t *testing.T, what, key string, k0 int) {
	t.Helper()
	s.oai.Set(testupstream.Reply{Text: "ok", Usage: testupstream.Usage{Input: 1, Output: 1}})
	r := s.chat(t, bearer, key, chatBody("gpt", k0+1, false))
	typ, code, _, _ := parseOpenAIError(r)
	if r.Status != 429 || typ != "insufficient_quota" || code != "budget_exceeded" || r.Header.Get("x-should-retry") != "false" {
		t.Errorf("%s: a request reserving 3 µUSD more than the budget left: got %s; want 429 insufficient_quota/budget_exceeded with x-should-retry: false (the budget was charged less than the reported usage)", what, r)
	}
	r = s.chat(t, bearer, key, chatBody("gpt", k0, false))
	if r.Status != 200 {
		t.Errorf("%s: a request reserving exactly the budget left: got %s; want 200 (the budget was charged more than the reported usage, or the reservation was not released)", what, r)
	}
}

// waitRow waits up to 3 s for the key's usage row to show n requests.
func (s *single) waitRow(t *testing.T, keyID string, n int64) usageRow {
	t.Helper()
	u, ok, took := s.adm.waitUsage(t, 3*time.Second, func(u usageReport) bool { return u.row(keyID).Requests >= n })
	if !ok {
		t.Fatalf("usage for key %s shows %d requests after %s, want %d", keyID, u.row(keyID).Requests, took, n)
	}
	return u.row(keyID)
}

// TestStreamSettlesBudget: after a stream the budget holds exactly what
// its reported usage costs (cache tokens at their own prices), not its
// reservation.
func TestStreamSettlesBudget(t *testing.T) {
	t.Parallel()
	s := startSingle(t)
	const k0 = 30000
	pGPT := promptTokens(t, chatBody("gpt", k0, false), false)

	t.Run("openai", func(t *testing.T) {
		// 40 in × 1 + 25 out × 3 = 115 µUSD
		const cost = 115
		k := s.key(t, map[string]any{"name": "stream-openai", "budget_usd": float64(cost+pGPT+3*k0) / 1e6})
		s.oai.Set(testupstream.Reply{Text: "streamed answer here", Usage: testupstream.Usage{Input: 40, Output: 25}})
		resp, fr, cancel := openStream(t, s.g.URL+"/v1/chat/completions", bearer, k.Secret, chatBody("gpt", 10000, true))
		frames, err := readAll(resp, fr, 10*time.Second)
		cancel()
		if err != nil || len(frames) == 0 || frames[len(frames)-1].Data != "[DONE]" {
			t.Fatalf("stream did not complete: %v, %d frames", err, len(frames))
		}
		row := s.waitRow(t, k.ID, 1)
		if row.InputTokens != 40 || row.OutputTokens != 25 || !near(row.CostUSD, cost/1e6) {
			t.Errorf("usage after the stream: %+v; want 40 input, 25 output tokens, %v USD", row, cost/1e6)
		}
		s.checkLeft(t, "after an OpenAI stream", k.Secret, k0)
	})

	t.Run("anthropic-cache", func(t *testing.T) {
		// 60 plain × 2 + 20 cache read × 0.5 + 10 cache write × 4 + 30 out × 5 = 320 µUSD
		const cost = 320
		k := s.key(t, map[string]any{"name": "stream-anthropic", "budget_usd": float64(cost+pGPT+3*k0) / 1e6})
		s.ant.Set(testupstream.Reply{Text: "streamed answer here", Usage: testupstream.Usage{Input: 60, Output: 30, CacheRead: 20, CacheWrite: 10}})
		resp, fr, cancel := openStream(t, s.g.URL+"/v1/messages", xAPIKey, k.Secret, messagesBody("claude", 10000, true))
		frames, err := readAll(resp, fr, 10*time.Second)
		cancel()
		if err != nil || len(frames) == 0 || frames[len(frames)-1].Event != "message_stop" {
			t.Fatalf("stream did not complete: %v, %d frames", err, len(frames))
		}
		row := s.waitRow(t, k.ID, 1)
		if row.OutputTokens != 30 || !near(row.CostUSD, cost/1e6) {
			t.Errorf("usage after the stream: %+v; want 30 output tokens, %v USD (cache read and write at their own prices)", row, cost/1e6)
		}
		s.checkLeft(t, "after an Anthropic stream with cache tokens", k.Secret, k0)
	})
}

// TestCancelledStreamCharges: a caller that goes away mid-stream pays what
// the upstream reported, or its prompt when nothing was reported — whether
// or not its key has a budget (the usage log carries the cost either way).
func TestCancelledStreamCharges(t *testing.T) {
	t.Parallel()
	s := startSingle(t)
	const k0 = 30000

	for _, budget := range []bool{true, false} {
		suffix := "/budget"
		if !budget {
			suffix = "/no-limits"
		}
		t.Run("nothing-reported"+suffix, func(t *testing.T) {
			// OpenAI reports usage only at the end: the prompt is charged.
			body := chatBody("gpt", 1000, true)
			p := promptTokens(t, body, false)
			charge := p // × 1 USD/M
			fields := map[string]any{"name": "cancel-openai" + suffix}
			if budget {
				fields["budget_usd"] = float64(charge+p+3*k0) / 1e6
			}
			k := s.key(t, fields)
			s.oai.Set(testupstream.Reply{Text: "one two three four five", Hang: true, Usage: testupstream.Usage{Input: 999, Output: 999}})
			cancelled := s.oai.Cancelled()
			resp, fr, cancel := openStream(t, s.g.URL+"/v1/chat/completions", bearer, k.Secret, body)
			if _, err := fr.next(); err != nil {
				t.Fatalf("first frame: %v", err)
			}
			cancel()
			resp.Body.Close()
			waitCancelled(t, s.oai, cancelled)
			row := s.waitRow(t, k.ID, 1)
			t.Logf("cancelled OpenAI stream: %+v (prompt %d tokens)", row, p)
			if row.InputTokens != int64(p) || row.OutputTokens != 0 || !near(row.CostUSD, float64(charge)/1e6) {
				t.Errorf("a cancelled stream with no reported usage: usage %+v; want its prompt counted by the tokenizer (as for budgets): %d input tokens, 0 output, %v USD (the size estimate, body bytes / 4, is %d)",
					row, p, float64(charge)/1e6, router.EstimateTokens([]byte(body)))
			}
			if budget {
				s.checkLeft(t, "after a cancelled stream with no usage", k.Secret, k0)
			}
		})

		t.Run("input-reported"+suffix, func(t *testing.T) {
			// Anthropic reports input tokens in message_start (output 1 so far).
			body := messagesBody("claude", 1000, true)
			pAnt := promptTokens(t, body, true)
			fields := map[string]any{"name": "cancel-anthropic" + suffix}
			if budget {
				fields["budget_usd"] = 1
			}
			k := s.key(t, fields)
			s.ant.Set(testupstream.Reply{Text: "one two three four five", Hang: true, Usage: testupstream.Usage{Input: 500, Output: 999}})
			cancelled := s.ant.Cancelled()
			resp, fr, cancel := openStream(t, s.g.URL+"/v1/messages", xAPIKey, k.Secret, body)
			f, err := fr.next()
			if err != nil || f.Event != "message_start" {
				t.Fatalf("first frame %+v: %v", f, err)
			}
			cancel()
			resp.Body.Close()
			waitCancelled(t, s.ant, cancelled)
			row := s.waitRow(t, k.ID, 1)
			t.Logf("cancelled Anthropic stream: %+v (tokenizer prompt %d)", row, pAnt)
			want := (500*antIn + float64(row.OutputTokens)*antOut) / 1e6
			if row.InputTokens != 500 || row.OutputTokens > 1 || !near(row.CostUSD, want) {
				t.Errorf("a cancelled stream whose upstream reported 500 input tokens (and 1 output) in message_start: usage %+v; want 500 input tokens, 0 or 1 output, cost %v USD (the tokenizer's prompt count is %d)",
					row, (500*antIn+antOut)/1e6, pAnt)
			}
		})
	}
}

// waitCancelled waits for the upstream to see one more cancelled stream
// than before.
func waitCancelled(t *testing.T, up *testupstream.Server, before int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for up.Cancelled() <= before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if up.Cancelled() <= before {
		t.Errorf("the upstream request was not cancelled within 3s of the caller leaving")
	}
}

// TestKeysNeverLogged drives every path that logs — key creation and
// rotation, bad and revoked keys, upstream failures, a stream cut after
// its first byte, a caller that leaves — and greps the process output for
// the secrets.
func TestKeysNeverLogged(t *testing.T) {
	t.Parallel()
	s := startSingle(t)
	chat := chatBody("gpt", 50, false)
	k := s.key(t, map[string]any{"name": "logged?", "rpm": 100, "budget_usd": 10})
	want200(t, "bearer", s.chat(t, bearer, k.Secret, chat))
	want200(t, "x-api-key", s.messages(t, xAPIKey, k.Secret, messagesBody("claude", 50, false)))
	want200(t, "api-key", s.chat(t, apiKey, k.Secret, chat))

	r := s.adm.do(t, http.MethodPost, "/admin/keys/"+k.ID+"/rotate", map[string]any{"grace_seconds": 60})
	var rot struct {
		Key string `json:"key"`
	}
	if r.Status != http.StatusOK && r.Status != http.StatusCreated {
		t.Errorf("rotate: %s", r)
	} else if err := json.Unmarshal(r.Body, &rot); err != nil || !strings.HasPrefix(rot.Key, "sk-tg-") {
		t.Errorf("rotate: no new key: %s", r)
	} else {
		s.secrets = append(s.secrets, rot.Key)
		want200(t, "rotated key", s.chat(t, bearer, rot.Key, chat))
		want200(t, "old key within its grace", s.chat(t, bearer, k.Secret, chat))
	}

	bogus := "sk-tg-" + randHex(32)
	wrongAdmin := "tg-admin-" + randHex(16)
	s.secrets = append(s.secrets, bogus, wrongAdmin)
	s.chat(t, bearer, bogus, chat)
	s.messages(t, xAPIKey, bogus, messagesBody("claude", 50, false))
	do(t, http.MethodGet, s.g.URL+"/admin/keys", bearer, wrongAdmin, "")

	// Upstream failures: 500s (logged as failed requests), a stream cut after
	// its first byte, a caller that leaves mid-stream.
	s.oai.Set(testupstream.Reply{Status: 500})
	s.chat(t, bearer, k.Secret, chat)
	s.oai.Set(testupstream.Reply{Text: "one two three four five", CutAfter: 2})
	resp, fr, cancel := openStream(t, s.g.URL+"/v1/chat/completions", bearer, k.Secret, chatBody("gpt", 50, true))
	_, _ = readAll(resp, fr, 5*time.Second)
	cancel()
	s.oai.Set(testupstream.Reply{Text: "one two three four five", Hang: true})
	cancelled := s.oai.Cancelled()
	resp, fr, cancel = openStream(t, s.g.URL+"/v1/chat/completions", bearer, k.Secret, chatBody("gpt", 50, true))
	_, _ = fr.next()
	cancel()
	resp.Body.Close()
	waitCancelled(t, s.oai, cancelled)

	k2 := s.key(t, map[string]any{"name": "revoked-then-used"})
	s.adm.revoke(t, k2.ID)
	s.chat(t, bearer, k2.Secret, chat)
	// Let the usage writer flush (it may log), then check.
	s.waitRow(t, k.ID, 5)
	checkNoSecrets(t, s.g, s.secrets...)
	out := s.g.Output()
	t.Logf("gateway output (%d lines) checked for %d secrets", strings.Count(out, "\n"), len(s.secrets))
	if testing.Verbose() {
		t.Logf("gateway output:\n%s", out)
	}
}
