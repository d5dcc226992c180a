package admin

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/secret"
	"github.com/tidegate/tidegate/internal/store"
)

var keyID = regexp.MustCompile(`^key_[0-9a-f]{16}$`)

func TestCreateKey(t *testing.T) {
	e := newEnv(t)
	team := e.createTeam("research", nil)
	user := e.createUser("ada", team)
	changes := e.changes.Load()

	r := e.must(e.admin("POST", "/admin/keys", map[string]any{
		"name":          "  ci-bot  ",
		"models":        []string{"gpt-4o*", "claude-sonnet-4-5", "gpt-4o*"},
		"rpm":           60,
		"rph":           1000,
		"tpm":           100000,
		"tph":           0,
		"budget_usd":    12.5,
		"budget_period": "monthly",
		"user_id":       user,
		"expires_at":    "2030-06-01T00:00:00+02:00",
		"metadata":      map[string]string{"env": "ci"},
	}), 201)
	if e.changes.Load() != changes+1 {
		t.Fatal("OnChange did not run once")
	}
	id, sec := r.str("id"), r.str("key")
	if !keyID.MatchString(id) {
		t.Fatalf("id %q", id)
	}
	if !secret.Looks(sec) || r.str("prefix") != sec[:10] {
		t.Fatalf("secret %q, prefix %q", sec, r.str("prefix"))
	}
	want := map[string]any{
		"name": "ci-bot", "rpm": 60.0, "rph": 1000.0, "tpm": 100000.0, "tph": 0.0, "budget_usd": 12.5,
		"budget_period": "monthly", "user_id": user, "team_id": team, "status": "active", "enabled": true,
		"expires_at": "2030-05-31T22:00:00Z", "revoked_at": nil, "prev_valid_until": nil,
		"created_at": "2030-03-15T12:00:00Z", "updated_at": "2030-03-15T12:00:00Z",
	}
	for k, v := range want {
		if r.json[k] != v {
			t.Errorf("%s = %#v, want %#v", k, r.json[k], v)
		}
	}
	if m := r.json["models"].([]any); len(m) != 2 || m[0] != "gpt-4o*" || m[1] != "claude-sonnet-4-5" {
		t.Errorf("models %v", m)
	}
	if md := r.json["metadata"].(map[string]any); md["env"] != "ci" {
		t.Errorf("metadata %v", md)
	}

	// What the store holds: the hash, never the secret.
	k, err := e.store.KeyByHash(context.Background(), secret.Hash(sec), e.clock.Now())
	if err != nil || k.ID != id || k.TeamID != team || k.UserID != user || k.RPM != 60 || k.BudgetPeriod != "monthly" {
		t.Fatalf("KeyByHash: %+v %v", k, err)
	}

	// Defaults: total budget period, every model, no owner, fields present.
	r = e.must(e.admin("POST", "/admin/keys", map[string]any{"name": "plain"}), 201)
	for k, v := range map[string]any{"budget_period": "total", "user_id": nil, "team_id": nil, "expires_at": nil, "rpm": 0.0, "budget_usd": 0.0} {
		if got, ok := r.json[k]; !ok || got != v {
			t.Errorf("default %s = %#v (present %v), want %#v", k, got, ok, v)
		}
	}
	if m, ok := r.json["models"].([]any); !ok || len(m) != 0 {
		t.Errorf("default models %#v", r.json["models"])
	}
	if md, ok := r.json["metadata"].(map[string]any); !ok || len(md) != 0 {
		t.Errorf("default metadata %#v", r.json["metadata"])
	}
	if r.str("key") == sec || r.str("id") == id {
		t.Fatal("secrets or ids repeat")
	}

	// An explicit team_id wins over the user's; an explicit null or "" leaves
	// the key without a team only when there is no user.
	other := e.createTeam("other", nil)
	r = e.must(e.admin("POST", "/admin/keys", map[string]any{"name": "x", "user_id": user, "team_id": other}), 201)
	if r.json["team_id"] != other {
		t.Fatalf("team_id %v", r.json["team_id"])
	}
	r = e.must(e.admin("POST", "/admin/keys", map[string]any{"name": "y", "team_id": other, "user_id": nil}), 201)
	if r.json["team_id"] != other || r.json["user_id"] != nil {
		t.Fatalf("owners %v %v", r.json["user_id"], r.json["team_id"])
	}
}

