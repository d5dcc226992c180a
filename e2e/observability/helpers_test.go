// Package observability_test drives whole gateways (in process, and the
// real binary) and checks what operators see: the Prometheus scrape after
// real traffic, the access log, the OTLP traces a collector receives, and
// that the Grafana dashboard queries only metrics that exist.
package observability_test

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var client = &http.Client{Timeout: 15 * time.Second}

type response struct {
	Status int
	Header http.Header
	Body   string
}

func (r response) String() string { return fmt.Sprintf("HTTP %d %s", r.Status, r.Body) }

// do sends a request; headers are name, value pairs.
func do(t *testing.T, method, url, body string, headers ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, url, err)
	}
	return response{resp.StatusCode, resp.Header, string(data)}
}

func chat(model string, stream bool) string {
	return fmt.Sprintf(`{"model":%q,"stream":%t,"messages":[{"role":"user","content":"hello there"}]}`, model, stream)
}

func messages(model string, stream bool) string {
	return fmt.Sprintf(`{"model":%q,"max_tokens":64,"stream":%t,"messages":[{"role":"user","content":"hello there"}]}`, model, stream)
}

// scrape is one parsed /metrics answer.
type scrape map[string]*dto.MetricFamily

// scrapeMetrics GETs url (with a bearer token when not "") and parses the
// text exposition format.
func scrapeMetrics(t *testing.T, url, token string) scrape {
	t.Helper()
	var headers []string
	if token != "" {
		headers = []string{"Authorization", "Bearer " + token}
	}
	r := do(t, http.MethodGet, url, "", headers...)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %s", url, r)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET %s: Content-Type %q, want the text format", url, ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(r.Body))
	if err != nil {
		t.Fatalf("GET %s: not the Prometheus text format: %v\n%s", url, err, r.Body)
	}
	return fams
}

// value is the sample of name whose labels include want (counter, gauge,
// or a histogram's count); ok is false when there is none.
func (s scrape) value(name string, want map[string]string) (float64, bool) {
	f, ok := s[name]
	if !ok {
		return 0, false
	}
	for _, m := range f.Metric {
		if !hasLabels(m, want) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// sum adds every sample of name whose labels include want.
func (s scrape) sum(name string, want map[string]string) float64 {
	var total float64
	f, ok := s[name]
	if !ok {
		return 0
	}
	for _, m := range f.Metric {
		if !hasLabels(m, want) {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	have := map[string]string{}
	for _, l := range m.Label {
		have[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// dump renders the samples of name for failure messages.
func (s scrape) dump(name string) string {
	f, ok := s[name]
	if !ok {
		return name + ": absent"
	}
	var lines []string
	for _, m := range f.Metric {
		var ls []string
		for _, l := range m.Label {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		v, _ := scrape{name: &dto.MetricFamily{Metric: []*dto.Metric{m}}}.value(name, nil)
		lines = append(lines, fmt.Sprintf("  {%s} %v", strings.Join(ls, ","), v))
	}
	sort.Strings(lines)
	return name + ":\n" + strings.Join(lines, "\n")
}

// eventually retries cond for up to d: the gateway records a request just
// after its last byte reaches the caller.
func eventually(t *testing.T, d time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func labels(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}
