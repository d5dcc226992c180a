package binary_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/testbinary"
	"github.com/tidegate/tidegate/internal/testupstream"
)

func TestVersion(t *testing.T) {
	bin.Need(t)
	out, code := runCmd(t, testbinary.Env(t), "version")
	if code != 0 {
		t.Fatalf("tidegate version: exit %d: %s", code, out)
	}
	if !regexp.MustCompile(`^tidegate \S+\n`).MatchString(out) {
		t.Errorf("tidegate version printed %q, want \"tidegate <version>\" first", out)
	}
	// Provenance: the toolchain, the main module and every dependency
	// with its checksum, as `go version -m` reports them.
	for _, re := range []string{`(?m)^go\tgo1\.\d+`, `(?m)^module\tgithub\.com/tidegate/tidegate\t`,
		`(?m)^dep\tgithub\.com/jackc/pgx/v5\tv5\.\d+\.\d+\th1:`, `(?m)^fips140\t(on|off)$`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("tidegate version lacks %s:\n%s", re, out)
		}
	}
}

// TestZeroConfig: no config and no keys still serves echo in both
// dialects, /health and /v1/models.
func TestZeroConfig(t *testing.T) {
	bin.Need(t)
	versionOut, _ := runCmd(t, testbinary.Env(t), "version")
	first, _, _ := strings.Cut(versionOut, "\n")
	version := strings.TrimSpace(strings.TrimPrefix(first, "tidegate "))

	addr := testbinary.FreeAddr(t)
	p := serve(t, testbinary.Env(t, "TIDEGATE_LISTEN="+addr), addr)

	t.Run("health", func(t *testing.T) {
		r := do(t, http.MethodGet, p.URL+"/health", "")
		var h struct {
			Status        string   `json:"status"`
			Version       *string  `json:"version"`
			UptimeSeconds *float64 `json:"uptime_seconds"`
		}
		decode(t, r, &h)
		if r.Status != 200 || h.Status != "healthy" || h.Version == nil || h.UptimeSeconds == nil {
			t.Fatalf("/health: %s, want {status: healthy, version, uptime_seconds}", r)
		}
		if *h.Version != version {
			t.Errorf("/health version %q, tidegate version says %q", *h.Version, version)
		}
		if *h.UptimeSeconds < 0 || *h.UptimeSeconds > 60 {
			t.Errorf("uptime_seconds %v for a process started just now", *h.UptimeSeconds)
		}
		if r.Header.Get("x-request-id") == "" {
			t.Errorf("no x-request-id on /health")
		}
	})
	t.Run("models", func(t *testing.T) {
		r := do(t, http.MethodGet, p.URL+"/v1/models", "")
		var m struct {
			Object string `json:"object"`
			Data   []struct {
				ID     string `json:"id"`
				Object string `json:"object"`
			} `json:"data"`
		}
		decode(t, r, &m)
		var ids []string
		for _, d := range m.Data {
			ids = append(ids, d.ID)
		}
		if r.Status != 200 || m.Object != "list" || len(ids) != 1 || ids[0] != "echo" {
			t.Errorf("/v1/models lists %v (%s), want only echo: no keys and no Ollama", ids, r)
		}
	})
	t.Run("openai", func(t *testing.T) {
		if got := openAIText(t, do(t, http.MethodPost, p.URL+"/v1/chat/completions", chatBody("echo", false))); got != "hello there" {
			t.Errorf("echo answered %q", got)
		}
		resp, fr := openStream(t, p.URL+"/v1/chat/completions", chatBody("echo", true))
		frames, err := readAllFrames(t, resp, fr, 10*time.Second)
		if err != nil || len(frames) < 2 || frames[len(frames)-1].Data != "[DONE]" {
			t.Errorf("echo stream did not end with [DONE] (err %v): %v", err, frames)
		}
	})
	t.Run("anthropic", func(t *testing.T) {
		if got := anthropicText(t, do(t, http.MethodPost, p.URL+"/v1/messages", messagesBody("echo", false))); got != "hello there" {
			t.Errorf("echo answered %q", got)
		}
		resp, fr := openStream(t, p.URL+"/v1/messages", messagesBody("echo", true))
		frames, err := readAllFrames(t, resp, fr, 10*time.Second)
		if err != nil || len(frames) < 2 || frames[0].Event != "message_start" || frames[len(frames)-1].Event != "message_stop" {
			t.Errorf("echo stream is not message_start … message_stop (err %v): %v", err, frames)
		}
	})
	t.Run("no provider without a key", func(t *testing.T) {
		r := do(t, http.MethodPost, p.URL+"/v1/chat/completions", chatBody("openai/gpt-4o-mini", false))
		if r.Status != http.StatusNotFound || !strings.Contains(string(r.Body), "/v1/models") {
			t.Errorf("openai/gpt-4o-mini without OPENAI_API_KEY: %s, want 404 pointing to /v1/models", r)
		}
	})
}