func TestSecretsNeverListed(t *testing.T) {
	e := newEnv(t)
	id, sec := e.createKey(map[string]any{"name": "one"})
	rot := e.must(e.admin("POST", "/admin/keys/"+id+"/rotate", map[string]any{"grace_seconds": 600}), 200)
	newSec := rot.str("key")
	k, err := e.store.GetKey(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if k.PrevHash == "" || k.Hash == "" {
		t.Fatalf("stored key %+v", k)
	}
	for _, p := range []string{"/admin/keys", "/admin/keys/" + id, "/admin/keys?status=active"} {
		for _, key := range []string{adminSecret, readSecret} {
			r := e.must(e.do("GET", p, key, nil), 200)
			for _, s := range []string{sec, newSec, k.Hash, k.PrevHash, secret.Hash(sec), `"key"`, `"hash"`, "prev_hash"} {
				if strings.Contains(r.raw, s) {
					t.Fatalf("GET %s shows %q: %s", p, s, r.raw)
				}
			}
		}
	}
	// Revoke and update answers do not show it either.
	for _, r := range []*resp{
		e.must(e.admin("PATCH", "/admin/keys/"+id, map[string]any{"name": "renamed"}), 200),
		e.must(e.admin("POST", "/admin/keys/"+id+"/revoke", nil), 200),
	} {
		if _, ok := r.json["key"]; ok || strings.Contains(r.raw, newSec) || strings.Contains(r.raw, k.Hash) {
			t.Fatalf("answer shows a secret: %s", r.raw)
		}
	}
}

func TestListAndGetKeys(t *testing.T) {
	e := newEnv(t)
	team := e.createTeam("t", nil)
	user := e.createUser("u", "")
	a, _ := e.createKey(map[string]any{"name": "a", "team_id": team})
	e.clock.Advance(time.Second)
	b, _ := e.createKey(map[string]any{"name": "b", "user_id": user, "expires_at": "2030-03-15T13:00:00Z"})
	e.clock.Advance(time.Second)
	c, _ := e.createKey(map[string]any{"name": "c"})
	e.must(e.admin("POST", "/admin/keys/"+c+"/revoke", nil), 200)

	ids := func(r *resp) []string {
		var out []string
		for _, d := range r.data() {
			out = append(out, d.(map[string]any)["id"].(string))
		}
		return out
	}
	check := func(q string, want ...string) {
		t.Helper()
		got := ids(e.must(e.admin("GET", "/admin/keys"+q, nil), 200))
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("GET /admin/keys%s = %v, want %v", q, got, want)
		}
	}
	check("", a, b, c) // oldest first
	check("?team_id="+team, a)
	check("?user_id="+user, b)
	check("?status=revoked", c)
	check("?status=active", a, b)
	check("?status=expired")
	e.clock.Advance(time.Hour)
	check("?status=expired", b)
	if s := e.must(e.admin("GET", "/admin/keys/"+b, nil), 200).str("status"); s != "expired" {
		t.Fatalf("status %q", s)
	}
	e.mustErr(e.admin("GET", "/admin/keys?status=dead", nil), 400, "invalid_field", "status")
	e.mustErr(e.admin("GET", "/admin/keys?team=x", nil), 400, "unknown_parameter", "team")

	r := e.must(e.admin("GET", "/admin/keys/"+a, nil), 200)
	if r.str("id") != a || r.str("name") != "a" || r.json["team_id"] != team {
		t.Fatalf("get: %s", r.raw)
	}
	e.mustErr(e.admin("GET", "/admin/keys/key_0000000000000000", nil), 404, "not_found", "")
}

