package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := rootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestEnvCommand(t *testing.T) {
	out, err := runCLI(t, "env")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"TIDEGATE_LISTEN ", "TIDEGATE_PROVIDERS_<NAME>_API_KEY ", "providers.<name>.api_key\n", "TIDEGATE_ADMIN_KEYS_<N>_KEY "} {
		if !strings.Contains(out, want) {
			t.Errorf("tidegate env lacks %q", want)
		}
	}
}

func TestHealthCommand(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health/ready" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		w.Write([]byte(`{"status":"ready"}`))
	}))
	defer srv.Close()
	if out, err := runCLI(t, "health", "--url", srv.URL, "--path", "/health/ready"); err != nil || !strings.Contains(out, "ok") {
		t.Fatalf("healthy: %v %s", err, out)
	}
	status = http.StatusServiceUnavailable
	if out, err := runCLI(t, "health", "--url", srv.URL, "--path", "/health/ready"); err == nil || !strings.Contains(out, "503") {
		t.Fatalf("unhealthy must fail: %v %s", err, out)
	}
}

func TestHealthURL(t *testing.T) {
	for listen, want := range map[string]string{
		"":                 "http://127.0.0.1:8080",
		"0.0.0.0:9000":     "http://127.0.0.1:9000",
		"[::]:9000":        "http://127.0.0.1:9000",
		":9000":            "http://127.0.0.1:9000",
		"10.0.0.5:9000":    "http://10.0.0.5:9000",
		"localhost:8081":   "http://localhost:8081",
		"not-an-address":   "http://127.0.0.1:8080",
		"[2001:db8::1]:80": "http://[2001:db8::1]:80",
	} {
		if got := healthURL(func(k string) string { return map[string]string{"TIDEGATE_LISTEN": listen}[k] }); got != want {
			t.Errorf("listen %q: %s, want %s", listen, got, want)
		}
	}
}
