package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/admin"
	"github.com/tidegate/tidegate/internal/secret"
	"github.com/tidegate/tidegate/internal/store"
)

const cliAdminKey = "cli-test-admin-key"

// adminServer runs the real admin API over a temp SQLite store and points
// the CLI at it through the environment.
func adminServer(t *testing.T) (*httptest.Server, store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "cli.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := httptest.NewServer(admin.New(admin.Options{
		Store: st,
		AdminKeys: []admin.AdminKey{
			{Name: "root", Secret: cliAdminKey, Scope: admin.ScopeAdmin},
			{Name: "viewer", Secret: "cli-read-key", Scope: admin.ScopeRead},
		},
	}))
	t.Cleanup(srv.Close)
	t.Setenv("TIDEGATE_URL", srv.URL)
	t.Setenv("TIDEGATE_ADMIN_KEY", cliAdminKey)
	return srv, st
}

// run executes the CLI with args and returns what it printed.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := rootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := run(t, args...)
	if err != nil {
		t.Fatalf("tidegate %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

var secretRE = regexp.MustCompile(`sk-tg-[A-Za-z0-9_-]{43}`)

func TestKeysCLI(t *testing.T) {
	_, st := adminServer(t)
	ctx := context.Background()
	team := &store.Team{ID: "team_1", Name: "research"}
	user := &store.User{ID: "user_1", Name: "ada", TeamID: "team_1"}
	if err := st.CreateTeam(ctx, team); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, user); err != nil {
		t.Fatal(err)
	}

	// create with every flag.
	out := mustRun(t, "keys", "create", "--name", "ci-bot", "--models", "gpt-4o,claude-*", "--rpm", "60", "--rph", "600",
		"--tpm", "1000", "--tph", "9000", "--budget-usd", "12.5", "--budget-period", "monthly", "--user", "user_1",
		"--expires", "30d", "--metadata", "env=ci,owner=ops")
	sec := secretRE.FindString(out)
	id := regexp.MustCompile(`key_[0-9a-f]{16}`).FindString(out)
	if sec == "" || id == "" || !strings.Contains(out, "shown only this once") {
		t.Fatalf("create printed:\n%s", out)
	}
	k, err := st.KeyByHash(ctx, secret.Hash(sec), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if k.ID != id || k.Name != "ci-bot" || strings.Join(k.Models, ",") != "gpt-4o,claude-*" || k.RPM != 60 || k.RPH != 600 ||
		k.TPM != 1000 || k.TPH != 9000 || k.BudgetUSD != 12.5 || k.BudgetPeriod != "monthly" || k.UserID != "user_1" ||
		k.TeamID != "team_1" || k.Metadata["env"] != "ci" || k.Metadata["owner"] != "ops" || k.ExpiresAt == nil ||
		k.ExpiresAt.Sub(time.Now().Add(30*24*time.Hour)).Abs() > time.Minute {
		t.Fatalf("stored key %+v", k)
	}

	// create --json prints the API's answer, secret included.
	out = mustRun(t, "keys", "create", "--name", "plain", "--json")
	var created map[string]any
	if err := json.Unmarshal([]byte(out), &created); err != nil || !secret.Looks(created["key"].(string)) || created["budget_period"] != "total" {
		t.Fatalf("create --json: %v\n%s", err, out)
	}
	plain := created["id"].(string)

	// list: a table without secrets.
	out = mustRun(t, "keys", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(out, "ci-bot") || !strings.Contains(out, "$12.5/monthly") ||
		!strings.Contains(out, sec[:10]) || !strings.Contains(out, "gpt-4o,claude-*") || !strings.Contains(out, "team_1") {
		t.Fatalf("list:\n%s", out)
	}
	if secretRE.MatchString(out) {
		t.Fatalf("list shows a secret:\n%s", out)
	}
	out = mustRun(t, "keys", "list", "--json", "--team", "team_1")
	var list admin.List[admin.Key]
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Data) != 1 || list.Data[0].ID != id || secretRE.MatchString(out) {
		t.Fatalf("list --json: %v\n%s", err, out)
	}

	// get.
	out = mustRun(t, "keys", "get", id)
	for _, s := range []string{"ci-bot", "active", "user_1", "env=ci, owner=ops", "600"} {
		if !strings.Contains(out, s) {
			t.Fatalf("get lacks %q:\n%s", s, out)
		}
	}

	// rotate with grace: both secrets work; the new one is printed.
	out = mustRun(t, "keys", "rotate", id, "--grace", "1h")
	fresh := secretRE.FindString(out)
	if fresh == "" || fresh == sec || !strings.Contains(out, "keeps working until") {
		t.Fatalf("rotate:\n%s", out)
	}
	for _, s := range []string{sec, fresh} {
		if k, err := st.KeyByHash(ctx, secret.Hash(s), time.Now()); err != nil || k.ID != id {
			t.Fatalf("after rotate: %v", err)
		}
	}
	if _, err := st.KeyByHash(ctx, secret.Hash(sec), time.Now().Add(61*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("old secret after the grace: %v", err)
	}
	out = mustRun(t, "keys", "rotate", plain)
	if !strings.Contains(out, "no longer works") || secretRE.FindString(out) == "" {
		t.Fatalf("rotate without grace:\n%s", out)
	}

	// revoke, then delete.
	out = mustRun(t, "keys", "revoke", id)
	if !strings.Contains(out, "Revoked key "+id) {
		t.Fatalf("revoke:\n%s", out)
	}
	if k, _ := st.GetKey(ctx, id); k.RevokedAt == nil {
		t.Fatal("not revoked")
	}
	if out := mustRun(t, "keys", "list", "--status", "revoked"); !strings.Contains(out, id) || strings.Contains(out, plain) {
		t.Fatalf("list --status revoked:\n%s", out)
	}
	mustRun(t, "keys", "delete", plain)
	if _, err := st.GetKey(ctx, plain); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("not deleted: %v", err)
	}
}

func TestKeysCLIErrors(t *testing.T) {
	srv, _ := adminServer(t)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"validation", []string{"keys", "create", "--name", "x", "--budget-period", "weekly"}, "budget_period: must be one of"},
		{"unknown team", []string{"keys", "create", "--name", "x", "--team", "team_nope"}, `team_id: team "team_nope" does not exist`},
		{"negative rpm", []string{"keys", "create", "--name", "x", "--rpm", "-1"}, "rpm: must be 0"},
		{"name required", []string{"keys", "create"}, `"name" not set`},
		{"bad expires", []string{"keys", "create", "--name", "x", "--expires", "soon"}, "--expires"},
		{"not found", []string{"keys", "revoke", "key_0000000000000000"}, "HTTP 404"},
		{"rotate not found", []string{"keys", "rotate", "nope", "--grace", "1m"}, "not found"},
		{"negative grace", []string{"keys", "rotate", "nope", "--grace", "-1m"}, "--grace"},
		{"wrong admin key", []string{"keys", "list", "--admin-key", "wrong"}, "invalid admin key (HTTP 401"},
		{"read scope", []string{"keys", "create", "--name", "x", "--admin-key", "cli-read-key"}, "HTTP 403"},
		{"unreachable", []string{"keys", "list", "--url", "http://127.0.0.1:1"}, "admin API at http://127.0.0.1:1"},
		{"bad group", []string{"usage", "--group-by", "week"}, "group_by: must be one of"},
		{"bad since", []string{"usage", "--since", "last tuesday"}, "--since"},
		{"args", []string{"keys", "revoke"}, "accepts 1 arg"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := run(t, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want %q\n%s", err, c.want, out)
			}
		})
	}

	t.Run("no admin key", func(t *testing.T) {
		t.Setenv("TIDEGATE_ADMIN_KEY", "")
		_, err := run(t, "keys", "list")
		if err == nil || !strings.Contains(err.Error(), "TIDEGATE_ADMIN_KEY") {
			t.Fatalf("%v", err)
		}
		// --admin-key works without the environment.
		mustRun(t, "keys", "list", "--admin-key", cliAdminKey)
	})
	t.Run("url flag wins", func(t *testing.T) {
		t.Setenv("TIDEGATE_URL", "http://127.0.0.1:1")
		mustRun(t, "keys", "list", "--url", strings.TrimPrefix(srv.URL, "http://")+"/")
	})
}

