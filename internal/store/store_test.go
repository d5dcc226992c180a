package store

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/testpg"
)

// Every behavioural test runs against each backend: SQLite in a temporary
// file, and PostgreSQL in a schema of its own (testpg.Schema: skipped
// without a server unless TIDEGATE_TEST_POSTGRES asks for one).

func eachBackend(t *testing.T, fn func(t *testing.T, url string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, "sqlite://"+filepath.Join(t.TempDir(), "tidegate.db"))
	})
	t.Run("postgres", func(t *testing.T) { fn(t, testpg.Schema(t)) })
}

func open(t *testing.T, url string) Store {
	t.Helper()
	s, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ptr(t time.Time) *time.Time { return &t }

// at is a fixed instant with nanoseconds (stored to the microsecond) in a
// non-UTC zone (stored as UTC).
var at = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("X", 5*3600+1800))

func TestOpenURLs(t *testing.T) {
	ctx := context.Background()
	for _, url := range []string{"", "mysql://x", "sqlite:", "sqlite://", "tidegate.db", "redis://127.0.0.1"} {
		_, err := Open(ctx, url)
		if err == nil {
			t.Fatalf("Open(%q): no error", url)
		}
		if url != "sqlite://" && !strings.Contains(err.Error(), "postgres://") {
			t.Errorf("Open(%q): %v: should name the accepted forms", url, err)
		}
	}
	_, err := Open(ctx, "mysql://root:hunter2@db/x")
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error leaks the URL: %v", err)
	}

	s := open(t, "sqlite://:memory:")
	if err := s.CreateTeam(ctx, &Team{ID: "t"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetTeam(ctx, "t"); err != nil {
		t.Fatal(err)
	}

	// A relative path, whose directory is created.
	t.Chdir(t.TempDir())
	open(t, "sqlite://data/tide?#%.db")
	if _, err := os.Stat("data/tide?#%.db"); err != nil {
		t.Fatal(err)
	}
}

func TestKeys(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		k := &Key{
			ID: "k1", Name: "ci", Prefix: "sk-tg-ab", Hash: "h1", UserID: "u1", TeamID: "t1",
			Models:    []string{"gpt-4o", "claude-*"},
			Limits:    Limits{RPM: 60, RPH: 1000, TPM: 10000, TPH: 100000, BudgetUSD: 12.5, BudgetPeriod: PeriodMonthly},
			Metadata:  map[string]string{"env": "prod"},
			PrevHash:  "h0",
			PrevUntil: ptr(at.Add(time.Hour)),
			ExpiresAt: ptr(at.Add(24 * time.Hour)),
		}
		if err := s.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		if k.CreatedAt.IsZero() || !k.UpdatedAt.Equal(k.CreatedAt) || k.CreatedAt.Location() != time.UTC {
			t.Fatalf("CreatedAt %v UpdatedAt %v", k.CreatedAt, k.UpdatedAt)
		}
		if !k.ExpiresAt.Equal(at.Add(24*time.Hour).Truncate(time.Microsecond)) || k.ExpiresAt.Location() != time.UTC {
			t.Fatalf("ExpiresAt not normalised: %v", k.ExpiresAt)
		}
		got, err := s.GetKey(ctx, "k1")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, k) {
			t.Fatalf("GetKey:\n got %+v\nwant %+v", got, k)
		}

		// A minimal key: empty models and metadata come back nil, times nil.
		k2 := &Key{ID: "k2", Hash: "h2", Models: []string{}, Metadata: map[string]string{}, CreatedAt: at}
		if err := s.CreateKey(ctx, k2); err != nil {
			t.Fatal(err)
		}
		if k2.Models != nil || k2.Metadata != nil || !k2.CreatedAt.Equal(at.Truncate(time.Microsecond)) {
			t.Fatalf("k2 not normalised: %+v", k2)
		}
		got2, err := s.GetKey(ctx, "k2")
		if err != nil || !reflect.DeepEqual(got2, k2) {
			t.Fatalf("GetKey k2: %v\n got %+v\nwant %+v", err, got2, k2)
		}

		for _, dup := range []*Key{{ID: "k1", Hash: "other"}, {ID: "k3", Hash: "h1"}} {
			if err := s.CreateKey(ctx, dup); !errors.Is(err, ErrConflict) {
				t.Errorf("CreateKey(%s, %s) = %v, want ErrConflict", dup.ID, dup.Hash, err)
			}
		}
		if err := s.CreateKey(ctx, &Key{Hash: "x"}); err == nil {
			t.Error("CreateKey without id: no error")
		}
		if err := s.CreateKey(ctx, &Key{ID: "x"}); err == nil {
			t.Error("CreateKey without hash: no error")
		}

		list, err := s.ListKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Ordered by creation: k2 was created at `at`, k1 now.
		if len(list) != 2 || !reflect.DeepEqual(&list[0], k2) || !reflect.DeepEqual(&list[1], k) {
			t.Fatalf("ListKeys = %+v", list)
		}

		// Update replaces fields, keeps CreatedAt, advances UpdatedAt.
		created := k.CreatedAt
		upd := *got
		upd.Name, upd.Models, upd.RPM, upd.Metadata = "renamed", nil, 0, map[string]string{"a": "b"}
		upd.RevokedAt, upd.ExpiresAt = ptr(at), nil
		upd.CreatedAt = time.Time{} // ignored
		time.Sleep(2 * time.Millisecond)
		if err := s.UpdateKey(ctx, &upd); err != nil {
			t.Fatal(err)
		}
		if !upd.CreatedAt.Equal(created) || !upd.UpdatedAt.After(created) {
			t.Fatalf("after update CreatedAt %v (want %v) UpdatedAt %v", upd.CreatedAt, created, upd.UpdatedAt)
		}
		got, err = s.GetKey(ctx, "k1")
		if err != nil || !reflect.DeepEqual(got, &upd) {
			t.Fatalf("after update: %v\n got %+v\nwant %+v", err, got, &upd)
		}

		if err := s.UpdateKey(ctx, &Key{ID: "nope", Hash: "h9"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateKey(missing) = %v", err)
		}
		k2.Hash = "h1" // another key's hash
		if err := s.UpdateKey(ctx, k2); !errors.Is(err, ErrConflict) {
			t.Errorf("UpdateKey(duplicate hash) = %v", err)
		}
		if _, err := s.GetKey(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetKey(missing) = %v", err)
		}
		if err := s.DeleteKey(ctx, "k1"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteKey(ctx, "k1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("DeleteKey twice = %v", err)
		}
		if _, err := s.GetKey(ctx, "k1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetKey(deleted) = %v", err)
		}
	})
}

