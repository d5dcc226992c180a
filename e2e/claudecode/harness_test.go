package claudecode_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// runTimeout bounds one Claude Code run. A run against the fakes takes one
// to three seconds; the bound only matters when something hangs.
const runTimeout = 90 * time.Second

// claudeBinary returns the path of the Claude Code CLI or skips the test.
func claudeBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping the Claude Code end-to-end test in -short mode")
	}
	bin, err := exec.LookPath("claude")
	if err != nil {
		t.Skip("Claude Code (`claude`) is not on PATH; install it with `npm install -g @anthropic-ai/claude-code` to run this test")
	}
	return bin
}

// clientEnv is the whole environment of the claude process. Nothing is
// inherited but PATH (the npm install may be a node script), so the
// caller's own ANTHROPIC_* settings, OAuth login or proxy settings cannot
// leak in.
//
//   - ANTHROPIC_BASE_URL points Claude Code at the gateway;
//     ANTHROPIC_API_KEY makes it use API-key auth and skip the login flow
//     (in -p mode there is no "use this key?" prompt). It arrives at the
//     gateway as x-api-key. ANTHROPIC_AUTH_TOKEN works as well (sent as
//     Authorization: Bearer); with neither, Claude Code answers "Not
//     logged in · Please run /login" without calling the gateway.
//   - ANTHROPIC_MODEL picks the main-loop model; the DEFAULT_*_MODEL
//     variables (and the older ANTHROPIC_SMALL_FAST_MODEL, still read by
//     v2.1) and CLAUDE_CODE_SUBAGENT_MODEL point every background or
//     sub-agent call at the same public model, so nothing asks the gateway
//     for a model it does not serve.
//   - CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC (plus the DISABLE_* trio it
//     implies) stops the calls to api.anthropic.com that Claude Code makes
//     otherwise even with a custom base URL: bootstrap, fast-mode status,
//     MCP registry, metrics opt-out and event logging. Without it, on a
//     machine with no internet, they fail with ENOTFOUND (fast here, but a
//     firewall that drops packets would stall them).
//   - CLAUDE_CODE_MAX_RETRIES and API_TIMEOUT_MS keep a failing gateway
//     from turning into minutes of retries with backoff.
//   - HOME and CLAUDE_CONFIG_DIR are fresh, so no user state is read and
//     nothing is written outside the test's temporary directories.
func clientEnv(home, gatewayURL, model string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"CLAUDE_CONFIG_DIR=" + filepath.Join(home, ".claude"),
		"TMPDIR=" + filepath.Join(home, "tmp"),
		"LANG=C.UTF-8",
		"TERM=dumb",
		"ANTHROPIC_BASE_URL=" + gatewayURL,
		"ANTHROPIC_API_KEY=" + clientKey,
		"ANTHROPIC_MODEL=" + model,
		"ANTHROPIC_SMALL_FAST_MODEL=" + model,
		"ANTHROPIC_DEFAULT_HAIKU_MODEL=" + model,
		"ANTHROPIC_DEFAULT_SONNET_MODEL=" + model,
		"ANTHROPIC_DEFAULT_OPUS_MODEL=" + model,
		"CLAUDE_CODE_SUBAGENT_MODEL=" + model,
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
		"DISABLE_TELEMETRY=1",
		"DISABLE_AUTOUPDATER=1",
		"DISABLE_ERROR_REPORTING=1",
		"CLAUDE_CODE_MAX_RETRIES=1",
		"API_TIMEOUT_MS=60000",
	}
}

// clientKey is the key Claude Code sends; it must never reach an upstream.
const clientKey = "test-key"

// result is the part of `claude -p --output-format json` the tests read.
type result struct {
	Type     string `json:"type"`
	Subtype  string `json:"subtype"`
	IsError  bool   `json:"is_error"`
	Result   string `json:"result"`
	NumTurns int    `json:"num_turns"`
	Usage    struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
	} `json:"usage"`
	PermissionDenials []any `json:"permission_denials"`
}

// runClaude runs `claude -p prompt --output-format json` in dir against
// baseURL and returns its parsed result. It fails the test if the process
// does not exit 0 in time or prints something that is not the result.
func runClaude(t *testing.T, bin, baseURL, model, dir, prompt string, extra ...string) result {
	t.Helper()
	return runClaudeEnv(t, bin, baseURL, model, dir, prompt, nil, extra...)
}

// runClaudeEnv is runClaude with env changes: a variable set to "" is
// removed from clientEnv, any other replaces or adds one.
func runClaudeEnv(t *testing.T, bin, baseURL, model, dir, prompt string, env map[string]string, extra ...string) result {
	t.Helper()
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	args := append([]string{"-p", prompt, "--output-format", "json", "--no-session-persistence"}, extra...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = nil
	for _, kv := range clientEnv(home, baseURL, model) {
		if k, _, _ := strings.Cut(kv, "="); !hasKey(env, k) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		if v != "" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.WaitDelay = 5 * time.Second // do not wait forever on pipes a killed child left open
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("claude %s (model %s) took %v", strings.Join(args[2:], " "), model, time.Since(start).Round(time.Millisecond))
	if ctx.Err() != nil {
		t.Fatalf("claude did not finish within %v (hang?)\nstdout: %s\nstderr: %s", runTimeout, stdout.Bytes(), stderr.Bytes())
	}
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("running claude: %v", err)
		}
		t.Errorf("claude exited with %v\nstdout: %s\nstderr: %s", err, stdout.Bytes(), stderr.Bytes())
	}
	var res result
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); err != nil {
		t.Fatalf("claude's output is not the JSON result: %v\nstdout: %s\nstderr: %s", err, stdout.Bytes(), stderr.Bytes())
	}
	if res.Type != "result" || res.Subtype != "success" || res.IsError {
		t.Errorf("claude reported failure: type=%q subtype=%q is_error=%v result=%q\nstdout: %s\nstderr: %s",
			res.Type, res.Subtype, res.IsError, res.Result, stdout.Bytes(), stderr.Bytes())
	}
	return res
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// exchange is one request Claude Code sent to the gateway and what the
// gateway answered: status, headers, the body of an error, and the JSON of
// a non-stream answer.
type exchange struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
	Status              int
	ErrorBody           []byte
	RespHeader          http.Header
	RespJSON            map[string]any // the answer, when it is a JSON object (not a stream)
}

