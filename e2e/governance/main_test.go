// Package governance_test drives the real tidegate binary with virtual
// keys: several replicas sharing PostgreSQL and Redis (exact rate limits
// and budgets, usage totals, revocation, nothing lost on SIGTERM), and a
// single process on SQLite (authentication in both dialects, allowlists,
// rate-limit headers, stream and cancellation settlement, no key in logs).
package governance_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tidegate/tidegate/internal/dialect/anthropic"
	"github.com/tidegate/tidegate/internal/dialect/openai"
	"github.com/tidegate/tidegate/internal/sse"
	"github.com/tidegate/tidegate/internal/testbinary"
	"github.com/tidegate/tidegate/internal/tokens"
)

var bin testbinary.Binary // the built tidegate

func TestMain(m *testing.M) {
	os.Exit(testbinary.Main(m, "tidegate-e2e-governance-", &bin))
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ---- PostgreSQL and Redis, each test with its own schema and prefix ----

func redisURL() string {
	if u := os.Getenv("TIDEGATE_TEST_REDIS"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// redisPrefix returns a key prefix of the test's own; every key under it is
// deleted when the test ends. It skips when Redis is not reachable.
func redisPrefix(t *testing.T) (string, *redis.Client) {
	t.Helper()
	opts, err := redis.ParseURL(redisURL())
	if err != nil {
		t.Fatalf("redis URL: %v", err)
	}
	opts.DialTimeout = 2 * time.Second
	rc := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rc.Ping(ctx).Err(); err != nil {
		rc.Close()
		t.Skipf("Redis is not reachable at %s (set TIDEGATE_TEST_REDIS): %v", redactURL(redisURL()), err)
	}
	prefix := "tgtest:" + randHex(6) + ":"
	t.Cleanup(func() {
		defer rc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var cursor uint64
		for range 10000 { // bounded
			keys, next, err := rc.Scan(ctx, cursor, prefix+"*", 500).Result()
			if err != nil {
				t.Errorf("redis cleanup: %v", err)
				return
			}
			if len(keys) > 0 {
				if err := rc.Del(ctx, keys...).Err(); err != nil {
					t.Errorf("redis cleanup: %v", err)
					return
				}
			}
			if cursor = next; cursor == 0 {
				return
			}
		}
	})
	return prefix, rc
}

// ---- processes ----

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startGateway runs `tidegate serve --config` with configYAML (where
// {{listen}} is replaced by a free loopback address) and the admin key in
// its environment, and waits until /health answers. The process is killed
// when the test ends if it still runs.
func startGateway(t *testing.T, name, configYAML, adminKey string) *testbinary.Process {
	t.Helper()
	bin.Need(t)
	for attempt := 0; attempt < 3; attempt++ { // a free port may be taken meanwhile
		addr := testbinary.FreeAddr(t)
		cfg := writeFile(t, name+".yaml", strings.ReplaceAll(configYAML, "{{listen}}", addr))
		g := bin.Start(t, name, t.TempDir(), testbinary.Env(t, "TIDEGATE_ADMIN_KEY="+adminKey), "serve", "--config", cfg)
		if g.WaitHealthy(t, addr, 20*time.Second) {
			return g
		}
		if !strings.Contains(g.Output(), "address already in use") {
			t.Fatalf("%s exited (%v) before serving:\n%s", name, g.Err(), g.Output())
		}
	}
	t.Fatalf("%s: could not find a free port", name)
	return nil
}

// checkNoSecrets fails if any secret appears in the gateway's output.
func checkNoSecrets(t *testing.T, g *testbinary.Process, secrets ...string) {
	t.Helper()
	out := g.Output()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if i := strings.Index(out, s); i >= 0 {
			lo, hi := max(i-200, 0), min(i+len(s)+100, len(out))
			t.Errorf("%s logged a secret (%s…): …%s…", g.Name, s[:min(len(s), 10)], out[lo:hi])
		}
	}
}

// ---- HTTP ----

// client is shared; enough idle connections for 200 concurrent requests.
var client = &http.Client{
	Timeout: 30 * time.Second,
	Transport: &http.Transport{
		MaxIdleConns:        1000,
		MaxIdleConnsPerHost: 300,
		IdleConnTimeout:     30 * time.Second,
		DialContext:         (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
	},
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) String() string {
	keep := []string{"Retry-After", "X-Should-Retry", "X-Ratelimit-Limit-Requests", "X-Ratelimit-Remaining-Requests", "X-Ratelimit-Reset-Requests",
		"Anthropic-Ratelimit-Requests-Limit", "Anthropic-Ratelimit-Requests-Remaining", "X-Request-Id"}
	var hs []string
	for _, k := range keep {
		if v := r.Header.Get(k); v != "" {
			hs = append(hs, k+": "+v)
		}
	}
	body := string(r.Body)
	if len(body) > 600 {
		body = body[:600] + "…"
	}
	return fmt.Sprintf("HTTP %d [%s] %s", r.Status, strings.Join(hs, "; "), body)
}

// header styles for the virtual key
const (
	bearer  = "bearer"
	xAPIKey = "x-api-key"
	apiKey  = "api-key"
)

// send posts body to url with the key in the given header style; it never
// calls t.Fatal, so goroutines may use it.
func send(ctx context.Context, method, url, style, key, body string) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return response{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if strings.HasSuffix(url, "/v1/messages") || strings.Contains(url, "/v1/messages?") {
		req.Header.Set("anthropic-version", "2023-06-01")
	}
	if key != "" {
		switch style {
		case xAPIKey:
			req.Header.Set("x-api-key", key)
		case apiKey:
			req.Header.Set("api-key", key)
		default:
			req.Header.Set("Authorization", "Bearer "+key)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{Status: resp.StatusCode, Header: resp.Header}, err
	}
	return response{resp.StatusCode, resp.Header, data}, nil
}

func do(t *testing.T, method, url, style, key, body string) response {
	t.Helper()
	r, err := send(context.Background(), method, url, style, key, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

func decode(t *testing.T, r response, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("not JSON (%v): %s", err, r)
	}
}

// openAIError and anthropicError are the two error shapes.
type openAIError struct {
	Error *struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Code    *string `json:"code"`
		Param   *string `json:"param"`
	} `json:"error"`
}

type anthropicError struct {
	Type  string `json:"type"`
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

func parseOpenAIError(r response) (typ, code, msg string, ok bool) {
	var e openAIError
	if json.Unmarshal(r.Body, &e) != nil || e.Error == nil {
		return "", "", "", false
	}
	if e.Error.Code != nil {
		code = *e.Error.Code
	}
	return e.Error.Type, code, e.Error.Message, true
}

func parseAnthropicError(r response) (typ, msg string, ok bool) {
	var e anthropicError
	if json.Unmarshal(r.Body, &e) != nil || e.Type != "error" || e.Error == nil {
		return "", "", false
	}
	return e.Error.Type, e.Error.Message, true
}

// ---- request bodies and token counts ----

const prompt = "How many replicas does it take to hold a budget?"

func chatBody(model string, maxTokens int, stream bool) string {
	return fmt.Sprintf(`{"model":%q,"max_tokens":%d,"stream":%t,"messages":[{"role":"user","content":%q}]}`, model, maxTokens, stream, prompt)
}

func messagesBody(model string, maxTokens int, stream bool) string {
	return fmt.Sprintf(`{"model":%q,"max_tokens":%d,"stream":%t,"messages":[{"role":"user","content":%q}]}`, model, maxTokens, stream, prompt)
}

// promptTokens counts a chat body's prompt the way the gateway reserves it
// (the embedded tokenizer over the decoded request).
func promptTokens(t *testing.T, body string, anthropicDialect bool) int {
	t.Helper()
	var n int
	var err error
	if anthropicDialect {
		req, derr := anthropic.DecodeMessagesRequest([]byte(body))
		if derr != nil {
			t.Fatalf("decode: %v", derr)
		}
		n, err = tokens.New().Request(req)
	} else {
		req, derr := openai.DecodeChatRequest([]byte(body))
		if derr != nil {
			t.Fatalf("decode: %v", derr)
		}
		n, err = tokens.New().Request(req)
	}
	if err != nil {
		t.Fatalf("count tokens: %v", err)
	}
	return n
}

// ---- admin API ----

type admin struct {
	url string // a gateway's base URL
	key string
}

type createdKey struct {
	ID     string `json:"id"`
	Secret string `json:"key"`
	Name   string `json:"name"`
}

func (a admin) do(t *testing.T, method, path string, body any) response {
	t.Helper()
	var s string
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		s = string(b)
	}
	return do(t, method, a.url+path, bearer, a.key, s)
}

func (a admin) createKey(t *testing.T, fields map[string]any) createdKey {
	t.Helper()
	r := a.do(t, http.MethodPost, "/admin/keys", fields)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST /admin/keys %v: %s (want 201)", fields, r)
	}
	var k createdKey
	decode(t, r, &k)
	if k.ID == "" || !strings.HasPrefix(k.Secret, "sk-tg-") {
		t.Fatalf("POST /admin/keys: no id or sk-tg- key: %s", r)
	}
	return k
}

func (a admin) revoke(t *testing.T, id string) {
	t.Helper()
	r := a.do(t, http.MethodPost, "/admin/keys/"+id+"/revoke", nil)
	if r.Status != http.StatusOK && r.Status != http.StatusNoContent {
		t.Fatalf("revoke %s: %s", id, r)
	}
}

type usageRow struct {
	Group        string  `json:"group"`
	Name         string  `json:"name"`
	Requests     int64   `json:"requests"`
	Refused      int64   `json:"refused"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	CostUSD      float64 `json:"cost_usd"`
}

type usageReport struct {
	Data   []usageRow `json:"data"`
	Totals *usageRow  `json:"totals"`
}

// sum adds the rows (the contract fixes data; totals are an extra).
func (u usageReport) sum() usageRow {
	var s usageRow
	for _, r := range u.Data {
		s.Requests += r.Requests
		s.Refused += r.Refused
		s.InputTokens += r.InputTokens
		s.OutputTokens += r.OutputTokens
		s.CostUSD += r.CostUSD
	}
	return s
}

func (u usageReport) row(group string) usageRow {
	for _, r := range u.Data {
		if r.Group == group {
			return r
		}
	}
	return usageRow{Group: group}
}

func (a admin) usage(t *testing.T, groupBy string) usageReport {
	t.Helper()
	r := a.do(t, http.MethodGet, "/admin/usage?group_by="+groupBy, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /admin/usage: %s", r)
	}
	var u usageReport
	decode(t, r, &u)
	return u
}

// waitUsage polls the usage report until ok holds or d passes, and
// returns the last report and whether ok held.
func (a admin) waitUsage(t *testing.T, d time.Duration, ok func(usageReport) bool) (usageReport, bool, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		u := a.usage(t, "key")
		if ok(u) {
			return u, true, time.Since(start)
		}
		if time.Since(start) > d {
			return u, false, time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type logEntry struct {
	Seq           int64   `json:"seq"`
	RequestID     string  `json:"request_id"`
	KeyID         string  `json:"key_id"`
	Model         string  `json:"model"`
	Provider      string  `json:"provider"`
	UpstreamModel string  `json:"upstream_model"`
	InputTokens   int64   `json:"input_tokens"`
	OutputTokens  int64   `json:"output_tokens"`
	CostUSD       float64 `json:"cost_usd"`
	Status        int     `json:"status"`
	Refused       bool    `json:"refused"`
	Error         string  `json:"error"`
}

func (a admin) logs(t *testing.T, keyID string) []logEntry {
	t.Helper()
	r := a.do(t, http.MethodGet, "/admin/logs?limit=1000&key_id="+url.QueryEscape(keyID), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /admin/logs: %s", r)
	}
	var page struct {
		Data []logEntry `json:"data"`
	}
	decode(t, r, &page)
	return page.Data
}

// ---- streams ----

type sseFrame struct{ Event, Data string }

// frameReader reads SSE frames one at a time with the gateway's own parser.
type frameReader struct{ r *sse.Reader }

func (f *frameReader) next() (sseFrame, error) {
	fr, err := f.r.Next()
	return sseFrame{Event: fr.Event, Data: string(fr.Data)}, err
}

// openStream starts a streaming POST; cancel aborts it.
func openStream(t *testing.T, url, style, key, body string) (*http.Response, *frameReader, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	switch style {
	case xAPIKey:
		req.Header.Set("x-api-key", key)
		req.Header.Set("anthropic-version", "2023-06-01")
	default:
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		cancel()
		t.Fatalf("POST %s: %v", url, err)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: HTTP %d %s", url, resp.StatusCode, b)
	}
	return resp, &frameReader{r: sse.NewReader(resp.Body)}, cancel
}

// readAll reads frames until the body ends, bounded by d.
func readAll(resp *http.Response, fr *frameReader, d time.Duration) ([]sseFrame, error) {
	timer := time.AfterFunc(d, func() { resp.Body.Close() })
	defer timer.Stop()
	var frames []sseFrame
	for {
		f, err := fr.next()
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return frames, err
		}
		frames = append(frames, f)
	}
}

func near(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= 1e-9+1e-9*max(a, b)
}

// fmtFloat renders a price so that YAML reads back the same float64.
func fmtFloat(f float64) string { return fmt.Sprintf("%v", f) }

// countRedisKeys counts the keys under prefix (bounded scan).
func countRedisKeys(t *testing.T, rc *redis.Client, prefix string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n := 0
	var cursor uint64
	for range 10000 {
		keys, next, err := rc.Scan(ctx, cursor, prefix+"*", 500).Result()
		if err != nil {
			t.Errorf("redis scan: %v", err)
			return n
		}
		n += len(keys)
		if cursor = next; cursor == 0 {
			break
		}
	}
	return n
}
