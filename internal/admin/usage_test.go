package admin

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/store"
)

// seedUsage creates a team, a user and two keys and records usage for them.
func seedUsage(t *testing.T, e *env) (team, user, k1, k2 string) {
	t.Helper()
	team = e.createTeam("research", nil)
	user = e.createUser("ada", team)
	k1, _ = e.createKey(map[string]any{"name": "alpha", "user_id": user})
	k2, _ = e.createKey(map[string]any{"name": "beta"})
	now := e.clock.Now()
	recs := []store.Usage{
		{Time: now.Add(-time.Hour), RequestID: "r1", KeyID: k1, UserID: user, TeamID: team, Model: "gpt-4o", Provider: "oai",
			InputTokens: 100, OutputTokens: 50, CostUSD: 0.01, Status: 200, LatencyMS: 120},
		{Time: now.Add(-48 * time.Hour), RequestID: "r2", KeyID: k1, UserID: user, TeamID: team, Model: "claude", Provider: "ant",
			InputTokens: 200, OutputTokens: 100, CostUSD: 0.02, Status: 200},
		{Time: now.Add(-48 * time.Hour), RequestID: "r3", KeyID: k2, Model: "gpt-4o", Provider: "oai",
			InputTokens: 10, OutputTokens: 5, CostUSD: 0.001, Status: 200},
		{Time: now.Add(-3 * time.Hour), RequestID: "r4", KeyID: k2, Model: "gpt-4o", Status: 429, Refused: true, Error: "rate limited"},
		{Time: now.Add(-40 * 24 * time.Hour), RequestID: "r5", KeyID: k1, UserID: user, TeamID: team, Model: "gpt-4o", Provider: "oai",
			InputTokens: 1000, OutputTokens: 1000, CostUSD: 1, Status: 200},
	}
	if err := e.store.InsertUsage(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	return team, user, k1, k2
}

type row struct {
	group, name                      string
	requests, refused, input, output float64
	cost                             float64
}

func rows(t *testing.T, r *resp) []row {
	t.Helper()
	var out []row
	for _, d := range r.data() {
		m := d.(map[string]any)
		for _, f := range []string{"group", "name", "requests", "refused", "input_tokens", "output_tokens", "cost_usd"} {
			if _, ok := m[f]; !ok {
				t.Fatalf("row without %s: %v", f, m)
			}
		}
		out = append(out, row{m["group"].(string), m["name"].(string), m["requests"].(float64), m["refused"].(float64),
			m["input_tokens"].(float64), m["output_tokens"].(float64), m["cost_usd"].(float64)})
	}
	return out
}

func sameRows(t *testing.T, what string, got, want []row) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows %+v, want %+v", what, len(got), got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if math.Abs(g.cost-w.cost) > 1e-9 {
			t.Fatalf("%s row %d: cost %v, want %v", what, i, g.cost, w.cost)
		}
		g.cost = w.cost
		if g != w {
			t.Fatalf("%s row %d: %+v, want %+v", what, i, g, w)
		}
	}
}

