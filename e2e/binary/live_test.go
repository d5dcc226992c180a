package binary_test

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/testbinary"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// The real binary: a provider key from the environment only
// (TIDEGATE_PROVIDERS_*), a reload on SIGHUP that rotates it, an invalid
// file rejected while the old config serves, and `tidegate health`.
func TestEnvOverridesAndSIGHUP(t *testing.T) {
	bin.Need(t)
	up := testupstream.New("openai")
	defer up.Close()
	addr := testbinary.FreeAddr(t)
	cfg := func(extra string) string {
		return fmt.Sprintf("providers:\n  oai: {type: openai, base_url: %q}\nmodels:\n  gpt: {provider: oai, model: gpt-4o-mini}\n%s", up.URL+"/v1", extra)
	}
	path := writeFile(t, "tidegate.yaml", cfg(""))
	env := testbinary.Env(t, "TIDEGATE_LISTEN="+addr, "TIDEGATE_PROVIDERS_OAI_API_KEY=sk-from-env-1")
	p := serve(t, env, addr, "--config", path)
	key := func() string { return up.Last().Header.Get("Authorization") }

	if r := do(t, "POST", p.URL+"/v1/chat/completions", chatBody("gpt", false)); r.Status != 200 || key() != "Bearer sk-from-env-1" {
		t.Fatalf("env key: %s, upstream saw %q", r, key())
	}
	if out, code := runCmd(t, env, "health"); code != 0 || !strings.Contains(out, "healthy") {
		t.Fatalf("tidegate health: exit %d: %s", code, out)
	}
	if out, code := runCmd(t, env, "health", "--path", "/health/ready"); code != 0 {
		t.Fatalf("tidegate health --path /health/ready: exit %d: %s", code, out)
	}

	// An invalid file: SIGHUP rejects it, the old config serves on.
	writeAt(t, path, cfg("bogus: 1\n"))
	p.Signal(t, syscall.SIGHUP)
	waitOutput(t, p, "config reload rejected")
	if r := do(t, "POST", p.URL+"/v1/chat/completions", chatBody("gpt", false)); r.Status != 200 {
		t.Fatalf("after a rejected reload: %s", r)
	}
	// A valid one applies without a restart: the model moves to a provider
	// whose key the file holds (how keys rotate without a restart; keys
	// from the environment change with one).
	writeAt(t, path, fmt.Sprintf("providers:\n  oai: {type: openai, base_url: %[1]q}\n  oai2: {type: openai, base_url: %[1]q, api_key: sk-from-file-2}\n"+
		"models:\n  gpt: {provider: oai2, model: gpt-4o-mini}\naliases: {fast: gpt}\n", up.URL+"/v1"))
	p.Signal(t, syscall.SIGHUP)
	waitOutput(t, p, "config reloaded")
	if r := do(t, "POST", p.URL+"/v1/chat/completions", chatBody("fast", false)); r.Status != 200 || key() != "Bearer sk-from-file-2" {
		t.Fatalf("after SIGHUP: %s, upstream saw %q", r, key())
	}

	p.Signal(t, syscall.SIGTERM)
	if !p.Wait(10 * time.Second) {
		t.Fatal("did not stop")
	}
	if out, code := runCmd(t, env, "health", "--timeout", "1s"); code == 0 {
		t.Fatalf("tidegate health against a stopped gateway: exit 0: %s", out)
	}
}

func writeAt(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func waitOutput(t *testing.T, p *testbinary.Process, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.Output(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the output:\n%s", s, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
