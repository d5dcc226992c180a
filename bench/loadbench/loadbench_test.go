package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/openapi"
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
	// Scenario h's floor: a tools/call of lookupOrder, answered with the
	// API's body as text and structuredContent.
	spec, err := newMCPLoadSpec(fl.URL, "mcp-call", floorMCPPath, 1)
	if err != nil {
		t.Fatal(err)
	}
	spec.concurrency = 2
	got := spec.run(context.Background(), &http.Client{Transport: newTransport(2), Timeout: 10 * time.Second}, 5*time.Second, 20)
	if got.errors != 0 || len(got.latencies) != 20 {
		t.Fatalf("mcp floor: ok=%d errors=%d %v", len(got.latencies), got.errors, got.errSample)
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

func TestReportGoverned(t *testing.T) {
	rows := []result{
		{Scenario: "a", Title: "t", Target: "gateway", Requests: 1000, RPS: 100, P50us: 1000, P99us: 2000, CPUusPerReq: 50, CorePct: 90, PeakRSSMiB: 10},
		{Scenario: "g", Title: "r", Target: "gateway", GatewayBase: "a", Requests: 900, Errors: 100, RPS: 90, P50us: 1100, P99us: 2200,
			CPUusPerReq: 55, CorePct: 90, PeakRSSMiB: 20, Redis: &redisCount{Eval: 1000, All: 1500, CPUus: 20000}},
	}
	var b bytes.Buffer
	writeReport(&b, rows)
	if !strings.Contains(b.String(), "| g r | gateway, a t | 0.90× | 1.10× | 1.10× | 1.10× | 2.00× | 1.00 | 1.50 | 20 |") {
		t.Fatal(b.String())
	}
}

// fakeRedis answers PING, INFO commandstats, SCAN and UNLINK over RESP on
// 127.0.0.1, holding keys in a set.
func fakeRedis(t *testing.T, keys map[string]bool, evalsha *int) string {
	t.Helper()
	ln, err := net.Listen("tcp", loopback+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				for {
					v, err := readRESP(r, 0)
					if err != nil {
						return
					}
					args, _ := v.([]any)
					cmd := make([]string, len(args))
					for i, a := range args {
						cmd[i], _ = a.(string)
					}
					mu.Lock()
					var reply string
					switch strings.ToUpper(cmd[0]) {
					case "PING":
						reply = "+PONG\r\n"
					case "INFO":
						*evalsha += 7
						info := fmt.Sprintf("# CPU\r\nused_cpu_sys:%d.5\r\nused_cpu_user:1.25\r\n\r\n# Commandstats\r\n"+
							"cmdstat_evalsha:calls=%d,usec=10,usec_per_call=1.00,rejected_calls=0,failed_calls=0\r\ncmdstat_info:calls=%d,usec=1\r\n",
							*evalsha/7, *evalsha, *evalsha/7)
						reply = fmt.Sprintf("$%d\r\n%s\r\n", len(info), info)
					case "SCAN": // everything in one page
						var b strings.Builder
						var match []string
						for k := range keys {
							if ok, _ := path.Match(cmd[3], k); ok {
								match = append(match, k)
							}
						}
						fmt.Fprintf(&b, "*2\r\n$1\r\n0\r\n*%d\r\n", len(match))
						for _, k := range match {
							fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(k), k)
						}
						reply = b.String()
					case "UNLINK":
						n := 0
						for _, k := range cmd[1:] {
							if keys[k] {
								delete(keys, k)
								n++
							}
						}
						reply = fmt.Sprintf(":%d\r\n", n)
					default:
						reply = "-ERR unknown command\r\n"
					}
					mu.Unlock()
					if _, err := io.WriteString(conn, reply); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestRedis(t *testing.T) {
	keys := map[string]bool{"tgbench:ab12cd:rq:k": true, "tgbench:ab12cd:id:1": true, "other:rq:k": true}
	evalsha := 0
	addr := fakeRedis(t, keys, &evalsha)
	ctx := context.Background()
	c, err := dialRedis(ctx, addr, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v, err := c.do("PING"); err != nil || v != "PONG" {
		t.Fatalf("ping: %v %v", v, err)
	}
	before, err := c.stats()
	if err != nil {
		t.Fatal(err)
	}
	after, err := c.stats()
	if err != nil {
		t.Fatal(err)
	}
	if d := diffStats(before, after); d.Eval != 7 || d.All != 7 || d.CPUus != 1e6 { // the first INFO is not counted
		t.Fatalf("diff %+v (before %v, after %v)", d, before, after)
	}
	if _, err := c.do("NOPE"); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("error reply: %v", err)
	}
	for _, bad := range []string{"", "*", "other:", "tgbench:*:", "tgbench:ab:"} {
		if _, err := c.clean(bad); err == nil {
			t.Errorf("clean(%q) accepted", bad)
		}
	}
	n, err := c.clean("tgbench:ab12cd:")
	if err != nil || n != 2 || len(keys) != 1 || !keys["other:rq:k"] {
		t.Fatalf("clean: %d %v, left %v", n, err, keys)
	}
	if _, err := dialRedis(ctx, "localhost:6379", 0); err == nil {
		t.Error("dialRedis accepted localhost")
	}
}

func TestNewKey(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if r.URL.Path != "/admin/keys" || r.Header.Get("Authorization") != "Bearer adm" ||
			json.NewDecoder(r.Body).Decode(&body) != nil || body["name"] != "bench" || body["rpm"] != float64(5) {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":"key_1","key":"sk-tg-secret","rpm":5}`)
	}))
	defer srv.Close()
	key, err := newKey(context.Background(), srv.URL, "adm", "bench", 5)
	if err != nil || key != "sk-tg-secret" {
		t.Fatalf("%q %v", key, err)
	}
	if _, err := newKey(context.Background(), srv.URL, "wrong", "bench", 5); err == nil || !strings.Contains(err.Error(), "status 400") {
		t.Fatalf("wrong admin key: %v", err)
	}
	if _, err := newKey(context.Background(), srv.URL, "", "bench", 5); err == nil {
		t.Fatal("no admin key accepted")
	}
}

// The MCP scenarios' spec compiles to as many tools as asked for.
func TestMCPSpecCompiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.yaml")
	if err := runMCPSpec(context.Background(), []string{"-ops", "50", "-out", path}); err != nil {
		t.Fatal(err)
	}
	api, err := openapi.Compile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if len(api.Tools) != 50 || api.Tools[0].Name == "" {
		t.Fatalf("%d tools", len(api.Tools))
	}
	names := map[string]bool{}
	for _, tool := range api.Tools {
		names[tool.Name] = true
	}
	if !names[mcpTool] || !names["op049"] {
		t.Fatalf("tools: %v", names)
	}
}