// TestZeroConfigOpenAIKey: OPENAI_API_KEY and OPENAI_BASE_URL make
// openai/<model> route to that server, from both dialects.
func TestZeroConfigOpenAIKey(t *testing.T) {
	bin.Need(t)
	up := testupstream.New("openai")
	t.Cleanup(up.Close)
	up.Set(testupstream.Reply{Text: "Hi from the fake OpenAI."})
	const key = "sk-e2e-binary-openai-123456"
	addr := testbinary.FreeAddr(t)
	p := serve(t, testbinary.Env(t, "TIDEGATE_LISTEN="+addr, "OPENAI_API_KEY="+key, "OPENAI_BASE_URL="+up.URL+"/v1"), addr)

	r := do(t, http.MethodPost, p.URL+"/v1/chat/completions", chatBody("openai/gpt-4o-mini", false))
	if got := openAIText(t, r); got != "Hi from the fake OpenAI." {
		t.Errorf("openai/gpt-4o-mini answered %q", got)
	}
	if r.Header.Get("x-tidegate-model") != "gpt-4o-mini" {
		t.Errorf("x-tidegate-model %q, want gpt-4o-mini", r.Header.Get("x-tidegate-model"))
	}
	last := up.Last()
	if last.Path != "/v1/chat/completions" || last.JSON()["model"] != "gpt-4o-mini" || last.Header.Get("Authorization") != "Bearer "+key {
		t.Errorf("upstream got %s %s model %v auth %q", last.Method, last.Path, last.JSON()["model"], last.Header.Get("Authorization"))
	}
	if got := anthropicText(t, do(t, http.MethodPost, p.URL+"/v1/messages", messagesBody("openai/gpt-4o-mini", false))); got != "Hi from the fake OpenAI." {
		t.Errorf("openai/gpt-4o-mini from the Anthropic dialect answered %q", got)
	}
	if n := len(up.Requests()); n != 2 {
		t.Errorf("upstream received %d requests, want 2", n)
	}
	models := string(do(t, http.MethodGet, p.URL+"/v1/models", "").Body)
	if !strings.Contains(models, `"openai/gpt-4o-mini"`) || !strings.Contains(models, `"echo"`) {
		t.Errorf("/v1/models does not list openai/gpt-4o-mini and echo: %s", models)
	}
}

