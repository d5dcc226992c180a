package admin

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/store"
)

func TestStats(t *testing.T) {
	e := newEnv(t)
	_, _, k1, k2 := seedUsage(t, e)
	now := e.clock.Now() // 2030-03-15T12:00:00Z
	// Two more requests in the hour of r1 (11:00), one of them failed.
	if err := e.store.InsertUsage(context.Background(), []store.Usage{
		{Time: now.Add(-50 * time.Minute), KeyID: k2, Model: "gpt-4o", Status: 502, LatencyMS: 30000, Error: "upstream"},
		{Time: now.Add(-10 * time.Minute), KeyID: k2, Model: "gpt-4o", Status: 200, LatencyMS: 80, InputTokens: 1, OutputTokens: 2, CostUSD: 0.5},
	}); err != nil {
		t.Fatal(err)
	}

	// Default: the last 24 hours by hour, every bucket present.
	r := e.must(e.admin("GET", "/admin/stats", nil), 200)
	if r.str("bucket") != "hour" || r.str("since") != "2030-03-14T12:00:00Z" || r.str("until") != "2030-03-15T12:00:00Z" {
		t.Fatalf("%s", r.raw)
	}
	data := r.data()
	if len(data) != 24 {
		t.Fatalf("%d buckets, want 24: %s", len(data), r.raw)
	}
	first, last := data[0].(map[string]any), data[23].(map[string]any)
	if first["time"] != "2030-03-14T12:00:00Z" || first["requests"] != 0.0 || last["time"] != "2030-03-15T11:00:00Z" {
		t.Fatalf("first %v, last %v", first, last)
	}
	if last["requests"] != 3.0 || last["errors"] != 1.0 || last["refused"] != 0.0 || last["input_tokens"] != 101.0 {
		t.Fatalf("11:00 bucket %v", last)
	}
	if lat := last["latency_ms"].(map[string]any); lat["p50"] != 120.0 || lat["p95"] != 30000.0 || lat["p99"] != 30000.0 {
		t.Fatalf("11:00 latency %v", lat)
	}
	if refusedHour := data[21].(map[string]any); refusedHour["time"] != "2030-03-15T09:00:00Z" || refusedHour["refused"] != 1.0 {
		t.Fatalf("09:00 bucket %v", refusedHour)
	}
	tot := r.json["totals"].(map[string]any)
	if tot["requests"] != 3.0 || tot["refused"] != 1.0 || tot["errors"] != 1.0 || tot["time"] != nil {
		t.Fatalf("totals %v", tot)
	}

	// By day over a week, for one key.
	r = e.must(e.admin("GET", "/admin/stats?bucket=day&since=2030-03-09&until=2030-03-16&key_id="+k1, nil), 200)
	if len(r.data()) != 7 || r.str("key_id") != k1 {
		t.Fatalf("%s", r.raw)
	}
	if d := r.data()[4].(map[string]any); d["time"] != "2030-03-13T00:00:00Z" || d["requests"] != 1.0 || d["input_tokens"] != 200.0 {
		t.Fatalf("13th: %v", d)
	}
	if tot := r.json["totals"].(map[string]any); tot["requests"] != 2.0 || tot["refused"] != 0.0 {
		t.Fatalf("key totals %v", tot)
	}
	// An empty range still has its buckets and zero totals.
	r = e.must(e.admin("GET", "/admin/stats?bucket=day&since=2031-01-01&until=2031-01-03", nil), 200)
	if len(r.data()) != 2 || r.json["totals"].(map[string]any)["requests"] != 0.0 {
		t.Fatalf("%s", r.raw)
	}

	e.mustErr(e.admin("GET", "/admin/stats?bucket=week", nil), 400, "invalid_field", "bucket")
	e.mustErr(e.admin("GET", "/admin/stats?since=2029-06-01", nil), 400, "invalid_field", "since") // too many hours
	e.mustErr(e.admin("GET", "/admin/stats?since=2030-03-16", nil), 400, "invalid_field", "since")
	e.mustErr(e.admin("GET", "/admin/stats?group_by=key", nil), 400, "unknown_parameter", "group_by")
	e.mustErr(e.admin("POST", "/admin/stats", nil), 405, "method_not_allowed", "")
	e.must(e.do("GET", "/admin/stats", readSecret, nil), 200)
	e.mustErr(e.do("GET", "/admin/stats", "", nil), 401, "missing_admin_key", "")
}

func TestUsageCSV(t *testing.T) {
	e := newEnv(t)
	_, _, k1, k2 := seedUsage(t, e)
	if err := e.store.CreateKey(context.Background(), &store.Key{ID: "key_formula", Name: "=HYPERLINK(\"x\")", Hash: "h-formula"}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.InsertUsage(context.Background(), []store.Usage{{Time: e.clock.Now().Add(-time.Minute), KeyID: "key_formula", Status: 200}}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/admin/usage?format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+adminSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.Contains(res.Header.Get("Content-Disposition"), "tidegate-usage-by-key.csv") {
		t.Fatalf("%d %v\n%s", res.StatusCode, res.Header, body)
	}
	recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, body)
	}
	want := [][]string{
		{"key", "name", "requests", "refused", "input_tokens", "output_tokens", "cost_usd"},
		{k1, "alpha", "2", "0", "300", "150", "0.03"},
		{k2, "beta", "1", "1", "10", "5", "0.001"},
		{"key_formula", `'=HYPERLINK("x")`, "1", "0", "0", "0", "0"},
	}
	if len(recs) != len(want) {
		t.Fatalf("rows %q, want %q", recs, want)
	}
	for i := range want {
		if strings.Join(recs[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d: %q, want %q", i, recs[i], want[i])
		}
	}
	e.mustErr(e.admin("GET", "/admin/usage?format=xml", nil), 400, "invalid_field", "format")
}

// FuzzStatsQuery sends arbitrary query strings to /admin/stats: the answer
// is a 200 report or a 400 naming the parameter, never anything else.
func FuzzStatsQuery(f *testing.F) {
	for _, s := range []string{"", "bucket=day", "bucket=hour&since=2030-03-14&until=2030-03-15", "since=2030-03-15T11:00:00%2B01:00",
		"bucket=week", "since=x", "until=2029-01-01", "key_id=k&key_id=j", "%zz", "limit=1", "since=2000-01-01&bucket=day"} {
		f.Add(s)
	}
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	now := time.Date(2030, 3, 15, 12, 0, 0, 0, time.UTC)
	h := New(Options{Store: st, AdminKeys: []AdminKey{{Secret: adminSecret, Scope: ScopeAdmin}}, Now: func() time.Time { return now }})
	f.Fuzz(func(t *testing.T, q string) {
		req := httptest.NewRequest("GET", "http://x/admin/stats", nil)
		req.URL.RawQuery = q
		req.Header.Set("Authorization", "Bearer "+adminSecret)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%q: not JSON: %s", q, rec.Body)
		}
		switch rec.Code {
		case 200:
			if _, ok := body["data"].([]any); !ok {
				t.Fatalf("%q: %s", q, rec.Body)
			}
		case 400:
			if e, _ := body["error"].(map[string]any); e == nil || e["message"] == "" {
				t.Fatalf("%q: %s", q, rec.Body)
			}
		default:
			t.Fatalf("%q: status %d: %s", q, rec.Code, rec.Body)
		}
	})
}