func TestKeyByHashRotation(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		k := &Key{ID: "k", Hash: "old"}
		if err := s.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		now := at
		if got, err := s.KeyByHash(ctx, "old", now); err != nil || got.ID != "k" {
			t.Fatalf("KeyByHash(old) = %v, %v", got, err)
		}
		// Rotate with a one-minute grace period.
		k.PrevHash, k.PrevUntil, k.Hash = k.Hash, ptr(now.Add(time.Minute)), "new"
		if err := s.UpdateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			hash string
			now  time.Time
			ok   bool
		}{
			{"new", now, true},
			{"new", now.Add(time.Hour), true},
			{"old", now, true},
			{"old", now.Add(time.Minute - time.Microsecond), true},
			{"old", now.Add(time.Minute), false}, // prev_until is exclusive
			{"old", now.Add(time.Hour), false},
			{"", now, false},
			{"other", now, false},
		} {
			got, err := s.KeyByHash(ctx, c.hash, c.now)
			if c.ok && (err != nil || !reflect.DeepEqual(got, k)) {
				t.Errorf("KeyByHash(%q, %v) = %+v, %v; want the key", c.hash, c.now, got, err)
			}
			if !c.ok && !errors.Is(err, ErrNotFound) {
				t.Errorf("KeyByHash(%q, %v) = %+v, %v; want ErrNotFound", c.hash, c.now, got, err)
			}
		}
		// Rotation without grace: the old hash stops at once.
		k.PrevHash, k.PrevUntil, k.Hash = k.Hash, nil, "newer"
		if err := s.UpdateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		if _, err := s.KeyByHash(ctx, "new", now); !errors.Is(err, ErrNotFound) {
			t.Errorf("old hash without grace: %v", err)
		}
	})
}