func TestUpdateKey(t *testing.T) {
	e := newEnv(t)
	team := e.createTeam("t", nil)
	user := e.createUser("u", "")
	id, sec := e.createKey(map[string]any{
		"name": "k", "models": []string{"a"}, "rpm": 5, "tpm": 50, "budget_usd": 1, "budget_period": "daily",
		"expires_at": "2031-01-01T00:00:00Z", "metadata": map[string]string{"a": "1"},
	})
	e.clock.Advance(time.Minute)
	changes := e.changes.Load()

	// Absent fields stay; present ones change; null clears.
	r := e.must(e.admin("PATCH", "/admin/keys/"+id, map[string]any{
		"name": "renamed", "rpm": 7, "tpm": nil, "models": []string{"b", "c*"}, "expires_at": nil,
		"metadata": map[string]string{"b": "2"}, "team_id": team, "user_id": user, "rph": 100, "tph": 1000,
	}), 200)
	if e.changes.Load() != changes+1 {
		t.Fatal("OnChange did not run")
	}
	for k, v := range map[string]any{
		"name": "renamed", "rpm": 7.0, "tpm": 0.0, "rph": 100.0, "tph": 1000.0, "budget_usd": 1.0, "budget_period": "daily",
		"expires_at": nil, "team_id": team, "user_id": user, "created_at": "2030-03-15T12:00:00Z",
	} {
		if r.json[k] != v {
			t.Errorf("%s = %#v, want %#v", k, r.json[k], v)
		}
	}
	if m := r.json["models"].([]any); len(m) != 2 || m[1] != "c*" {
		t.Errorf("models %v", m)
	}
	if md := r.json["metadata"].(map[string]any); len(md) != 1 || md["b"] != "2" {
		t.Errorf("metadata %v", md)
	}
	// The answer is what the store now holds.
	g := e.must(e.admin("GET", "/admin/keys/"+id, nil), 200)
	if g.raw != r.raw {
		t.Fatalf("GET after PATCH differs:\n%s\n%s", g.raw, r.raw)
	}
	// An empty PATCH changes nothing but updated_at; the secret still works.
	e.must(e.admin("PATCH", "/admin/keys/"+id, nil), 200)
	if k, err := e.store.KeyByHash(context.Background(), secret.Hash(sec), e.clock.Now()); err != nil || k.Name != "renamed" {
		t.Fatalf("%+v %v", k, err)
	}
	// Detach from user and team.
	r = e.must(e.admin("PATCH", "/admin/keys/"+id, map[string]any{"user_id": "", "team_id": nil, "budget_usd": 0}), 200)
	if r.json["user_id"] != nil || r.json["team_id"] != nil || r.json["budget_usd"] != 0.0 {
		t.Fatalf("%s", r.raw)
	}

	// enabled: false revokes; true enables again.
	r = e.must(e.admin("PATCH", "/admin/keys/"+id, map[string]any{"enabled": false}), 200)
	if r.str("status") != "revoked" || r.json["enabled"] != false || r.str("revoked_at") != "2030-03-15T12:01:00Z" {
		t.Fatalf("disable: %s", r.raw)
	}
	r = e.must(e.admin("PATCH", "/admin/keys/"+id, map[string]any{"enabled": true}), 200)
	if r.str("status") != "active" || r.json["enabled"] != true || r.json["revoked_at"] != nil {
		t.Fatalf("enable: %s", r.raw)
	}

	// Errors.
	e.mustErr(e.admin("PATCH", "/admin/keys/key_0000000000000000", map[string]any{"name": "x"}), 404, "not_found", "")
	e.mustErr(e.admin("PATCH", "/admin/keys/"+id, map[string]any{"name": ""}), 400, "invalid_field", "name")
	e.mustErr(e.admin("PATCH", "/admin/keys/"+id, map[string]any{"name": nil}), 400, "invalid_field", "name")
	e.mustErr(e.admin("PATCH", "/admin/keys/"+id, map[string]any{"rpm": -1}), 400, "invalid_field", "rpm")
	e.mustErr(e.admin("PATCH", "/admin/keys/"+id, map[string]any{"budget_period": "weekly"}), 400, "invalid_field", "budget_period")
	e.mustErr(e.admin("PATCH", "/admin/keys/"+id, map[string]any{"enabled": "no"}), 400, "invalid_field", "enabled")
	e.mustErr(e.admin("PATCH", "/admin/keys/"+id, map[string]any{"enabled": nil}), 400, "invalid_field", "enabled")
	e.mustErr(e.admin("PATCH", "/admin/keys/"+id, map[string]any{"expires_at": "2030-03-15T12:00:00Z"}), 400, "invalid_field", "expires_at")
	e.mustErr(e.admin("PATCH", "/admin/keys/"+id, map[string]any{"team_id": "team_missing"}), 400, "invalid_field", "team_id")
	e.mustErr(e.admin("PATCH", "/admin/keys/"+id, map[string]any{"user_id": "user_missing"}), 400, "invalid_field", "user_id")
	e.mustErr(e.admin("PATCH", "/admin/keys/"+id, map[string]any{"hash": "x"}), 400, "unknown_field", "hash")
	e.mustErr(e.admin("PATCH", "/admin/keys/"+id, map[string]any{"id": "key_other"}), 400, "unknown_field", "id")
	// None of the refused changes happened.
	if g := e.must(e.admin("GET", "/admin/keys/"+id, nil), 200); g.str("name") != "renamed" || g.json["rpm"] != 7.0 {
		t.Fatalf("%s", g.raw)
	}
}