// TestNonLoopbackNeedsAuth: listening beyond loopback without `auth:` is
// refused at start with a clear message; `auth: none` allows it.
func TestNonLoopbackNeedsAuth(t *testing.T) {
	bin.Need(t)
	port := testbinary.FreePort(t)
	open := fmt.Sprintf("listen: 0.0.0.0:%d\nproviders: {echo: {type: echo}}\nmodels: {echo: {provider: echo, model: echo}}\n", port)

	out, code := runCmd(t, testbinary.Env(t), "serve", "--config", writeFile(t, "open.yaml", open))
	if code == 0 {
		t.Errorf("serve on 0.0.0.0 without auth exited 0, want a refusal")
	}
	for _, want := range []string{"listen", "0.0.0.0", "loopback", "auth: none"} {
		if !strings.Contains(out, want) {
			t.Errorf("refusal message lacks %q:\n%s", want, out)
		}
	}
	if !refused(fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Errorf("something listens on port %d after a refused start", port)
	}

	// The zero-config path is held to the same rule.
	out, code = runCmd(t, testbinary.Env(t, fmt.Sprintf("TIDEGATE_LISTEN=0.0.0.0:%d", port)), "serve")
	if code == 0 || !strings.Contains(out, "auth: none") {
		t.Errorf("zero-config serve on 0.0.0.0: exit %d, want a refusal naming `auth: none`:\n%s", code, out)
	}

	p := serve(t, testbinary.Env(t), fmt.Sprintf("127.0.0.1:%d", port), "--config", writeFile(t, "none.yaml", "auth: none\n"+open))
	if got := openAIText(t, do(t, http.MethodPost, p.URL+"/v1/chat/completions", chatBody("echo", false))); got != "hello there" {
		t.Errorf("echo answered %q", got)
	}
	p.Signal(t, syscall.SIGTERM)
	if !p.Wait(10 * time.Second) {
		t.Errorf("still running 10s after SIGTERM")
	} else if code := p.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
}

// TestLint reports every problem of a config with its path, and accepts a
// valid one.
func TestLint(t *testing.T) {
	bin.Need(t)
	bad := `
listen: 0.0.0.0:8080
server: {max_body_bytes: -1}
providers:
  oai:   {type: openai, base_url: "ftp://example.invalid"}
  weird: {type: watsonx}
  notype: {base_url: "http://127.0.0.1:1"}
  hdr:   {type: openai, base_url: "http://127.0.0.1:1", headers: {"Bad Name": x}}
models:
  m1: {provider: nope, model: x}
  m2: {provider: oai}
  "a*b": {provider: oai, model: x}
`
	out, code := runCmd(t, testbinary.Env(t), "lint", "--config", writeFile(t, "bad.yaml", bad))
	if code == 0 {
		t.Errorf("lint of a broken config exited 0:\n%s", out)
	}
	for _, want := range []string{
		"listen: 0.0.0.0:8080 is not a loopback address",
		"server.max_body_bytes: must be positive",
		`providers.oai.base_url: must be an http(s) URL, got "ftp://example.invalid"`,
		`providers.weird.type: unknown provider type "watsonx"`,
		"providers.notype.type: required",
		`providers.hdr.headers: invalid header name "Bad Name"`,
		`models.m1.provider: unknown provider "nope"`,
		"models.m2.model: required",
		"models.a*b: a wildcard may only end the name",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lint output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("lint output:\n%s", out)
	}

	out, code = runCmd(t, testbinary.Env(t), "lint", "--config", writeFile(t, "auth.yaml", "listen: 127.0.0.1:1\nauth: maybe\n"))
	if code == 0 || !strings.Contains(out, `auth: unknown mode "maybe"`) {
		t.Errorf("lint of an unknown auth mode: exit %d, want an error with its path:\n%s", code, out)
	}

	out, code = runCmd(t, testbinary.Env(t), "lint", "--config", writeFile(t, "unknown.yaml", "listen: 127.0.0.1:1\nprovders: {}\n"))
	if code == 0 || !strings.Contains(out, "provders") {
		t.Errorf("lint of a config with an unknown key: exit %d, want an error naming it:\n%s", code, out)
	}

	good := `
providers:
  oai:  {type: openai, base_url: "http://127.0.0.1:1/v1", api_key: "${E2E_LINT_KEY:-none}"}
  echo: {type: echo}
models:
  fast: {provider: oai, model: gpt-4o-mini}
  echo: {provider: echo, model: echo}
`
	out, code = runCmd(t, testbinary.Env(t), "lint", "--config", writeFile(t, "good.yaml", good))
	if code != 0 || !strings.Contains(out, "ok: 2 providers, 2 models") {
		t.Errorf("lint of a valid config: exit %d: %s", code, out)
	}
}