func TestUsersAndTeams(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)

		team := &Team{ID: "t1", Name: "research", Models: []string{"*"},
			Limits: Limits{TPM: 5, BudgetUSD: 100, BudgetPeriod: PeriodDaily}, Metadata: map[string]string{"cc": "42"}}
		if err := s.CreateTeam(ctx, team); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateTeam(ctx, &Team{ID: "t1"}); !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate team: %v", err)
		}
		if got, err := s.GetTeam(ctx, "t1"); err != nil || !reflect.DeepEqual(got, team) {
			t.Fatalf("GetTeam: %v\n got %+v\nwant %+v", err, got, team)
		}
		team.Name, team.TPM = "research-2", 6
		if err := s.UpdateTeam(ctx, team); err != nil {
			t.Fatal(err)
		}
		if teams, err := s.ListTeams(ctx); err != nil || len(teams) != 1 || !reflect.DeepEqual(&teams[0], team) {
			t.Fatalf("ListTeams = %+v, %v", teams, err)
		}
		if err := s.UpdateTeam(ctx, &Team{ID: "t2"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateTeam(missing) = %v", err)
		}

		user := &User{ID: "u1", Name: "ada", TeamID: "t1", Limits: Limits{RPM: 3}, CreatedAt: at, UpdatedAt: at.Add(time.Second)}
		if err := s.CreateUser(ctx, user); err != nil {
			t.Fatal(err)
		}
		if !user.UpdatedAt.Equal(at.Add(time.Second).Truncate(time.Microsecond)) {
			t.Errorf("given UpdatedAt not kept: %v", user.UpdatedAt)
		}
		if err := s.CreateUser(ctx, &User{ID: "u1"}); !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate user: %v", err)
		}
		if got, err := s.GetUser(ctx, "u1"); err != nil || !reflect.DeepEqual(got, user) {
			t.Fatalf("GetUser: %v\n got %+v\nwant %+v", err, got, user)
		}
		user.TeamID, user.Models = "", []string{"gpt-4o"}
		if err := s.UpdateUser(ctx, user); err != nil {
			t.Fatal(err)
		}
		if users, err := s.ListUsers(ctx); err != nil || len(users) != 1 || !reflect.DeepEqual(&users[0], user) {
			t.Fatalf("ListUsers = %+v, %v", users, err)
		}
		if _, err := s.GetUser(ctx, "u2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetUser(missing) = %v", err)
		}
		if err := s.DeleteUser(ctx, "u1"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUser(ctx, "u1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("DeleteUser twice = %v", err)
		}
		if err := s.DeleteTeam(ctx, "t1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetTeam(ctx, "t1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetTeam(deleted) = %v", err)
		}
		if users, err := s.ListUsers(ctx); err != nil || users == nil || len(users) != 0 {
			t.Errorf("ListUsers on empty = %#v, %v; want an empty, non-nil slice", users, err)
		}
	})
}

// Strings that break naive SQL or encodings come back byte for byte.
func TestHostileStrings(t *testing.T) {
	hostile := []string{
		`'; DROP TABLE keys; --`, `" OR 1=1 --`, `\'\\`, "$1 ? :name @p %s", "名前 🚀 ñ \u202e", "tab\tnew\nline",
		strings.Repeat("x", 10000),
	}
	eachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		for i, h := range hostile {
			id := fmt.Sprintf("%s-%d", h, i)
			k := &Key{ID: id, Name: h, Hash: h + id, Prefix: h, UserID: h, TeamID: h, Models: []string{h, h},
				Metadata: map[string]string{h: h}, Limits: Limits{BudgetPeriod: h}}
			if err := s.CreateKey(ctx, k); err != nil {
				t.Fatalf("%q: %v", h, err)
			}
			if got, err := s.GetKey(ctx, id); err != nil || !reflect.DeepEqual(got, k) {
				t.Fatalf("%q: %v\n got %+v\nwant %+v", h, err, got, k)
			}
			if got, err := s.KeyByHash(ctx, h+id, at); err != nil || got.ID != id {
				t.Fatalf("KeyByHash(%q): %v, %v", h, got, err)
			}
			u := Usage{Time: utc(at), RequestID: h, KeyID: id, UserID: h, TeamID: h, Model: h, Provider: h, UpstreamModel: h, Error: h, CostUSD: 1}
			if err := s.InsertUsage(ctx, []Usage{u}); err != nil {
				t.Fatal(err)
			}
			logs, err := s.Logs(ctx, LogFilter{KeyID: id, Model: h})
			if err != nil || len(logs) != 1 || !reflect.DeepEqual(logs[0].Usage, u) {
				t.Fatalf("Logs(%q) = %+v, %v", h, logs, err)
			}
			if spend, err := s.Spend(ctx, "team", h, time.Time{}); err != nil || spend != 1 {
				t.Fatalf("Spend(team %q) = %v, %v", h, spend, err)
			}
		}
		rows, err := s.UsageSummary(ctx, "key", time.Time{}, time.Time{})
		if err != nil || len(rows) != len(hostile) {
			t.Fatalf("summary: %+v, %v", rows, err)
		}
		for _, r := range rows {
			if !strings.HasPrefix(r.Group, r.Name) || r.Requests != 1 {
				t.Errorf("summary row %+v", r)
			}
		}
		if keys, err := s.ListKeys(ctx); err != nil || len(keys) != len(hostile) {
			t.Fatalf("ListKeys: %d, %v", len(keys), err)
		}
	})
}

