package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// TestFloorEndToEnd runs the load generator through the floor to the fake
// upstream in every dialect and mode, and directly against the upstream.
func TestFloorEndToEnd(t *testing.T) {
	up := httptest.NewServer(newUpstream("bench", 0).handler())
	defer up.Close()
	f, err := newFloor(up.URL, "bench", "bench-openai=gpt-mock,bench-anthropic=claude-mock")
	if err != nil {
		t.Fatal(err)
	}
	fl := httptest.NewServer(f)
	defer fl.Close()

	cases := []struct {
		name, addr, api, model string
		stream, usage          bool
	}{
		{"openai", fl.URL, "openai", "", false, false},
		{"openai stream", fl.URL, "openai", "", true, true},
		{"openai stream without usage", fl.URL, "openai", "", true, false},
		{"anthropic", fl.URL, "anthropic", "", false, false},
		{"anthropic stream", fl.URL, "anthropic", "", true, false},
		{"upstream direct", up.URL, "openai", "gpt-mock", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := newLoadSpec(tc.addr, tc.api, tc.model, "bench", tc.stream, tc.usage)
			if err != nil {
				t.Fatal(err)
			}
			spec.concurrency = 4
			client := &http.Client{Transport: newTransport(4), Timeout: 10 * time.Second}
			got := spec.run(context.Background(), client, 5*time.Second, 40)
			if got.errors != 0 || len(got.latencies) != 40 {
				t.Fatalf("ok=%d errors=%d %v", len(got.latencies), got.errors, got.errSample)
			}
		})
	}
}

func TestUpstreamRejects(t *testing.T) {
	h := newUpstream("bench", 0).handler()
	cases := []struct {
		name, path, body string
		header           map[string]string
		status           int
	}{
		{"openai no key", "/v1/chat/completions", `{"model":"m","messages":[{}]}`, nil, 401},
		{"openai bad json", "/v1/chat/completions", `{`, map[string]string{"Authorization": "Bearer bench"}, 400},
		{"anthropic no version", "/v1/messages", `{}`, map[string]string{"x-api-key": "bench"}, 400},
		{"anthropic no max_tokens", "/v1/messages", `{"model":"m","messages":[{}]}`,
			map[string]string{"x-api-key": "bench", "anthropic-version": "2023-06-01"}, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(tc.body))
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status || !bytes.Contains(w.Body.Bytes(), []byte(`"error"`)) {
				t.Fatalf("status %d body %s", w.Code, w.Body)
			}
		})
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, u := range []string{"http://localhost:1", "http://10.0.0.1:80", "https://127.0.0.1:1", "http://127.0.0.1"} {
		if _, err := checkURL(u); err == nil {
			t.Errorf("checkURL(%q) accepted", u)
		}
	}
	if err := checkListen("0.0.0.0:80"); err == nil {
		t.Error("checkListen accepted 0.0.0.0")
	}
}

func TestProcSelf(t *testing.T) {
	if _, err := cpuTime(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	rss, err := peakRSS(os.Getpid())
	if err != nil || rss <= 0 {
		t.Fatalf("peak rss %d: %v", rss, err)
	}
}

func TestPercentile(t *testing.T) {
	d := []time.Duration{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	for i := range d {
		d[i] *= time.Microsecond
	}
	if p := percentileUS(d, 0.5); p != 5 {
		t.Errorf("p50 = %v", p)
	}
	if p := percentileUS(d, 0.99); p != 10 {
		t.Errorf("p99 = %v", p)
	}
}

func TestReport(t *testing.T) {
	rows := []result{
		{Scenario: "a", Title: "t", Target: "floor", RPS: 100, P50us: 1000, P99us: 2000, CPUusPerReq: 50, CorePct: 90, PeakRSSMiB: 10},
		{Scenario: "a", Title: "t", Target: "gateway", Baseline: "a", RPS: 50, P50us: 2000, P99us: 4000, CPUusPerReq: 100, CorePct: 95, PeakRSSMiB: 20},
	}
	var b bytes.Buffer
	writeReport(&b, rows)
	if !strings.Contains(b.String(), "| a t | floor, a t | 0.50× | 2.00× | 2.00× | – | 2.00× | 2.00× |") {
		t.Fatal(b.String())
	}
}
