package admin

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestNoAdminKeysConfigured(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AdminKeys = nil })
	for _, key := range []string{"", adminSecret, "anything"} {
		r := e.mustErr(e.do("GET", "/admin/keys", key, nil), 401, "admin_disabled", "")
		if !strings.Contains(r.errField("message"), "TIDEGATE_ADMIN_KEY") {
			t.Fatalf("message does not say how to enable the admin API: %s", r.raw)
		}
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, header, code string
	}{
		{"missing", "", "missing_admin_key"},
		{"wrong key", "Bearer nope", "invalid_admin_key"},
		{"prefix of the key", "Bearer " + adminSecret[:len(adminSecret)-1], "invalid_admin_key"},
		{"key plus a suffix", "Bearer " + adminSecret + "x", "invalid_admin_key"},
		{"basic scheme", "Basic " + adminSecret, "missing_admin_key"},
		{"bearer without token", "Bearer ", "missing_admin_key"},
		{"token without scheme", adminSecret, "missing_admin_key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, path := range []string{"/admin/keys", "/admin/nowhere", "/admin/usage"} {
				req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
				if c.header != "" {
					req.Header.Set("Authorization", c.header)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != 401 {
					t.Fatalf("%s: status %d, want 401", path, res.StatusCode)
				}
				if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Fatalf("no WWW-Authenticate: %v", res.Header)
				}
			}
			e.t = t
			r := e.do("POST", "/admin/keys", "", map[string]any{"name": "x"})
			if c.header == "" {
				e.mustErr(r, 401, "missing_admin_key", "")
			}
		})
	}
	e.t = t
	// Case-insensitive scheme; the admin key works.
	req, _ := http.NewRequest("GET", e.srv.URL+"/admin/keys", nil)
	req.Header.Set("Authorization", "bearer "+adminSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("lower-case bearer: %d", res.StatusCode)
	}
	// Nothing was created by the refused requests.
	if n := len(e.must(e.admin("GET", "/admin/keys", nil), 200).data()); n != 0 {
		t.Fatalf("%d keys after refused requests", n)
	}
}

func TestScopes(t *testing.T) {
	e := newEnv(t)
	id, _ := e.createKey(map[string]any{"name": "k"})
	team := e.createTeam("t", nil)
	user := e.createUser("u", "")
	changes := e.changes.Load()

	// read may GET everything.
	for _, p := range []string{"/admin/keys", "/admin/keys/" + id, "/admin/users", "/admin/users/" + user,
		"/admin/teams", "/admin/teams/" + team, "/admin/usage", "/admin/logs"} {
		e.must(e.do("GET", p, readSecret, nil), 200)
	}
	// read may change nothing.
	mutations := []struct{ method, path string }{
		{"POST", "/admin/keys"}, {"PATCH", "/admin/keys/" + id}, {"DELETE", "/admin/keys/" + id},
		{"POST", "/admin/keys/" + id + "/revoke"}, {"POST", "/admin/keys/" + id + "/rotate"},
		{"POST", "/admin/users"}, {"PATCH", "/admin/users/" + user}, {"DELETE", "/admin/users/" + user},
		{"POST", "/admin/teams"}, {"PATCH", "/admin/teams/" + team}, {"DELETE", "/admin/teams/" + team},
	}
	for _, m := range mutations {
		r := e.mustErr(e.do(m.method, m.path, readSecret, map[string]any{"name": "changed"}), 403, "insufficient_scope", "")
		if r.errField("type") != "permission_error" {
			t.Fatalf("type %q", r.errField("type"))
		}
	}
	if e.changes.Load() != changes {
		t.Fatal("OnChange ran for refused mutations")
	}
	k := e.must(e.admin("GET", "/admin/keys/"+id, nil), 200)
	if k.str("name") != "k" || k.str("status") != "active" {
		t.Fatalf("key changed by a read-scope key: %s", k.raw)
	}
}