// usageFixture is n deterministic records over five days from day0, with
// costs that are exact binary fractions so that sums are exact in any order.
func usageFixture(n int) (day0 time.Time, recs []Usage) {
	day0 = time.Date(2026, 2, 27, 0, 0, 0, 0, time.UTC) // crosses a month end
	r := mrand.New(mrand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	for i := range n {
		u := Usage{
			Time:      day0.Add(time.Duration(r.Int64N(int64(5 * 24 * time.Hour)))).Truncate(time.Microsecond),
			RequestID: fmt.Sprintf("req-%05d", i),
			KeyID:     pick("k1", "k2", "k3", "k4", ""),
			UserID:    pick("u1", "u2", ""),
			TeamID:    pick("t1", "t2", "t-gone"),
			Model:     pick("fast", "smart", "Zeta", "alpha"),
			Status:    200,
		}
		if r.IntN(10) == 0 {
			u.Refused, u.Status, u.Error = true, 429, "refused"
		} else {
			u.Provider, u.UpstreamModel = "oai", "gpt-4o-mini"
			u.InputTokens, u.OutputTokens = r.Int64N(5000), r.Int64N(2000)
			u.CacheReadTokens, u.CacheWriteTokens = r.Int64N(100), r.Int64N(100)
			u.CostUSD = float64(r.IntN(4096)) / 1024
			u.LatencyMS = r.Int64N(30000)
			if r.IntN(20) == 0 {
				u.Status, u.Error = 502, "upstream"
			}
		}
		recs = append(recs, u)
	}
	return day0, recs
}

func TestUsage(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		for _, k := range []*Key{{ID: "k1", Name: "one", Hash: "1"}, {ID: "k2", Name: "two", Hash: "2"}, {ID: "k3", Hash: "3"}} {
			if err := s.CreateKey(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateUser(ctx, &User{ID: "u1", Name: "ada"}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateTeam(ctx, &Team{ID: "t1", Name: "research"}); err != nil {
			t.Fatal(err)
		}

		day0, recs := usageFixture(5000)
		before := slices.Clone(recs)
		start := time.Now()
		if err := s.InsertUsage(ctx, recs); err != nil {
			t.Fatal(err)
		}
		t.Logf("InsertUsage of %d rows: %v", len(recs), time.Since(start))
		if !reflect.DeepEqual(recs, before) {
			t.Fatal("InsertUsage modified its argument")
		}
		if err := s.InsertUsage(ctx, nil); err != nil {
			t.Fatal(err)
		}

		names := map[string]string{"k1": "one", "k2": "two", "u1": "ada", "t1": "research"}
		groupOf := map[string]func(Usage) string{
			"key":   func(u Usage) string { return u.KeyID },
			"user":  func(u Usage) string { return u.UserID },
			"team":  func(u Usage) string { return u.TeamID },
			"model": func(u Usage) string { return u.Model },
			"day":   func(u Usage) string { return u.Time.Format(time.DateOnly) },
		}
		for _, win := range []struct{ since, until time.Time }{
			{},
			{day0.Add(36 * time.Hour), day0.Add(72 * time.Hour)},
			{recs[0].Time, recs[1].Time}, // bounds on exact record times: [since, until)
		} {
			for by, g := range groupOf {
				want := map[string]*UsageRow{}
				for _, u := range recs {
					if !win.since.IsZero() && u.Time.Before(win.since) || !win.until.IsZero() && !u.Time.Before(win.until) {
						continue
					}
					r := want[g(u)]
					if r == nil {
						r = &UsageRow{Group: g(u)}
						if by != "model" && by != "day" {
							r.Name = names[g(u)]
						}
						want[g(u)] = r
					}
					if u.Refused {
						r.Refused++
					} else {
						r.Requests++
					}
					r.InputTokens += u.InputTokens
					r.OutputTokens += u.OutputTokens
					r.CostUSD += u.CostUSD
				}
				wantRows := []UsageRow{}
				for _, r := range want {
					wantRows = append(wantRows, *r)
				}
				sort.Slice(wantRows, func(i, j int) bool { return wantRows[i].Group < wantRows[j].Group })
				got, err := s.UsageSummary(ctx, by, win.since, win.until)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, wantRows) {
					t.Errorf("UsageSummary(%s, %v, %v):\n got %+v\nwant %+v", by, win.since, win.until, got, wantRows)
				}
			}
		}
		if _, err := s.UsageSummary(ctx, "provider", time.Time{}, time.Time{}); err == nil {
			t.Error("unknown group_by: no error")
		}

		// Spend.
		since := day0.Add(48 * time.Hour)
		for _, c := range []struct{ scope, id string }{{"key", "k1"}, {"user", "u2"}, {"team", "t-gone"}, {"key", "none"}} {
			var want float64
			for _, u := range recs {
				id := map[string]string{"key": u.KeyID, "user": u.UserID, "team": u.TeamID}[c.scope]
				if id == c.id && !u.Time.Before(since) {
					want += u.CostUSD
				}
			}
			if got, err := s.Spend(ctx, c.scope, c.id, since); err != nil || got != want {
				t.Errorf("Spend(%s, %s) = %v, %v; want %v", c.scope, c.id, got, err, want)
			}
		}
		if _, err := s.Spend(ctx, "model", "fast", since); err == nil {
			t.Error("unknown scope: no error")
		}

		// Logs: the default page, the cap, and paging through a filter.
		byReq := map[string]Usage{}
		for _, u := range recs {
			byReq[u.RequestID] = u
		}
		page, err := s.Logs(ctx, LogFilter{})
		if err != nil || len(page) != 100 {
			t.Fatalf("Logs default page: %d, %v", len(page), err)
		}
		if page[0].RequestID != "req-04999" || !reflect.DeepEqual(page[0].Usage, recs[4999]) {
			t.Fatalf("newest first: %+v", page[0])
		}
		if page, err := s.Logs(ctx, LogFilter{Limit: 5000}); err != nil || len(page) != 1000 {
			t.Fatalf("Logs limit cap: %d, %v", len(page), err)
		}
		f := LogFilter{KeyID: "k1", Model: "smart", Status: 200, Since: day0.Add(24 * time.Hour), Until: day0.Add(96 * time.Hour), Limit: 7}
		var want []string
		for i := len(recs) - 1; i >= 0; i-- {
			u := recs[i]
			if u.KeyID == f.KeyID && u.Model == f.Model && u.Status == f.Status && !u.Time.Before(f.Since) && u.Time.Before(f.Until) {
				want = append(want, u.RequestID)
			}
		}
		var got []string
		pages := 0
		for {
			page, err := s.Logs(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			pages++
			if len(page) > f.Limit {
				t.Fatalf("page of %d", len(page))
			}
			for _, e := range page {
				if f.Before != 0 && e.Seq >= f.Before {
					t.Fatalf("seq %d not below cursor %d", e.Seq, f.Before)
				}
				if !reflect.DeepEqual(e.Usage, byReq[e.RequestID]) {
					t.Fatalf("round trip:\n got %+v\nwant %+v", e.Usage, byReq[e.RequestID])
				}
				got = append(got, e.RequestID)
				f.Before = e.Seq
			}
		}
		if len(want) < 20 || !reflect.DeepEqual(got, want) {
			t.Fatalf("paged logs: got %d %v\nwant %d %v", len(got), got, len(want), want)
		}
		t.Logf("%d matching records in %d pages", len(got), pages)
	})
}

func TestUsageZeroTime(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		before := time.Now().Add(-time.Second)
		if err := s.InsertUsage(ctx, []Usage{{RequestID: "r", Model: "m"}}); err != nil {
			t.Fatal(err)
		}
		logs, err := s.Logs(ctx, LogFilter{})
		if err != nil || len(logs) != 1 {
			t.Fatal(logs, err)
		}
		if tm := logs[0].Time; tm.Before(before) || tm.After(time.Now()) || tm.Location() != time.UTC {
			t.Errorf("zero Time stored as %v", tm)
		}
	})
}

