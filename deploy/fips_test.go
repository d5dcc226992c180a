package deploy

import (
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/testupstream"
)

// TestFIPSBuild builds the image's binary with GOFIPS140=v1.0.0 (Go's
// FIPS 140-3 module), checks it reports FIPS mode, and has it serve a chat
// completion through a TLS upstream. Skipped when the toolchain lacks the
// module.
func TestFIPSBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin, _ := buildStage(t, map[string]string{"VERSION": "v9.9.9-fips", "REVISION": "fips", "GOFIPS140": "v1.0.0"}, "")
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("version: %v: %s", err, out)
	}
	if !strings.Contains(string(out), "GOFIPS140\tv1.0.0") || !strings.Contains(string(out), "fips140\ton") {
		t.Fatalf("not a FIPS build:\n%s", out)
	}

	// A fake OpenAI upstream behind TLS; the binary trusts its certificate
	// through SSL_CERT_FILE.
	up := testupstream.New("openai")
	defer up.Close()
	tlsUp := httptest.NewTLSServer(up.Config.Handler)
	defer tlsUp.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsUp.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "tidegate.yaml")
	yaml := fmt.Sprintf("listen: %s\nproviders:\n  oai: {type: openai, base_url: %q, api_key: sk-fips-test}\nmodels:\n  gpt: {provider: oai, model: gpt-4o-mini}\n", addr, tlsUp.URL+"/v1")
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfg)
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+ca)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if r, err := http.Get("http://" + addr + "/health"); err == nil {
			r.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the FIPS binary did not come up:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Post("http://"+addr+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || up.Last().Header.Get("Authorization") != "Bearer sk-fips-test" {
		t.Fatalf("chat through TLS: %d, upstream saw %q\n%s", resp.StatusCode, up.Last().Header.Get("Authorization"), log.String())
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