func TestKeyValidation(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name  string
		body  map[string]any
		param string
		code  string
	}{
		{"no name", map[string]any{"rpm": 1}, "name", "invalid_field"},
		{"empty name", map[string]any{"name": "  "}, "name", "invalid_field"},
		{"name not a string", map[string]any{"name": 5}, "name", "invalid_field"},
		{"long name", map[string]any{"name": strings.Repeat("n", 201)}, "name", "invalid_field"},
		{"control in name", map[string]any{"name": "a\nb"}, "name", "invalid_field"},
		{"negative rpm", map[string]any{"name": "k", "rpm": -1}, "rpm", "invalid_field"},
		{"fractional rpm", map[string]any{"name": "k", "rpm": 1.5}, "rpm", "invalid_field"},
		{"string rpm", map[string]any{"name": "k", "rpm": "60"}, "rpm", "invalid_field"},
		{"negative rph", map[string]any{"name": "k", "rph": -5}, "rph", "invalid_field"},
		{"negative tpm", map[string]any{"name": "k", "tpm": -1}, "tpm", "invalid_field"},
		{"negative tph", map[string]any{"name": "k", "tph": -1}, "tph", "invalid_field"},
		{"huge tpm", map[string]any{"name": "k", "tpm": 1e30}, "tpm", "invalid_field"},
		{"negative budget", map[string]any{"name": "k", "budget_usd": -0.01}, "budget_usd", "invalid_field"},
		{"string budget", map[string]any{"name": "k", "budget_usd": "5"}, "budget_usd", "invalid_field"},
		{"unknown period", map[string]any{"name": "k", "budget_period": "weekly"}, "budget_period", "invalid_field"},
		{"period case", map[string]any{"name": "k", "budget_period": "Monthly"}, "budget_period", "invalid_field"},
		{"models not a list", map[string]any{"name": "k", "models": "gpt-4o"}, "models", "invalid_field"},
		{"empty model", map[string]any{"name": "k", "models": []string{"a", ""}}, "models[1]", "invalid_field"},
		{"model with space", map[string]any{"name": "k", "models": []string{"gpt 4"}}, "models[0]", "invalid_field"},
		{"metadata not strings", map[string]any{"name": "k", "metadata": map[string]any{"n": 1}}, "metadata", "invalid_field"},
		{"metadata empty key", map[string]any{"name": "k", "metadata": map[string]any{"": "x"}}, "metadata", "invalid_field"},
		{"bad expires_at", map[string]any{"name": "k", "expires_at": "tomorrow"}, "expires_at", "invalid_field"},
		{"date expires_at", map[string]any{"name": "k", "expires_at": "2031-01-01"}, "expires_at", "invalid_field"},
		{"numeric expires_at", map[string]any{"name": "k", "expires_at": 1900000000}, "expires_at", "invalid_field"},
		{"past expires_at", map[string]any{"name": "k", "expires_at": "2030-03-15T11:59:59Z"}, "expires_at", "invalid_field"},
		{"unknown user", map[string]any{"name": "k", "user_id": "user_nope"}, "user_id", "invalid_field"},
		{"unknown team", map[string]any{"name": "k", "team_id": "team_nope"}, "team_id", "invalid_field"},
		{"user_id not a string", map[string]any{"name": "k", "user_id": 3}, "user_id", "invalid_field"},
		{"enabled on create", map[string]any{"name": "k", "enabled": true}, "enabled", "unknown_field"},
		{"unknown field", map[string]any{"name": "k", "rate": 1}, "rate", "unknown_field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			r := e.mustErr(e.admin("POST", "/admin/keys", c.body), 400, c.code, c.param)
			if r.errField("type") != "invalid_request_error" || !strings.HasPrefix(r.errField("message"), c.param+": ") {
				t.Fatalf("%s", r.raw)
			}
		})
	}
	e.t = t
	if n := len(e.must(e.admin("GET", "/admin/keys", nil), 200).data()); n != 0 {
		t.Fatalf("%d keys created by invalid requests", n)
	}
	if e.changes.Load() != 0 {
		t.Fatal("OnChange ran for refused requests")
	}
}