func migrationCount(t *testing.T, s Store) (n int64) {
	t.Helper()
	err := s.(*sqlStore).db.query(context.Background(), "SELECT COUNT(*) FROM schema_migrations", nil,
		func(scan func(...any) error) error { return scan(&n) })
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrationsRerun(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		if err := s.CreateTeam(ctx, &Team{ID: "kept"}); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s = open(t, url)
		if n := migrationCount(t, s); n != int64(len(migrations)) {
			t.Errorf("%d migration rows, want %d", n, len(migrations))
		}
		if _, err := s.GetTeam(ctx, "kept"); err != nil {
			t.Error(err)
		}
	})
}

// Replicas starting together migrate one at a time (advisory lock).
func TestConcurrentOpen(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		const n = 5
		stores := make([]Store, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { stores[i], errs[i] = Open(context.Background(), url) })
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("Open %d: %v", i, errs[i])
			}
			defer stores[i].Close()
		}
		if c := migrationCount(t, stores[0]); c != int64(len(migrations)) {
			t.Errorf("%d migration rows, want %d", c, len(migrations))
		}
	})
}

// Many goroutines writing and reading at once never see SQLITE_BUSY.
func TestConcurrentUse(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		const workers, each = 20, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers*each*4)
		for w := range workers {
			wg.Go(func() {
				id := fmt.Sprintf("k%d", w)
				if err := s.CreateKey(ctx, &Key{ID: id, Hash: id}); err != nil {
					errs <- err
				}
				for i := range each {
					u := Usage{RequestID: fmt.Sprintf("%d-%d", w, i), KeyID: id, Model: "m", CostUSD: 0.5}
					if err := s.InsertUsage(ctx, []Usage{u, u}); err != nil {
						errs <- err
					}
					if _, err := s.Logs(ctx, LogFilter{KeyID: id, Limit: 5}); err != nil {
						errs <- err
					}
					if _, err := s.Spend(ctx, "key", id, time.Time{}); err != nil {
						errs <- err
					}
					k, err := s.GetKey(ctx, id)
					if err != nil {
						errs <- err
						continue
					}
					k.RPM = int64(i)
					if err := s.UpdateKey(ctx, k); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		rows, err := s.UsageSummary(ctx, "model", time.Time{}, time.Time{})
		if err != nil || len(rows) != 1 || rows[0].Requests != workers*each*2 || rows[0].CostUSD != workers*each {
			t.Fatalf("summary %+v, %v", rows, err)
		}
	})
}

// Migration 3: cache hits are stored and read back as such.
func TestUsageCacheHit(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		if err := s.InsertUsage(ctx, []Usage{{RequestID: "hit", Model: "m", Status: 200, CacheHit: true}, {RequestID: "miss", Model: "m", Status: 200}}); err != nil {
			t.Fatal(err)
		}
		entries, err := s.Logs(ctx, LogFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, e := range entries {
			got[e.RequestID] = e.CacheHit
		}
		if !got["hit"] || got["miss"] || len(got) != 2 {
			t.Fatalf("cache_hit read back as %v", got)
		}
	})
}