func TestUsageCLI(t *testing.T) {
	_, st := adminServer(t)
	ctx := context.Background()
	now := time.Now().UTC()
	if err := st.CreateKey(ctx, &store.Key{ID: "key_a", Name: "alpha", Hash: "h1", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	recs := []store.Usage{
		{Time: now.Add(-time.Hour), KeyID: "key_a", Model: "gpt-4o", InputTokens: 100, OutputTokens: 40, CostUSD: 0.25, Status: 200},
		{Time: now.Add(-2 * time.Hour), KeyID: "key_a", Model: "claude", InputTokens: 10, OutputTokens: 4, CostUSD: 0.5, Status: 200},
		{Time: now.Add(-3 * time.Hour), KeyID: "key_b", Model: "gpt-4o", Status: 429, Refused: true},
		{Time: now.Add(-10 * 24 * time.Hour), KeyID: "key_a", Model: "gpt-4o", InputTokens: 7, CostUSD: 2, Status: 200},
	}
	if err := st.InsertUsage(ctx, recs); err != nil {
		t.Fatal(err)
	}

	out := mustRun(t, "usage")
	for _, s := range []string{"Usage by key", "GROUP", "key_a", "alpha", "key_b", "TOTAL", "2.7500", "117"} {
		if !strings.Contains(out, s) {
			t.Fatalf("usage lacks %q:\n%s", s, out)
		}
	}
	out = mustRun(t, "usage", "--group-by", "model", "--since", "7d")
	if !strings.Contains(out, "Usage by model") || !strings.Contains(out, "claude") || !strings.Contains(out, "0.7500") || strings.Contains(out, "2.7500") {
		t.Fatalf("usage by model since 7d:\n%s", out)
	}
	out = mustRun(t, "usage", "--group-by", "day", "--json", "--since", now.Add(-90*time.Minute).Format(time.RFC3339), "--until", "1m")
	var rep admin.UsageReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.GroupBy != "day" || len(rep.Data) != 1 || rep.Totals.Requests != 1 || rep.Totals.CostUSD != 0.25 {
		t.Fatalf("usage --json: %v\n%s", err, out)
	}
	// The read scope may see usage.
	mustRun(t, "usage", "--admin-key", "cli-read-key")
}