func TestRevokeKey(t *testing.T) {
	e := newEnv(t)
	id, sec := e.createKey(map[string]any{"name": "k"})
	e.clock.Advance(time.Minute)
	changes := e.changes.Load()
	r := e.must(e.admin("POST", "/admin/keys/"+id+"/revoke", nil), 200)
	if r.str("status") != "revoked" || r.json["enabled"] != false || r.str("revoked_at") != "2030-03-15T12:01:00Z" {
		t.Fatalf("%s", r.raw)
	}
	if e.changes.Load() != changes+1 {
		t.Fatal("OnChange did not run")
	}
	// The store says so too: the request path refuses keys with RevokedAt.
	k, err := e.store.KeyByHash(context.Background(), secret.Hash(sec), e.clock.Now())
	if err != nil || k.RevokedAt == nil {
		t.Fatalf("%+v %v", k, err)
	}
	// Revoking again keeps the first time and changes nothing.
	e.clock.Advance(time.Minute)
	r = e.must(e.admin("POST", "/admin/keys/"+id+"/revoke", "{}"), 200)
	if r.str("revoked_at") != "2030-03-15T12:01:00Z" || e.changes.Load() != changes+1 {
		t.Fatalf("second revoke: %s", r.raw)
	}
	e.mustErr(e.admin("POST", "/admin/keys/key_0000000000000000/revoke", nil), 404, "not_found", "")
	e.mustErr(e.admin("POST", "/admin/keys/"+id+"/revoke", `{"reason":"x"}`), 400, "unknown_field", "reason")
	// A revoked key cannot be rotated.
	e.mustErr(e.admin("POST", "/admin/keys/"+id+"/rotate", nil), 409, "conflict", "")
}

func TestRotateKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id, old := e.createKey(map[string]any{"name": "k", "rpm": 9})
	changes := e.changes.Load()

	// With grace: both secrets work until the grace ends, then only the new.
	r := e.must(e.admin("POST", "/admin/keys/"+id+"/rotate", map[string]any{"grace_seconds": 3600}), 200)
	if e.changes.Load() != changes+1 {
		t.Fatal("OnChange did not run")
	}
	fresh := r.str("key")
	if !secret.Looks(fresh) || fresh == old || r.str("id") != id || r.str("prefix") != fresh[:10] || r.json["rpm"] != 9.0 {
		t.Fatalf("%s", r.raw)
	}
	if r.str("prev_valid_until") != "2030-03-15T13:00:00Z" {
		t.Fatalf("prev_valid_until %v", r.json["prev_valid_until"])
	}
	found := func(sec string) bool {
		t.Helper()
		k, err := e.store.KeyByHash(ctx, secret.Hash(sec), e.clock.Now())
		if errors.Is(err, store.ErrNotFound) {
			return false
		}
		if err != nil || k.ID != id {
			t.Fatalf("%+v %v", k, err)
		}
		return true
	}
	if !found(old) || !found(fresh) {
		t.Fatal("a secret does not work during the grace period")
	}
	e.clock.Advance(59 * time.Minute)
	if !found(old) {
		t.Fatal("old secret stopped before the grace ended")
	}
	if g := e.must(e.admin("GET", "/admin/keys/"+id, nil), 200); g.str("prev_valid_until") != "2030-03-15T13:00:00Z" {
		t.Fatalf("%s", g.raw)
	}
	e.clock.Advance(time.Minute)
	if found(old) || !found(fresh) {
		t.Fatal("old secret still works after the grace, or the new one does not")
	}
	if g := e.must(e.admin("GET", "/admin/keys/"+id, nil), 200); g.json["prev_valid_until"] != nil {
		t.Fatalf("prev_valid_until shown after it passed: %s", g.raw)
	}

	// Without grace (no body, empty object, or 0): the old secret stops at once.
	for _, body := range []any{nil, "{}", map[string]any{"grace_seconds": 0}} {
		before := fresh
		r = e.must(e.admin("POST", "/admin/keys/"+id+"/rotate", body), 200)
		fresh = r.str("key")
		if found(before) || !found(fresh) || r.json["prev_valid_until"] != nil {
			t.Fatalf("rotation without grace (%v): %s", body, r.raw)
		}
	}
	// Revoking ends a running grace too.
	before := fresh
	fresh = e.must(e.admin("POST", "/admin/keys/"+id+"/rotate", map[string]any{"grace_seconds": 60}), 200).str("key")
	if !found(before) {
		t.Fatal("grace")
	}
	e.must(e.admin("POST", "/admin/keys/"+id+"/revoke", nil), 200)
	if found(before) {
		t.Fatal("old secret still found after revoke")
	}

	// Errors.
	id2, _ := e.createKey(map[string]any{"name": "k2"})
	e.mustErr(e.admin("POST", "/admin/keys/"+id2+"/rotate", map[string]any{"grace_seconds": -1}), 400, "invalid_field", "grace_seconds")
	e.mustErr(e.admin("POST", "/admin/keys/"+id2+"/rotate", map[string]any{"grace_seconds": 1.5}), 400, "invalid_field", "grace_seconds")
	e.mustErr(e.admin("POST", "/admin/keys/"+id2+"/rotate", map[string]any{"grace_seconds": 31 * 86400}), 400, "invalid_field", "grace_seconds")
	e.mustErr(e.admin("POST", "/admin/keys/"+id2+"/rotate", map[string]any{"grace": 60}), 400, "unknown_field", "grace")
	e.mustErr(e.admin("POST", "/admin/keys/key_0000000000000000/rotate", nil), 404, "not_found", "")
}

func TestDeleteKey(t *testing.T) {
	e := newEnv(t)
	id, sec := e.createKey(map[string]any{"name": "k"})
	changes := e.changes.Load()
	r := e.must(e.admin("DELETE", "/admin/keys/"+id, nil), 204)
	if r.raw != "" {
		t.Fatalf("204 with a body: %q", r.raw)
	}
	if e.changes.Load() != changes+1 {
		t.Fatal("OnChange did not run")
	}
	if _, err := e.store.KeyByHash(context.Background(), secret.Hash(sec), e.clock.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted key still found: %v", err)
	}
	e.mustErr(e.admin("GET", "/admin/keys/"+id, nil), 404, "not_found", "")
	e.mustErr(e.admin("DELETE", "/admin/keys/"+id, nil), 404, "not_found", "")
	if e.changes.Load() != changes+1 {
		t.Fatal("OnChange ran for a failed delete")
	}
}
