package admin

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	userID = regexp.MustCompile(`^user_[0-9a-f]{16}$`)
	teamID = regexp.MustCompile(`^team_[0-9a-f]{16}$`)
)

func TestTeams(t *testing.T) {
	e := newEnv(t)
	r := e.must(e.admin("POST", "/admin/teams", map[string]any{
		"name": "research", "models": []string{"claude-*"}, "rpm": 600, "tpm": 1e6, "rph": 10000, "tph": 1e7,
		"budget_usd": 500, "budget_period": "monthly", "metadata": map[string]string{"cost_center": "42"},
	}), 201)
	id := r.str("id")
	if !teamID.MatchString(id) {
		t.Fatalf("id %q", id)
	}
	for k, v := range map[string]any{"name": "research", "rpm": 600.0, "tpm": 1e6, "rph": 10000.0, "tph": 1e7,
		"budget_usd": 500.0, "budget_period": "monthly", "created_at": "2030-03-15T12:00:00Z"} {
		if r.json[k] != v {
			t.Errorf("%s = %#v, want %#v", k, r.json[k], v)
		}
	}
	if _, ok := r.json["team_id"]; ok {
		t.Error("a team has a team_id")
	}
	st, err := e.store.GetTeam(context.Background(), id)
	if err != nil || st.Name != "research" || st.TPM != 1e6 || st.Models[0] != "claude-*" || st.Metadata["cost_center"] != "42" {
		t.Fatalf("stored %+v %v", st, err)
	}
	e.clock.Advance(time.Second)
	other := e.createTeam("ops", nil)

	list := e.must(e.admin("GET", "/admin/teams", nil), 200).data()
	if len(list) != 2 || list[0].(map[string]any)["id"] != id || list[1].(map[string]any)["id"] != other {
		t.Fatalf("list %v", list)
	}
	if g := e.must(e.admin("GET", "/admin/teams/"+id, nil), 200); g.raw != r.raw {
		t.Fatalf("get differs from create:\n%s\n%s", g.raw, r.raw)
	}
	e.mustErr(e.admin("GET", "/admin/teams?x=1", nil), 400, "unknown_parameter", "x")

	changes := e.changes.Load()
	r = e.must(e.admin("PATCH", "/admin/teams/"+id, map[string]any{"budget_usd": 750.25, "models": nil, "metadata": nil}), 200)
	if r.json["budget_usd"] != 750.25 || len(r.json["models"].([]any)) != 0 || len(r.json["metadata"].(map[string]any)) != 0 || r.json["rpm"] != 600.0 {
		t.Fatalf("%s", r.raw)
	}
	if e.changes.Load() != changes+1 {
		t.Fatal("OnChange")
	}

	for _, c := range []struct {
		body  map[string]any
		param string
	}{
		{map[string]any{"name": ""}, "name"},
		{map[string]any{"tpm": -1}, "tpm"},
		{map[string]any{"budget_period": "yearly"}, "budget_period"},
		{map[string]any{"team_id": id}, "team_id"},
	} {
		code := "invalid_field"
		if c.param == "team_id" {
			code = "unknown_field"
		}
		e.mustErr(e.admin("PATCH", "/admin/teams/"+id, c.body), 400, code, c.param)
		if c.param != "name" {
			c.body["name"] = "x"
		}
		e.mustErr(e.admin("POST", "/admin/teams", c.body), 400, code, c.param)
	}
	e.mustErr(e.admin("POST", "/admin/teams", map[string]any{}), 400, "invalid_field", "name")
	e.mustErr(e.admin("GET", "/admin/teams/team_missing", nil), 404, "not_found", "")
	e.mustErr(e.admin("PATCH", "/admin/teams/team_missing", map[string]any{"name": "x"}), 404, "not_found", "")
	e.mustErr(e.admin("DELETE", "/admin/teams/team_missing", nil), 404, "not_found", "")

	// A team with users or keys cannot be deleted.
	user := e.createUser("u", id)
	r = e.mustErr(e.admin("DELETE", "/admin/teams/"+id, nil), 409, "conflict", "")
	if !strings.Contains(r.errField("message"), "1 user(s) and 0 key(s)") {
		t.Fatalf("%s", r.raw)
	}
	key, _ := e.createKey(map[string]any{"name": "k", "team_id": id})
	e.mustErr(e.admin("DELETE", "/admin/teams/"+id, nil), 409, "conflict", "")
	e.must(e.admin("PATCH", "/admin/users/"+user, map[string]any{"team_id": other}), 200)
	r = e.mustErr(e.admin("DELETE", "/admin/teams/"+id, nil), 409, "conflict", "")
	if !strings.Contains(r.errField("message"), "0 user(s) and 1 key(s)") {
		t.Fatalf("%s", r.raw)
	}
	e.must(e.admin("DELETE", "/admin/keys/"+key, nil), 204)
	changes = e.changes.Load()
	e.must(e.admin("DELETE", "/admin/teams/"+id, nil), 204)
	if e.changes.Load() != changes+1 {
		t.Fatal("OnChange")
	}
	e.mustErr(e.admin("GET", "/admin/teams/"+id, nil), 404, "not_found", "")
}

