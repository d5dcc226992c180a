package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A nil *Metrics and the nil handles it returns do nothing (metrics off).
func TestNilIsOff(t *testing.T) {
	var m *Metrics
	m.Auth(AuthOK)
	m.RateLimited("k")
	m.QuotaExceeded("k")
	m.Fallback("m", "a", "b")
	m.CacheRequest("hit")
	m.Overhead(time.Millisecond)
	m.MCPCall("api", "tool", "ok")
	m.CounterError("redis")
	m.FailOpen()
	m.UsageDropped(3)
	m.WatchCircuits(func() []Circuit { t.Fatal("snapshot taken with metrics off"); return nil })
	r := m.Route("GET", "/x")
	r.Start()
	r.Done(200, time.Millisecond)
	tg := m.Target("p/m", "p", "m")
	tg.FirstByte(time.Millisecond)
	tg.Succeeded(time.Millisecond)
	tg.Failed(time.Millisecond, 500, "upstream")
	tg.Stream(1, 2, time.Second)
	tg.Usage(1, 2, 3, 4, 0.5, "k")
	if r != nil || tg != nil {
		t.Fatal("nil metrics gave handles")
	}
}

func TestRouteAndTarget(t *testing.T) {
	m := New(Options{})
	r := m.Route("POST", "/v1/chat/completions")
	r.Start()
	if v := testutil.ToFloat64(m.httpInFlight.WithLabelValues("POST", "/v1/chat/completions")); v != 1 {
		t.Errorf("in flight %v", v)
	}
	r.Done(200, time.Millisecond)
	r.Start()
	r.Done(418, time.Millisecond) // not a pre-resolved status
	if v := testutil.ToFloat64(m.httpInFlight.WithLabelValues("POST", "/v1/chat/completions")); v != 0 {
		t.Errorf("in flight %v after Done", v)
	}
	for status, want := range map[string]float64{"200": 1, "418": 1, "500": 0} {
		if v := testutil.ToFloat64(m.httpRequests.WithLabelValues("POST", "/v1/chat/completions", status)); v != want {
			t.Errorf("status %s: %v, want %v", status, v, want)
		}
	}

	tg := m.Target("oai/gpt", "oai", "gpt")
	tg.FirstByte(time.Millisecond)
	tg.Succeeded(2 * time.Millisecond)
	tg.Failed(time.Millisecond, 503, "overloaded")
	tg.Failed(time.Millisecond, 0, "timeout")
	tg.Usage(100, 20, 30, 0, 0.25, "alice")
	for _, c := range []struct {
		got, want float64
		what      string
	}{
		{testutil.ToFloat64(m.upstreamRequests.WithLabelValues("oai/gpt", "oai", "200")), 1, "200"},
		{testutil.ToFloat64(m.upstreamRequests.WithLabelValues("oai/gpt", "oai", "503")), 1, "503"},
		{testutil.ToFloat64(m.upstreamRequests.WithLabelValues("oai/gpt", "oai", "error")), 1, "no HTTP status"},
		{testutil.ToFloat64(m.upstreamErrors.WithLabelValues("oai/gpt", "timeout")), 1, "timeout errors"},
		{testutil.ToFloat64(m.tokens.WithLabelValues("oai", "gpt", "input")), 100, "input tokens"},
		{testutil.ToFloat64(m.tokens.WithLabelValues("oai", "gpt", "cache_read")), 30, "cache read tokens"},
		{testutil.ToFloat64(m.cost.WithLabelValues("oai", "gpt", "")), 0.25, "cost without key labels"},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestKeyLabels(t *testing.T) {
	off, on := New(Options{}), New(Options{KeyLabels: true})
	for _, m := range []*Metrics{off, on} {
		m.RateLimited("alice")
		m.QuotaExceeded("alice")
		m.Target("a/b", "a", "b").Usage(1, 1, 0, 0, 1, "alice")
	}
	if v := testutil.ToFloat64(off.rateLimited.WithLabelValues("")); v != 1 {
		t.Errorf("key labels off: rate limited %v under key_name=\"\"", v)
	}
	if n := testutil.CollectAndCount(off.rateLimited); n != 1 {
		t.Errorf("key labels off: %d rate-limit series, want 1", n)
	}
	if v := testutil.ToFloat64(on.rateLimited.WithLabelValues("alice")); v != 1 {
		t.Errorf("key labels on: %v for alice", v)
	}
	if v := testutil.ToFloat64(on.quotaExceeded.WithLabelValues("alice")); v != 1 {
		t.Errorf("key labels on: quota %v for alice", v)
	}
	if v := testutil.ToFloat64(on.cost.WithLabelValues("a", "b", "alice")); v != 1 {
		t.Errorf("key labels on: cost %v for alice", v)
	}
}

func TestCircuitsAndHandler(t *testing.T) {
	m := New(Options{})
	m.WatchCircuits(func() []Circuit { return []Circuit{{"oai/gpt", 1}, {"ant/claude", 0}} })
	srv := httptest.NewServer(m.Handler("a-scrape-token-0123456789"))
	defer srv.Close()
	get := func(auth string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 1<<16)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}
	if code, _ := get(""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
	if code, _ := get("Bearer a-scrape-token-012345678"); code != http.StatusUnauthorized {
		t.Errorf("a prefix of the token: %d", code)
	}
	code, body := get("Bearer a-scrape-token-0123456789")
	if code != 200 || !strings.Contains(body, `tidegate_circuit_state{target="oai/gpt"} 1`) || !strings.Contains(body, `tidegate_circuit_state{target="ant/claude"} 0`) {
		t.Errorf("scrape %d:\n%s", code, body)
	}
}

// The per-request metric work allocates nothing: handles are resolved
// when routes and targets are built.
func TestHotPathAllocations(t *testing.T) {
	m := New(Options{})
	r := m.Route("POST", "/v1/chat/completions")
	tg := m.Target("oai/gpt", "oai", "gpt")
	allocs := testing.AllocsPerRun(200, func() { request(m, r, tg) })
	if allocs != 0 {
		t.Errorf("%v allocations per request", allocs)
	}
}

// request is the metric work of one streamed, successful LLM request.
func request(m *Metrics, r *Route, tg *Target) {
	r.Start()
	m.Auth(AuthOK)
	tg.FirstByte(3 * time.Millisecond)
	tg.Succeeded(40 * time.Millisecond)
	tg.Stream(12, 900, 37*time.Millisecond)
	tg.Usage(120, 40, 0, 0, 0.0001, "")
	m.Overhead(150 * time.Microsecond)
	r.Done(200, 41*time.Millisecond)
}

// BenchmarkRequest is the metric work of one streamed LLM request.
func BenchmarkRequest(b *testing.B) {
	m := New(Options{})
	r := m.Route("POST", "/v1/chat/completions")
	tg := m.Target("oai/gpt", "oai", "gpt")
	b.ReportAllocs()
	for b.Loop() {
		request(m, r, tg)
	}
}