func TestUsage(t *testing.T) {
	e := newEnv(t)
	team, user, k1, k2 := seedUsage(t, e)

	// Default: by key, the last 30 days, biggest spender first, with totals.
	r := e.must(e.admin("GET", "/admin/usage", nil), 200)
	if r.str("group_by") != "key" || r.str("since") != "2030-02-13T12:00:00Z" || r.str("until") != "2030-03-15T12:00:00Z" {
		t.Fatalf("%s", r.raw)
	}
	sameRows(t, "key", rows(t, r), []row{
		{k1, "alpha", 2, 0, 300, 150, 0.03},
		{k2, "beta", 1, 1, 10, 5, 0.001},
	})
	tot := r.json["totals"].(map[string]any)
	if tot["requests"] != 3.0 || tot["refused"] != 1.0 || tot["input_tokens"] != 310.0 || tot["output_tokens"] != 155.0 ||
		math.Abs(tot["cost_usd"].(float64)-0.031) > 1e-9 {
		t.Fatalf("totals %v", tot)
	}
	// The read scope sees the same.
	if rr := e.must(e.do("GET", "/admin/usage?group_by=key", readSecret, nil), 200); rr.raw != r.raw {
		t.Fatalf("read scope differs:\n%s\n%s", rr.raw, r.raw)
	}

	sameRows(t, "model", rows(t, e.must(e.admin("GET", "/admin/usage?group_by=model", nil), 200)), []row{
		{"claude", "", 1, 0, 200, 100, 0.02},
		{"gpt-4o", "", 2, 1, 110, 55, 0.011},
	})
	sameRows(t, "user", rows(t, e.must(e.admin("GET", "/admin/usage?group_by=user", nil), 200)), []row{
		{user, "ada", 2, 0, 300, 150, 0.03},
		{"", "", 1, 1, 10, 5, 0.001},
	})
	sameRows(t, "team", rows(t, e.must(e.admin("GET", "/admin/usage?group_by=team", nil), 200)), []row{
		{team, "research", 2, 0, 300, 150, 0.03},
		{"", "", 1, 1, 10, 5, 0.001},
	})
	sameRows(t, "day", rows(t, e.must(e.admin("GET", "/admin/usage?group_by=day", nil), 200)), []row{
		{"2030-03-13", "", 2, 0, 210, 105, 0.021},
		{"2030-03-15", "", 1, 1, 100, 50, 0.01},
	})

	// since and until: RFC 3339 or a date; [since, until).
	q := url.Values{"group_by": {"day"}, "since": {"2030-01-01"}, "until": {"2030-03-15T11:00:00Z"}}
	sameRows(t, "window", rows(t, e.must(e.admin("GET", "/admin/usage?"+q.Encode(), nil), 200)), []row{
		{"2030-02-03", "", 1, 0, 1000, 1000, 1},
		{"2030-03-13", "", 2, 0, 210, 105, 0.021},
		{"2030-03-15", "", 0, 1, 0, 0, 0},
	})
	q = url.Values{"since": {"2030-03-15T09:30:00+01:00"}} // 08:30Z
	sameRows(t, "offset", rows(t, e.must(e.admin("GET", "/admin/usage?"+q.Encode(), nil), 200)), []row{
		{k1, "alpha", 1, 0, 100, 50, 0.01},
		{k2, "beta", 0, 1, 0, 0, 0},
	})
	r = e.must(e.admin("GET", "/admin/usage?since=2031-01-01&until=2031-02-01", nil), 200)
	if len(r.data()) != 0 || r.raw == "" || !strings.Contains(r.raw, `"data":[]`) || r.json["totals"].(map[string]any)["requests"] != 0.0 {
		t.Fatalf("empty window: %s", r.raw)
	}

	// A deleted key's usage stays, without a name.
	e.must(e.admin("DELETE", "/admin/keys/"+k2, nil), 204)
	sameRows(t, "deleted", rows(t, e.must(e.admin("GET", "/admin/usage", nil), 200)), []row{
		{k1, "alpha", 2, 0, 300, 150, 0.03},
		{k2, "", 1, 1, 10, 5, 0.001},
	})

	for _, c := range []struct{ query, param, code string }{
		{"group_by=week", "group_by", "invalid_field"},
		{"group_by=KEY", "group_by", "invalid_field"},
		{"since=yesterday", "since", "invalid_field"},
		{"since=2030-13-01", "since", "invalid_field"},
		{"until=1700000000", "until", "invalid_field"},
		{"since=2030-03-15T12:00:00Z", "since", "invalid_field"}, // == until (now)
		{"since=2030-03-02&until=2030-03-01", "since", "invalid_field"},
		{"group-by=key", "group-by", "unknown_parameter"},
		{"key_id=x", "key_id", "unknown_parameter"},
	} {
		e.mustErr(e.admin("GET", "/admin/usage?"+c.query, nil), 400, c.code, c.param)
	}
}

