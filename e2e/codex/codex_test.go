// Package codex_test runs the real Codex CLI (`codex exec`) against the
// real tidegate binary, configured with a custom model provider that
// speaks the Responses API (wire_api = "responses") to the gateway, which
// translates it for fake OpenAI-chat and Anthropic upstreams, or relays it
// to a fake that serves the Responses API (responses_api). It skips when
// `codex` is not on PATH (npm install -g @openai/codex).
package codex_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/testbinary"
	"github.com/tidegate/tidegate/internal/testupstream"
)

var bin testbinary.Binary // the built tidegate

func TestMain(m *testing.M) {
	os.Exit(testbinary.Main(m, "tidegate-e2e-codex-", &bin))
}

// runTimeout bounds one codex run; against the fakes it takes seconds.
const runTimeout = 120 * time.Second

// clientKey is what Codex sends; it must never reach an upstream.
const clientKey = "sk-codex-client-key"

const upstreamKey = "sk-upstream-key-for-codex"

func codexBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping the Codex end-to-end test in -short mode")
	}
	path, err := exec.LookPath("codex")
	if err != nil {
		t.Skip("Codex CLI (`codex`) is not on PATH; install it with `npm install -g @openai/codex` to run this test")
	}
	return path
}

// gateway starts the tidegate binary with one public model, "codex-model",
// routed to fake: an "openai" (Chat Completions) or "anthropic" fake, or
// "openai-responses", an OpenAI fake relayed to with responses_api.
func gateway(t *testing.T, dialect string, fake *testupstream.Server) string {
	t.Helper()
	bin.Need(t)
	base, typ, extra := fake.URL, dialect, ""
	switch dialect {
	case "openai":
		base += "/v1"
	case "openai-responses":
		base, typ, extra = base+"/v1", "openai", ", responses_api: true"
	}
	cfg := fmt.Sprintf(`providers:
  up: {type: %s, base_url: %q, api_key: %q%s}
models:
  codex-model: {provider: up, model: upstream-model}
`, typ, base, upstreamKey, extra)
	path := filepath.Join(t.TempDir(), "tidegate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := testbinary.FreeAddr(t)
	p := bin.Start(t, "tidegate", "", testbinary.Env(t, "TIDEGATE_LISTEN="+addr), "serve", "--config", path)
	if !p.WaitHealthy(t, addr, 20*time.Second) {
		t.Fatalf("tidegate did not become healthy: %v\n%s", p.Err(), p.Output())
	}
	return p.URL
}

// codexConfig points Codex at the gateway: a custom provider with the
// Responses wire API, the key from an environment variable, no retries
// (a failure shows at once), and nothing that calls OpenAI's own servers.
func codexConfig(gatewayURL string) string {
	return fmt.Sprintf(`model = "codex-model"
model_provider = "tidegate"
approval_policy = "never"
sandbox_mode = "read-only"

[model_providers.tidegate]
name = "tidegate"
base_url = %q
env_key = "TIDEGATE_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
stream_idle_timeout_ms = 60000

[analytics]
enabled = false

[feedback]
enabled = false
`, gatewayURL+"/v1")
}

// runCodex runs `codex exec --json` with prompt in dir and returns the
// agent's last message and the JSONL events.
func runCodex(t *testing.T, codex, gatewayURL, dir, prompt string) (string, []gjson.Result) {
	t.Helper()
	home := t.TempDir()
	codexHome := filepath.Join(home, ".codex")
	if err := os.MkdirAll(codexHome, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(codexHome, "config.toml"), []byte(codexConfig(gatewayURL)), 0o600); err != nil {
		t.Fatal(err)
	}
	last := filepath.Join(home, "last.txt")
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, codex, "exec", "--json", "--skip-git-repo-check", "--ephemeral",
		"--color", "never", "-o", last, "-C", dir, prompt)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"CODEX_HOME=" + codexHome,
		"TMPDIR=" + os.TempDir(),
		"LANG=C.UTF-8",
		"TERM=dumb",
		"TIDEGATE_API_KEY=" + clientKey,
		"RUST_LOG=error",
	}
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("codex exec took %v", time.Since(start).Round(time.Millisecond))
	if ctx.Err() != nil {
		t.Fatalf("codex did not finish within %v\nstdout: %s\nstderr: %s", runTimeout, stdout.Bytes(), stderr.Bytes())
	}
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("running codex: %v", err)
		}
		t.Errorf("codex exited with %v\nstdout: %s\nstderr: %s", err, stdout.Bytes(), stderr.Bytes())
	}
	var events []gjson.Result
	for _, line := range bytes.Split(stdout.Bytes(), []byte("\n")) {
		if line = bytes.TrimSpace(line); len(line) > 0 && json.Valid(line) {
			events = append(events, gjson.ParseBytes(line))
		}
	}
	msg, _ := os.ReadFile(last)
	return strings.TrimSpace(string(msg)), events
}

// generations returns the generation requests a fake upstream received.
func generations(s *testupstream.Server) []testupstream.Recorded {
	var out []testupstream.Recorded
	for _, r := range s.Requests() {
		if r.Method == "POST" {
			out = append(out, r)
		}
	}
	return out
}

