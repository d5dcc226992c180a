package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/store"
)

const (
	adminSecret = "admin-secret-for-tests"
	readSecret  = "read-secret-for-tests"
)

// clock is a fake clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t       *testing.T
	srv     *httptest.Server
	store   store.Store
	clock   *clock
	changes atomic.Int64
}

// newEnv serves the admin API over a real SQLite store in a temp file, with
// an admin-scope and a read-scope key and a fake clock.
func newEnv(t *testing.T, mod ...func(*Options)) *env {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "admin.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, store: st, clock: &clock{t: time.Date(2030, 3, 15, 12, 0, 0, 0, time.UTC)}}
	opts := Options{
		Store: st,
		AdminKeys: []AdminKey{
			{Name: "root", Secret: adminSecret, Scope: ScopeAdmin},
			{Name: "viewer", Secret: readSecret, Scope: ScopeRead},
		},
		Now:      e.clock.Now,
		OnChange: func() { e.changes.Add(1) },
	}
	for _, m := range mod {
		m(&opts)
	}
	e.srv = httptest.NewServer(New(opts))
	t.Cleanup(e.srv.Close)
	return e
}

// resp is an answer: its status, headers, raw body and decoded JSON.
type resp struct {
	status int
	header http.Header
	raw    string
	json   map[string]any
}

// errField returns error.<name> of an error answer.
func (r *resp) errField(name string) string {
	e, _ := r.json["error"].(map[string]any)
	s, _ := e[name].(string)
	return s
}

func (r *resp) str(name string) string {
	s, _ := r.json[name].(string)
	return s
}

func (r *resp) data() []any {
	d, _ := r.json["data"].([]any)
	return d
}

// do sends body (a string is sent as is, anything else as JSON) with the
// given admin secret ("" for none).
func (e *env) do(method, path, key string, body any) *resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := &resp{status: res.StatusCode, header: res.Header, raw: string(data)}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &r.json); err != nil {
			e.t.Fatalf("%s %s: answer is not a JSON object: %v\n%s", method, path, err, data)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			e.t.Fatalf("%s %s: Content-Type %q", method, path, ct)
		}
	}
	return r
}

// admin sends with the admin-scope key.
func (e *env) admin(method, path string, body any) *resp {
	e.t.Helper()
	return e.do(method, path, adminSecret, body)
}

// must checks the status of an answer.
func (e *env) must(r *resp, status int) *resp {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

// mustErr checks an error answer's status, code and (if not "") param.
func (e *env) mustErr(r *resp, status int, code, param string) *resp {
	e.t.Helper()
	e.must(r, status)
	if r.errField("code") != code || r.errField("message") == "" || r.errField("type") == "" {
		e.t.Fatalf("error code %q, want %q: %s", r.errField("code"), code, r.raw)
	}
	if param != "" && r.errField("param") != param {
		e.t.Fatalf("error param %q, want %q: %s", r.errField("param"), param, r.raw)
	}
	return r
}

func (e *env) createTeam(name string, extra map[string]any) string {
	e.t.Helper()
	body := map[string]any{"name": name}
	for k, v := range extra {
		body[k] = v
	}
	return e.must(e.admin("POST", "/admin/teams", body), 201).str("id")
}

func (e *env) createUser(name, team string) string {
	e.t.Helper()
	body := map[string]any{"name": name}
	if team != "" {
		body["team_id"] = team
	}
	return e.must(e.admin("POST", "/admin/users", body), 201).str("id")
}

// createKey returns the key's id and secret.
func (e *env) createKey(body map[string]any) (id, secret string) {
	e.t.Helper()
	r := e.must(e.admin("POST", "/admin/keys", body), 201)
	return r.str("id"), r.str("key")
}