func TestUsers(t *testing.T) {
	e := newEnv(t)
	team := e.createTeam("t", nil)
	r := e.must(e.admin("POST", "/admin/users", map[string]any{
		"name": "ada", "team_id": team, "models": []string{"gpt-4o"}, "rpm": 30, "budget_usd": 20, "budget_period": "daily",
		"metadata": map[string]string{"email": "ada@example.com"},
	}), 201)
	id := r.str("id")
	if !userID.MatchString(id) || r.json["team_id"] != team || r.json["rpm"] != 30.0 || r.str("budget_period") != "daily" {
		t.Fatalf("%s", r.raw)
	}
	su, err := e.store.GetUser(context.Background(), id)
	if err != nil || su.TeamID != team || su.BudgetUSD != 20 || su.Metadata["email"] != "ada@example.com" {
		t.Fatalf("stored %+v %v", su, err)
	}
	e.clock.Advance(time.Second)
	loner := e.createUser("bob", "")
	if g := e.must(e.admin("GET", "/admin/users/"+loner, nil), 200); g.json["team_id"] != nil || g.str("budget_period") != "total" {
		t.Fatalf("%s", g.raw)
	}
	if g := e.must(e.admin("GET", "/admin/users/"+id, nil), 200); g.raw != r.raw {
		t.Fatalf("get differs from create:\n%s\n%s", g.raw, r.raw)
	}
	if l := e.must(e.admin("GET", "/admin/users", nil), 200).data(); len(l) != 2 || l[0].(map[string]any)["id"] != id {
		t.Fatalf("%v", l)
	}
	if l := e.must(e.admin("GET", "/admin/users?team_id="+team, nil), 200).data(); len(l) != 1 || l[0].(map[string]any)["id"] != id {
		t.Fatalf("%v", l)
	}
	e.mustErr(e.admin("GET", "/admin/users?team=x", nil), 400, "unknown_parameter", "team")

	r = e.must(e.admin("PATCH", "/admin/users/"+id, map[string]any{"team_id": nil, "name": "Ada L.", "rph": 100}), 200)
	if r.json["team_id"] != nil || r.str("name") != "Ada L." || r.json["rph"] != 100.0 || r.json["rpm"] != 30.0 {
		t.Fatalf("%s", r.raw)
	}

	e.mustErr(e.admin("POST", "/admin/users", map[string]any{"name": "x", "team_id": "team_nope"}), 400, "invalid_field", "team_id")
	e.mustErr(e.admin("POST", "/admin/users", map[string]any{"name": "x", "user_id": "u"}), 400, "unknown_field", "user_id")
	e.mustErr(e.admin("POST", "/admin/users", map[string]any{"name": "x", "rpm": -3}), 400, "invalid_field", "rpm")
	e.mustErr(e.admin("POST", "/admin/users", map[string]any{"name": "x", "budget_period": "hourly"}), 400, "invalid_field", "budget_period")
	e.mustErr(e.admin("POST", "/admin/users", map[string]any{"team_id": team}), 400, "invalid_field", "name")
	e.mustErr(e.admin("PATCH", "/admin/users/"+id, map[string]any{"team_id": "team_nope"}), 400, "invalid_field", "team_id")
	e.mustErr(e.admin("PATCH", "/admin/users/user_missing", map[string]any{"name": "x"}), 404, "not_found", "")
	e.mustErr(e.admin("GET", "/admin/users/user_missing", nil), 404, "not_found", "")
	e.mustErr(e.admin("DELETE", "/admin/users/user_missing", nil), 404, "not_found", "")

	// A user who owns keys cannot be deleted.
	key, _ := e.createKey(map[string]any{"name": "k", "user_id": id})
	e.mustErr(e.admin("DELETE", "/admin/users/"+id, nil), 409, "conflict", "")
	e.must(e.admin("PATCH", "/admin/keys/"+key, map[string]any{"user_id": loner}), 200)
	changes := e.changes.Load()
	e.must(e.admin("DELETE", "/admin/users/"+id, nil), 204)
	if e.changes.Load() != changes+1 {
		t.Fatal("OnChange")
	}
	e.mustErr(e.admin("GET", "/admin/users/"+id, nil), 404, "not_found", "")
}