func (e exchange) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(e.Body, &m)
	return m
}

// recorder sits between Claude Code and the gateway (a reverse proxy that
// flushes every write, so streams pass as they are produced) and records
// what the client really sent: the fake upstreams only see what the
// gateway forwards.
type recorder struct {
	URL string
	mu  sync.Mutex
	ex  []*exchange
}

func newRecorder(t *testing.T, gatewayURL string) *recorder {
	t.Helper()
	target, err := url.Parse(gatewayURL)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1
	proxy.ModifyResponse = func(resp *http.Response) error {
		e, _ := resp.Request.Context().Value(exchangeKey{}).(*exchange)
		if e == nil {
			return nil
		}
		rec.mu.Lock()
		e.Status = resp.StatusCode
		e.RespHeader = resp.Header.Clone()
		rec.mu.Unlock()
		if resp.StatusCode >= 400 || strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(b))
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			rec.mu.Lock()
			if resp.StatusCode >= 400 {
				e.ErrorBody = b
			}
			e.RespJSON = m
			rec.mu.Unlock()
		}
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		e := &exchange{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body}
		rec.mu.Lock()
		rec.ex = append(rec.ex, e)
		rec.mu.Unlock()
		proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), exchangeKey{}, e)))
	}))
	t.Cleanup(srv.Close)
	rec.URL = srv.URL
	return rec
}

type exchangeKey struct{}

// messages returns the POST /v1/messages exchanges.
func (r *recorder) messages() []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []exchange
	for _, e := range r.ex {
		if e.Method == http.MethodPost && e.Path == "/v1/messages" {
			out = append(out, *e)
		}
	}
	return out
}

// all returns every exchange.
func (r *recorder) all() []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []exchange
	for _, e := range r.ex {
		out = append(out, *e)
	}
	return out
}

// logExchanges logs what Claude Code sent and the gateway answered, to
// diagnose a failure.
func logExchanges(t *testing.T, rec *recorder) {
	t.Helper()
	for i, e := range rec.all() {
		t.Logf("client→gateway #%d %s %s?%s (%d bytes) → %d %s", i, e.Method, e.Path, e.Query, len(e.Body), e.Status, e.ErrorBody)
	}
}

// sequenced serves a fake upstream whose answer depends on how many chat
// requests it has seen: the n-th chat request gets replies[n] (the last
// reply repeats). Requests are served one at a time, so Set cannot race
// with a concurrent request.
type sequenced struct {
	up      *testupstream.Server
	replies []testupstream.Reply
	mu      sync.Mutex
	n       int
}

func (s *sequenced) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method == http.MethodPost && isChatPath(r.URL.Path) {
		s.up.Set(s.replies[min(s.n, len(s.replies)-1)])
		s.n++
	}
	s.up.Config.Handler.ServeHTTP(w, r) // the fake records the request
}

func isChatPath(p string) bool {
	return p == "/v1/messages" || p == "/v1/chat/completions" || p == "/api/chat"
}

// startSequenced starts a gateway (testgateway.DefaultConfig plus
// extraYAML) whose three providers are sequenced fakes answering
// replies[kind] in order. It
// returns the gateway and the fake of each kind.
func startSequenced(t *testing.T, replies map[string][]testupstream.Reply, extraYAML string) (*testgateway.Gateway, map[string]*testupstream.Server) {
	t.Helper()
	fakes := map[string]*testupstream.Server{}
	urls := map[string]string{}
	for _, kind := range []string{"openai", "anthropic", "ollama"} {
		up := testupstream.New(kind)
		t.Cleanup(up.Close)
		rs := replies[kind]
		if len(rs) == 0 {
			rs = []testupstream.Reply{{Text: "unused"}}
		}
		srv := httptest.NewServer(&sequenced{up: up, replies: rs})
		t.Cleanup(srv.Close)
		fakes[kind] = up
		urls[kind] = srv.URL
	}
	yaml := strings.NewReplacer("{{openai}}", urls["openai"], "{{anthropic}}", urls["anthropic"], "{{ollama}}", urls["ollama"]).
		Replace(testgateway.DefaultConfig + extraYAML)
	return testgateway.Start(t, yaml), fakes
}

// chatRequests returns the generation requests a fake received (not, say,
// Ollama's /api/tags).
func chatRequests(up *testupstream.Server) []testupstream.Recorded {
	var out []testupstream.Recorded
	for _, r := range up.Requests() {
		if r.Method == http.MethodPost && isChatPath(r.Path) {
			out = append(out, r)
		}
	}
	return out
}