// Migration 2 fills usage_spend from the usage rows written before it.
func TestSpendBackfill(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		day := time.Date(2026, 5, 1, 23, 59, 0, 0, time.UTC)
		recs := []Usage{
			{Time: day, KeyID: "k1", UserID: "u1", TeamID: "t1", CostUSD: 0.25},
			{Time: day.Add(2 * time.Minute), KeyID: "k1", UserID: "u1", CostUSD: 0.5}, // the next day
			{Time: day, KeyID: "k2", TeamID: "t1", CostUSD: 1},
			{Time: day, KeyID: "k2", CostUSD: 0}, // free: no spend row
		}
		if err := s.InsertUsage(ctx, recs); err != nil {
			t.Fatal(err)
		}
		// Back to schema version 1, with the usage rows kept (later migrations
		// run again too).
		d := s.(*sqlStore).db
		for _, q := range []string{"DROP TABLE responses", "ALTER TABLE usage DROP COLUMN cache_hit", "DROP TABLE usage_spend", "DROP TABLE config_versions", "DELETE FROM schema_migrations WHERE version >= 2",
			"CREATE INDEX usage_key_time ON usage (key_id, time)", "CREATE INDEX usage_user_time ON usage (user_id, time)",
			"CREATE INDEX usage_team_time ON usage (team_id, time)", "CREATE INDEX usage_model_time ON usage (model, time)"} {
			if _, err := d.exec(ctx, q); err != nil {
				t.Fatal(q, err)
			}
		}
		s.Close()
		s = open(t, url)
		var rows int64
		if err := s.(*sqlStore).db.query(ctx, "SELECT COUNT(*) FROM usage_spend", nil,
			func(scan func(...any) error) error { return scan(&rows) }); err != nil || rows != 6 {
			t.Errorf("usage_spend rows = %d, %v; want 6", rows, err)
		}
		for _, c := range []struct {
			scope, id string
			since     time.Time
			want      float64
		}{
			{"key", "k1", time.Time{}, 0.75}, {"key", "k1", day.Add(time.Hour).Truncate(24 * time.Hour), 0.5},
			{"user", "u1", time.Time{}, 0.75}, {"team", "t1", time.Time{}, 1.25}, {"key", "k2", day.Truncate(24 * time.Hour), 1},
		} {
			if got, err := s.Spend(ctx, c.scope, c.id, c.since); err != nil || got != c.want {
				t.Errorf("Spend(%s, %s, %v) = %v, %v; want %v", c.scope, c.id, c.since, got, err, c.want)
			}
		}
	})
}