func TestLogs(t *testing.T) {
	e := newEnv(t)
	_, _, k1, k2 := seedUsage(t, e)
	reqIDs := func(r *resp) string {
		var ids []string
		for _, d := range r.data() {
			ids = append(ids, d.(map[string]any)["request_id"].(string))
		}
		return strings.Join(ids, ",")
	}

	// Newest first (by insertion order: seq).
	r := e.must(e.admin("GET", "/admin/logs", nil), 200)
	if got := reqIDs(r); got != "r5,r4,r3,r2,r1" || r.json["next_before"] != nil {
		t.Fatalf("logs %s next %v", got, r.json["next_before"])
	}
	first := r.data()[4].(map[string]any)
	for k, v := range map[string]any{"key_id": k1, "model": "gpt-4o", "provider": "oai", "input_tokens": 100.0, "output_tokens": 50.0,
		"status": 200.0, "refused": false, "latency_ms": 120.0, "cost_usd": 0.01, "time": "2030-03-15T11:00:00Z"} {
		if first[k] != v {
			t.Errorf("%s = %#v, want %#v", k, first[k], v)
		}
	}
	if _, ok := first["seq"].(float64); !ok {
		t.Fatalf("no seq: %v", first)
	}

	// Paging.
	var pages []string
	before := ""
	for range 10 {
		r = e.must(e.admin("GET", "/admin/logs?limit=2"+before, nil), 200)
		pages = append(pages, reqIDs(r))
		nb, ok := r.json["next_before"].(float64)
		if !ok {
			if r.json["next_before"] != nil {
				t.Fatalf("next_before %#v", r.json["next_before"])
			}
			break
		}
		before = fmt.Sprintf("&before=%d", int64(nb))
	}
	if got := strings.Join(pages, " | "); got != "r5,r4 | r3,r2 | r1" {
		t.Fatalf("pages %s", got)
	}
	r = e.must(e.admin("GET", "/admin/logs?limit=5", nil), 200)
	if reqIDs(r) != "r5,r4,r3,r2,r1" || r.json["next_before"] != nil {
		t.Fatalf("exact page: %s", r.raw)
	}

	// Filters.
	for _, c := range []struct{ query, want string }{
		{"key_id=" + k2, "r4,r3"},
		{"model=claude", "r2"},
		{"status=429", "r4"},
		{"status=200&model=gpt-4o", "r5,r3,r1"},
		{"since=2030-03-15", "r4,r1"},
		{"until=2030-03-14T00:00:00Z", "r5,r3,r2"},
		{"since=2030-03-01&until=2030-03-14", "r3,r2"},
		{"key_id=key_none", ""},
	} {
		if got := reqIDs(e.must(e.do("GET", "/admin/logs?"+c.query, readSecret, nil), 200)); got != c.want {
			t.Errorf("%s: %s, want %s", c.query, got, c.want)
		}
	}
	if r := e.must(e.admin("GET", "/admin/logs?key_id=key_none", nil), 200); !strings.Contains(r.raw, `"data":[]`) {
		t.Fatalf("%s", r.raw)
	}

	for _, c := range []struct{ query, param, code string }{
		{"limit=0", "limit", "invalid_field"},
		{"limit=1001", "limit", "invalid_field"},
		{"limit=ten", "limit", "invalid_field"},
		{"status=99", "status", "invalid_field"},
		{"status=ok", "status", "invalid_field"},
		{"before=0", "before", "invalid_field"},
		{"before=-5", "before", "invalid_field"},
		{"since=now", "since", "invalid_field"},
		{"until=2030", "until", "invalid_field"},
		{"since=2030-03-15&until=2030-03-14", "since", "invalid_field"},
		{"key=x", "key", "unknown_parameter"},
	} {
		e.mustErr(e.admin("GET", "/admin/logs?"+c.query, nil), 400, c.code, c.param)
	}
}