func TestAdminKeyOptions(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		o.AdminKeys = []AdminKey{
			{Name: "noscope", Secret: "s-empty-scope"},          // read
			{Name: "bad", Secret: "s-bad-scope", Scope: "root"}, // ignored
			{Name: "blank", Secret: "", Scope: ScopeAdmin},      // ignored
			{Secret: "s-admin", Scope: ScopeAdmin},
		}
	})
	e.must(e.do("GET", "/admin/keys", "s-empty-scope", nil), 200)
	e.mustErr(e.do("POST", "/admin/teams", "s-empty-scope", map[string]any{"name": "x"}), 403, "insufficient_scope", "")
	e.mustErr(e.do("GET", "/admin/keys", "s-bad-scope", nil), 401, "invalid_admin_key", "")
	e.mustErr(e.do("GET", "/admin/keys", " ", nil), 401, "missing_admin_key", "")
	e.must(e.do("POST", "/admin/teams", "s-admin", map[string]any{"name": "x"}), 201)
	if !strings.Contains(logs.String(), "unknown scope") || !strings.Contains(logs.String(), "admin-key-3") {
		t.Fatalf("log:\n%s", logs.String())
	}
	for _, s := range []string{"s-empty-scope", "s-bad-scope", "s-admin"} {
		if strings.Contains(logs.String(), s) {
			t.Fatalf("admin secret %q in the log:\n%s", s, logs.String())
		}
	}
}

func TestRoutingErrors(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/admin/", "/admin/nothing", "/admin/keys/a/b", "/admin/keys/a/unknown", "/admin//keys", "/admin/usage/x", "/elsewhere"} {
		e.mustErr(e.admin("GET", p, nil), 404, "not_found", "")
	}
	cases := []struct{ method, path, allow string }{
		{"PUT", "/admin/keys", "GET, POST"},
		{"DELETE", "/admin/keys", "GET, POST"},
		{"POST", "/admin/keys/key_1", "GET, PATCH, DELETE"},
		{"PUT", "/admin/users/u", "GET, PATCH, DELETE"},
		{"GET", "/admin/keys/key_1/revoke", "POST"},
		{"GET", "/admin/keys/key_1/rotate", "POST"},
		{"POST", "/admin/usage", "GET"},
		{"DELETE", "/admin/logs", "GET"},
		{"PATCH", "/admin/teams", "GET, POST"},
	}
	for _, c := range cases {
		r := e.mustErr(e.admin(c.method, c.path, nil), 405, "method_not_allowed", "")
		if r.header.Get("Allow") != c.allow {
			t.Fatalf("%s %s: Allow %q, want %q", c.method, c.path, r.header.Get("Allow"), c.allow)
		}
	}
	// A trailing slash is the same endpoint.
	e.must(e.admin("GET", "/admin/keys/", nil), 200)
	// Read scope asking for a method the endpoint lacks gets 405, not 403.
	e.mustErr(e.do("PUT", "/admin/keys", readSecret, nil), 405, "method_not_allowed", "")
}

func TestBodyErrors(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"not json", "{name:", 400, "invalid_json"},
		{"array", `[{"name":"x"}]`, 400, "invalid_json"},
		{"string", `"x"`, 400, "invalid_json"},
		{"trailing garbage", `{"name":"x"} {}`, 400, "invalid_json"},
		{"too large", `{"name":"` + strings.Repeat("x", 1<<20) + `"}`, 413, "body_too_large"},
		{"unknown field", `{"name":"x","budget":5}`, 400, "unknown_field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			e.mustErr(e.admin("POST", "/admin/keys", c.body), c.status, c.code, "")
		})
	}
	e.t = t
	r := e.mustErr(e.admin("POST", "/admin/keys", `{"name":"x","budget":5}`), 400, "unknown_field", "budget")
	if !strings.Contains(r.errField("message"), "budget_usd") {
		t.Fatalf("the message does not list the allowed fields: %s", r.raw)
	}
	if n := len(e.must(e.admin("GET", "/admin/keys", nil), 200).data()); n != 0 {
		t.Fatalf("%d keys created by invalid requests", n)
	}
}

func TestStoreFailure(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	id, _ := e.createKey(map[string]any{"name": "k"})
	e.store.Close()
	for _, c := range []struct{ method, path string }{
		{"GET", "/admin/keys"}, {"GET", "/admin/keys/" + id}, {"POST", "/admin/keys/" + id + "/rotate"},
		{"GET", "/admin/usage"}, {"GET", "/admin/logs"}, {"DELETE", "/admin/teams/team_x"},
	} {
		r := e.mustErr(e.admin(c.method, c.path, nil), 500, "store_error", "")
		if strings.Contains(r.raw, "closed") {
			t.Fatalf("the store's error leaks to the caller: %s", r.raw)
		}
	}
	if !strings.Contains(logs.String(), "store failure") {
		t.Fatalf("not logged:\n%s", logs.String())
	}
}