// TestCodexAnswer: a plain question answered through each translation.
func TestCodexAnswer(t *testing.T) {
	codex := codexBinary(t)
	for _, dialect := range []string{"openai", "anthropic", "openai-responses"} {
		t.Run(dialect, func(t *testing.T) {
			fake := testupstream.New(strings.TrimSuffix(dialect, "-responses"))
			t.Cleanup(fake.Close)
			fake.Set(testupstream.Reply{Text: "The answer is 42.", Usage: testupstream.Usage{Input: 1000, Output: 7}})
			url := gateway(t, dialect, fake)
			answer, events := runCodex(t, codex, url, t.TempDir(), "What is the answer?")
			if answer != "The answer is 42." {
				t.Errorf("codex answered %q, want %q; events: %v", answer, "The answer is 42.", events)
			}
			reqs := generations(fake)
			if len(reqs) == 0 {
				t.Fatal("the upstream received no generation request")
			}
			for _, r := range reqs {
				if h := r.Header.Get("Authorization") + r.Header.Get("x-api-key"); strings.Contains(h, clientKey) || !strings.Contains(h, upstreamKey) {
					t.Errorf("upstream credentials %q: want the gateway's key, never the client's", h)
				}
			}
			last := reqs[len(reqs)-1]
			body := last.Body
			if dialect == "openai-responses" {
				if last.Path != "/v1/responses" || gjson.GetBytes(body, "model").Str != "upstream-model" || gjson.GetBytes(body, "store").Raw != "false" {
					t.Errorf("relayed request: %s %s", last.Path, body)
				}
			}
			if !strings.Contains(string(body), "What is the answer?") {
				t.Errorf("the prompt did not reach the upstream: %s", body)
			}
			if !gjson.GetBytes(body, "tools").IsArray() {
				t.Errorf("Codex's tools did not reach the upstream: %s", body)
			}
		})
	}
}

// TestCodexToolRoundTrip: the model asks Codex to run a command; Codex
// runs it and sends the output back by call_id; the upstream sees the
// tool result in its own dialect, and Codex prints the final answer.
func TestCodexToolRoundTrip(t *testing.T) {
	codex := codexBinary(t)
	for _, dialect := range []string{"openai", "anthropic", "openai-responses"} {
		t.Run(dialect, func(t *testing.T) {
			fake := testupstream.New(strings.TrimSuffix(dialect, "-responses"))
			t.Cleanup(fake.Close)
			dir := t.TempDir()
			const content = "tidegate-codex-file-content"
			if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte(content+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			first := testupstream.Reply{ToolCalls: []testupstream.ToolCall{{ID: "call_cat_1", Name: "exec_command", Args: `{"cmd":"cat hello.txt"}`}}}
			if dialect == "anthropic" {
				first.Thinking = "I should read the file." // signed "sig-1" by the fake
			}
			fake.Script(
				first,
				testupstream.Reply{Text: "The file says " + content + "."},
			)
			url := gateway(t, dialect, fake)
			answer, events := runCodex(t, codex, url, dir, "What does hello.txt say?")
			if answer != "The file says "+content+"." {
				t.Errorf("codex answered %q; events: %v", answer, events)
			}
			reqs := generations(fake)
			if len(reqs) < 2 {
				t.Fatalf("the upstream received %d generation requests, want the call and its result", len(reqs))
			}
			// The second request carries the call and its output, matched by id.
			body := reqs[1].Body
			var call, result string
			switch dialect {
			case "openai":
				for _, m := range gjson.GetBytes(body, "messages").Array() {
					if m.Get("role").Str == "assistant" && m.Get("tool_calls.0.id").Str == "call_cat_1" {
						call = m.Get("tool_calls.0.function.name").Str
					}
					if m.Get("role").Str == "tool" && m.Get("tool_call_id").Str == "call_cat_1" {
						result = m.Get("content").String()
					}
				}
			case "openai-responses": // Codex's own items, relayed
				for _, item := range gjson.GetBytes(body, "input").Array() {
					if item.Get("type").Str == "function_call" && item.Get("call_id").Str == "call_cat_1" {
						call = item.Get("name").Str
					}
					if item.Get("type").Str == "function_call_output" && item.Get("call_id").Str == "call_cat_1" {
						result = item.Get("output").String()
					}
				}
			case "anthropic":
				for _, m := range gjson.GetBytes(body, "messages").Array() {
					for _, b := range m.Get("content").Array() {
						if b.Get("type").Str == "tool_use" && b.Get("id").Str == "call_cat_1" {
							call = b.Get("name").Str
						}
						if b.Get("type").Str == "tool_result" && b.Get("tool_use_id").Str == "call_cat_1" {
							result = b.Get("content").String()
						}
					}
				}
			}
			if call != "exec_command" {
				t.Errorf("the replayed call is %q, want exec_command; body: %s", call, body)
			}
			if !strings.Contains(result, content) {
				t.Errorf("the tool result does not hold the file's content: %q", result)
			}
			if dialect == "anthropic" {
				// Codex replays the reasoning item; its signature survives the trip.
				thinking := gjson.GetBytes(body, `messages.#(role=="assistant").content.#(type=="thinking")`)
				if thinking.Get("signature").Str != "sig-1" || thinking.Get("thinking").Str != "I should read the file." {
					t.Errorf("the replayed thinking is %s, want the signed block back; body: %s", thinking.Raw, body)
				}
			}
		})
	}
}