// An update made from a stale read fails with ErrStale instead of undoing
// the change in between (a revoke must not be lost to a concurrent edit).
func TestUpdateStale(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		if err := s.CreateKey(ctx, &Key{ID: "k", Hash: "h"}); err != nil {
			t.Fatal(err)
		}
		a, _ := s.GetKey(ctx, "k")
		b, _ := s.GetKey(ctx, "k")
		a.RevokedAt = ptr(time.Now())
		if err := s.UpdateKey(ctx, a); err != nil {
			t.Fatal(err)
		}
		b.Name = "renamed"
		if err := s.UpdateKey(ctx, b); !errors.Is(err, ErrStale) {
			t.Fatalf("stale update: %v, want ErrStale", err)
		}
		if got, _ := s.GetKey(ctx, "k"); got.RevokedAt == nil || got.Name != "" {
			t.Fatalf("after a stale update: %+v", got)
		}
		if err := s.UpdateKey(ctx, a); err != nil { // a is current again
			t.Fatal(err)
		}
		if err := s.UpdateTeam(ctx, &Team{ID: "missing"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("update of a missing team: %v", err)
		}
		if err := s.CreateTeam(ctx, &Team{ID: "t"}); err != nil {
			t.Fatal(err)
		}
		t1, _ := s.GetTeam(ctx, "t")
		t2, _ := s.GetTeam(ctx, "t")
		if err := s.UpdateTeam(ctx, t1); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateTeam(ctx, t2); !errors.Is(err, ErrStale) {
			t.Fatalf("stale team update: %v", err)
		}
	})
}

// Batches of every size up to two full chunks are cut into the prepared
// chunk statements (64, 32, … 1 rows) without losing or repeating a row.
func TestInsertUsageChunks(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
		var total int64
		for n := 1; n <= 2*usageChunk+1; n++ {
			recs := make([]Usage, n)
			for i := range recs {
				recs[i] = Usage{Time: t0.Add(time.Duration(total+int64(i)) * time.Microsecond),
					RequestID: fmt.Sprintf("req_%d_%d", n, i), KeyID: "k", InputTokens: 1}
			}
			if err := s.InsertUsage(ctx, recs); err != nil {
				t.Fatalf("%d rows: %v", n, err)
			}
			total += int64(n)
		}
		rows, err := s.UsageSummary(ctx, "key", time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Requests != total || rows[0].InputTokens != total {
			t.Fatalf("summary %+v, want %d requests and input tokens", rows, total)
		}
	})
}

func TestChunkLevel(t *testing.T) {
	for n, want := range map[int]int{1: 6, 2: 5, 3: 5, 63: 1, 64: 0, 65: 0, 1000: 0} {
		if got := chunkLevel(n); got != want {
			t.Errorf("chunkLevel(%d) = %d, want %d", n, got, want)
		}
	}
}
