package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sqlStore implements Store on either backend. Every value reaches the
// database as a bind parameter; SQL text is only ever built from the
// constant fragments below.
type sqlStore struct{ db db }

func (s *sqlStore) Close() error { return s.db.close() }

// now and utc give times as stored: UTC, microsecond precision, so that
// what Create returns in the caller's struct equals what Get reads back.
func now() time.Time { return utc(time.Now()) }

func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// --- keys, users, teams ---

// entity describes one of the keys, users and teams tables. fields returns
// pointers to a record's fields in column order: they are scan destinations,
// and bind arguments too (both drivers dereference pointers, nil is NULL).
// "id" is the first column and "created_at" the last.
type entity[T any] struct {
	noun   string
	fields func(*T, *jsonText) []any
	common func(*T) common
	// SQL, built by newEntity.
	insert, update, get, list, del string
}

// common points at the fields every entity has.
type common struct {
	id               *string
	models           *[]string
	metadata         *map[string]string
	created, updated *time.Time
	optional         []**time.Time // nullable times
}

func newEntity[T any](table, noun string, cols []string, fields func(*T, *jsonText) []any, c func(*T) common) *entity[T] {
	ph := make([]string, len(cols))
	set := make([]string, 0, len(cols))
	for i, col := range cols {
		ph[i] = "$" + strconv.Itoa(i+1)
		if i > 0 && i < len(cols)-1 { // not id, not created_at
			set = append(set, col+" = "+ph[i])
		}
	}
	list := strings.Join(cols, ", ")
	return &entity[T]{
		noun: noun, fields: fields, common: c,
		insert: "INSERT INTO " + table + " (" + list + ") VALUES (" + strings.Join(ph, ", ") + ")",
		// The created_at placeholder, unused by an update, holds the
		// updated_at the caller read: a record changed since is not found.
		update: "UPDATE " + table + " SET " + strings.Join(set, ", ") + " WHERE id = $1 AND updated_at = " +
			ph[len(cols)-1] + " RETURNING created_at",
		get:  "SELECT " + list + " FROM " + table + " WHERE id = $1",
		list: "SELECT " + list + " FROM " + table + " ORDER BY created_at, id",
		del:  "DELETE FROM " + table + " WHERE id = $1",
	}
}

var limitCols = []string{"rpm", "rph", "tpm", "tph", "budget_usd", "budget_period"}

func limitFields(l *Limits) []any {
	return []any{&l.RPM, &l.RPH, &l.TPM, &l.TPH, &l.BudgetUSD, &l.BudgetPeriod}
}

var keys = newEntity("keys", "key",
	slices.Concat([]string{"id", "name", "prefix", "hash", "prev_hash", "prev_until", "user_id", "team_id", "models"},
		limitCols, []string{"metadata", "expires_at", "revoked_at", "updated_at", "created_at"}),
	func(k *Key, j *jsonText) []any {
		return slices.Concat([]any{&k.ID, &k.Name, &k.Prefix, &k.Hash, &k.PrevHash, &k.PrevUntil, &k.UserID, &k.TeamID, &j.models},
			limitFields(&k.Limits), []any{&j.metadata, &k.ExpiresAt, &k.RevokedAt, &k.UpdatedAt, &k.CreatedAt})
	},
	func(k *Key) common {
		return common{&k.ID, &k.Models, &k.Metadata, &k.CreatedAt, &k.UpdatedAt,
			[]**time.Time{&k.PrevUntil, &k.ExpiresAt, &k.RevokedAt}}
	})

var users = newEntity("users", "user",
	slices.Concat([]string{"id", "name", "team_id", "models"}, limitCols, []string{"metadata", "updated_at", "created_at"}),
	func(u *User, j *jsonText) []any {
		return slices.Concat([]any{&u.ID, &u.Name, &u.TeamID, &j.models},
			limitFields(&u.Limits), []any{&j.metadata, &u.UpdatedAt, &u.CreatedAt})
	},
	func(u *User) common { return common{&u.ID, &u.Models, &u.Metadata, &u.CreatedAt, &u.UpdatedAt, nil} })

var teams = newEntity("teams", "team",
	slices.Concat([]string{"id", "name", "models"}, limitCols, []string{"metadata", "updated_at", "created_at"}),
	func(t *Team, j *jsonText) []any {
		return slices.Concat([]any{&t.ID, &t.Name, &j.models},
			limitFields(&t.Limits), []any{&j.metadata, &t.UpdatedAt, &t.CreatedAt})
	},
	func(t *Team) common { return common{&t.ID, &t.Models, &t.Metadata, &t.CreatedAt, &t.UpdatedAt, nil} })

// jsonText holds the JSON columns of a row.
type jsonText struct{ models, metadata string }

// normalize puts a record in the form it has when read back: UTC times at
// microsecond precision, nil for empty models and metadata.
func (c common) normalize() {
	*c.created, *c.updated = utc(*c.created), utc(*c.updated)
	for _, p := range c.optional {
		if *p != nil {
			t := utc(**p)
			*p = &t
		}
	}
	if len(*c.models) == 0 {
		*c.models = nil
	}
	if len(*c.metadata) == 0 {
		*c.metadata = nil
	}
}

func (j *jsonText) encode(c common) error {
	m, err := json.Marshal(*c.models)
	if err != nil {
		return err
	}
	md, err := json.Marshal(*c.metadata)
	if err != nil {
		return err
	}
	j.models, j.metadata = string(m), string(md)
	if *c.models == nil {
		j.models = "[]"
	}
	if *c.metadata == nil {
		j.metadata = "{}"
	}
	return nil
}

func (j *jsonText) decode(c common) error {
	if err := json.Unmarshal([]byte(j.models), c.models); err != nil {
		return fmt.Errorf("store: models of %q: %w", *c.id, err)
	}
	if err := json.Unmarshal([]byte(j.metadata), c.metadata); err != nil {
		return fmt.Errorf("store: metadata of %q: %w", *c.id, err)
	}
	c.normalize()
	return nil
}

func create[T any](ctx context.Context, s *sqlStore, e *entity[T], v *T) error {
	c := e.common(v)
	if *c.id == "" {
		return fmt.Errorf("store: %s id is required", e.noun)
	}
	if c.created.IsZero() {
		*c.created = now()
	}
	if c.updated.IsZero() {
		*c.updated = *c.created
	}
	c.normalize()
	var j jsonText
	if err := j.encode(c); err != nil {
		return err
	}
	if _, err := s.db.exec(ctx, e.insert, e.fields(v, &j)...); err != nil {
		if isUnique(err) {
			return fmt.Errorf("store: %s %q: %w", e.noun, *c.id, ErrConflict)
		}
		return fmt.Errorf("store: create %s: %w", e.noun, err)
	}
	return nil
}

// scanInto returns a row callback that reads one record into v.
func scanInto[T any](e *entity[T], v *T) func(func(...any) error) error {
	return func(scan func(...any) error) error {
		var j jsonText
		if err := scan(e.fields(v, &j)...); err != nil {
			return err
		}
		return j.decode(e.common(v))
	}
}

// one returns the single record q selects, or ErrNotFound.
func one[T any](ctx context.Context, s *sqlStore, e *entity[T], what, q string, args ...any) (*T, error) {
	var v *T
	err := s.db.query(ctx, q, args, func(scan func(...any) error) error {
		v = new(T)
		return scanInto(e, v)(scan)
	})
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", e.noun, err)
	}
	if v == nil {
		return nil, fmt.Errorf("store: %s %s: %w", e.noun, what, ErrNotFound)
	}
	return v, nil
}

func list[T any](ctx context.Context, s *sqlStore, e *entity[T]) ([]T, error) {
	out := []T{}
	err := s.db.query(ctx, e.list, nil, func(scan func(...any) error) error {
		var v T
		if err := scanInto(e, &v)(scan); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: list %ss: %w", e.noun, err)
	}
	return out, nil
}

// update replaces every field but CreatedAt, sets UpdatedAt to now, and
// reads CreatedAt back into v. It is a compare-and-swap on UpdatedAt: when
// the record changed after v was read, it fails with ErrStale and v's
// UpdatedAt is left as it was.
func update[T any](ctx context.Context, s *sqlStore, e *entity[T], v *T) error {
	c := e.common(v)
	read := utc(*c.updated)
	*c.updated = now()
	c.normalize()
	var j jsonText
	if err := j.encode(c); err != nil {
		return err
	}
	args := e.fields(v, &j)
	args[len(args)-1] = read // created_at is not written; see entity.update
	found := false
	err := s.db.tx(ctx, func(q querier) error {
		return q.query(ctx, e.update, args, func(scan func(...any) error) error {
			found = true
			return scan(c.created)
		})
	})
	switch {
	case isUnique(err):
		return fmt.Errorf("store: %s %q: %w", e.noun, *c.id, ErrConflict)
	case err != nil:
		return fmt.Errorf("store: update %s: %w", e.noun, err)
	case !found:
		*c.updated = read
		if _, err := one(ctx, s, e, strconv.Quote(*c.id), e.get, *c.id); err != nil {
			return err
		}
		return fmt.Errorf("store: %s %q: %w", e.noun, *c.id, ErrStale)
	}
	return nil
}

func remove[T any](ctx context.Context, s *sqlStore, e *entity[T], id string) error {
	n, err := s.db.exec(ctx, e.del, id)
	if err != nil {
		return fmt.Errorf("store: delete %s: %w", e.noun, err)
	}
	if n == 0 {
		return fmt.Errorf("store: %s %q: %w", e.noun, id, ErrNotFound)
	}
	return nil
}

func (s *sqlStore) CreateKey(ctx context.Context, k *Key) error {
	if k.Hash == "" {
		return fmt.Errorf("store: key hash is required")
	}
	return create(ctx, s, keys, k)
}

func (s *sqlStore) GetKey(ctx context.Context, id string) (*Key, error) {
	return one(ctx, s, keys, strconv.Quote(id), keys.get, id)
}

func (s *sqlStore) KeyByHash(ctx context.Context, hash string, now time.Time) (*Key, error) {
	if hash == "" {
		return nil, fmt.Errorf("store: key by hash: %w", ErrNotFound)
	}
	return one(ctx, s, keys, "by hash", keyByHashSQL, hash, utc(now))
}

// keyByHashSQL prefers a current hash over a previous one (they cannot
// collide in practice: hashes of 256-bit random secrets).
var keyByHashSQL = strings.Replace(keys.get, "WHERE id = $1",
	"WHERE hash = $1 OR (prev_hash = $1 AND prev_until > $2) ORDER BY CASE WHEN hash = $1 THEN 0 ELSE 1 END LIMIT 1", 1)

func (s *sqlStore) ListKeys(ctx context.Context) ([]Key, error) { return list(ctx, s, keys) }

func (s *sqlStore) UpdateKey(ctx context.Context, k *Key) error {
	if k.Hash == "" {
		return fmt.Errorf("store: key hash is required")
	}
	return update(ctx, s, keys, k)
}

func (s *sqlStore) DeleteKey(ctx context.Context, id string) error { return remove(ctx, s, keys, id) }

func (s *sqlStore) CreateUser(ctx context.Context, u *User) error { return create(ctx, s, users, u) }

func (s *sqlStore) GetUser(ctx context.Context, id string) (*User, error) {
	return one(ctx, s, users, strconv.Quote(id), users.get, id)
}

func (s *sqlStore) ListUsers(ctx context.Context) ([]User, error)   { return list(ctx, s, users) }
func (s *sqlStore) UpdateUser(ctx context.Context, u *User) error   { return update(ctx, s, users, u) }
func (s *sqlStore) DeleteUser(ctx context.Context, id string) error { return remove(ctx, s, users, id) }

func (s *sqlStore) CreateTeam(ctx context.Context, t *Team) error { return create(ctx, s, teams, t) }

func (s *sqlStore) GetTeam(ctx context.Context, id string) (*Team, error) {
	return one(ctx, s, teams, strconv.Quote(id), teams.get, id)
}

func (s *sqlStore) ListTeams(ctx context.Context) ([]Team, error)   { return list(ctx, s, teams) }
func (s *sqlStore) UpdateTeam(ctx context.Context, t *Team) error   { return update(ctx, s, teams, t) }
func (s *sqlStore) DeleteTeam(ctx context.Context, id string) error { return remove(ctx, s, teams, id) }

// --- usage ---

var usageColumns = []string{"time", "request_id", "key_id", "user_id", "team_id", "model", "provider",
	"upstream_model", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
	"cost_usd", "latency_ms", "status", "refused", "error", "cache_hit"}

// usageArgs points at u's fields in usageColumns order (bind arguments and
// scan destinations alike).
func usageArgs(u *Usage) []any {
	return []any{&u.Time, &u.RequestID, &u.KeyID, &u.UserID, &u.TeamID, &u.Model, &u.Provider,
		&u.UpstreamModel, &u.InputTokens, &u.OutputTokens, &u.CacheReadTokens, &u.CacheWriteTokens,
		&u.CostUSD, &u.LatencyMS, &u.Status, &u.Refused, &u.Error, &u.CacheHit}
}

// appendUsageValues appends u's fields in usageColumns order as plain
// values for SQLite: pointers would make database/sql convert each by
// reflection, and the time goes as the integer microseconds the driver
// would bind for it (_time_integer_format=unix_micro).
func appendUsageValues(args []any, u *Usage) []any {
	return append(args, u.Time.UnixMicro(), u.RequestID, u.KeyID, u.UserID, u.TeamID, u.Model, u.Provider,
		u.UpstreamModel, u.InputTokens, u.OutputTokens, u.CacheReadTokens, u.CacheWriteTokens,
		u.CostUSD, u.LatencyMS, int64(u.Status), u.Refused, u.Error, u.CacheHit)
}

// insertUsageRowsSQL is an INSERT of n rows with anonymous ? placeholders
// (SQLite only: it resolves each $N by name, in time linear in their number).
func insertUsageRowsSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO usage (" + strings.Join(usageColumns, ", ") + ") VALUES ")
	row := "(?" + strings.Repeat(", ?", len(usageColumns)-1) + ")"
	for r := range n {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

// InsertUsage stores times as UTC microseconds; a zero Time means now.
func (s *sqlStore) InsertUsage(ctx context.Context, records []Usage) error {
	if len(records) == 0 {
		return nil
	}
	recs := slices.Clone(records) // the caller's slice is left as it was
	t := now()
	for i := range recs {
		if recs[i].Time.IsZero() {
			recs[i].Time = t
		} else {
			recs[i].Time = utc(recs[i].Time)
		}
	}
	if err := s.db.insertUsage(ctx, recs); err != nil {
		return fmt.Errorf("store: insert usage: %w", err)
	}
	return nil
}

// where collects AND-ed conditions and their arguments.
type where struct {
	conds []string
	args  []any
}

// add appends cond, whose "?" becomes the argument's $N placeholder.
func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1))
}

// between restricts col to [since, until); a zero time leaves that side open.
func (w *where) between(col string, since, until time.Time) {
	if !since.IsZero() {
		w.add(col+" >= ?", utc(since))
	}
	if !until.IsZero() {
		w.add(col+" < ?", utc(until))
	}
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// UsageSummary treats a zero since or until as unbounded on that side.
func (s *sqlStore) UsageSummary(ctx context.Context, groupBy string, since, until time.Time) ([]UsageRow, error) {
	var group, names string
	switch groupBy {
	case "key":
		group, names = "u.key_id", "keys"
	case "user":
		group, names = "u.user_id", "users"
	case "team":
		group, names = "u.team_id", "teams"
	case "model":
		group = "u.model"
	case "day":
		group = s.db.dialect().day
	default:
		return nil, fmt.Errorf("store: usage summary: unknown group_by %q: want key, user, team, model or day", groupBy)
	}
	name, join := "''", ""
	if names != "" {
		name, join = "COALESCE(MAX(n.name), '')", " LEFT JOIN "+names+" n ON n.id = "+group
	}
	var w where
	w.between("u.time", since, until)
	q := "SELECT " + group + ", " + name + `,
		SUM(CASE WHEN u.refused THEN 0 ELSE 1 END),
		SUM(CASE WHEN u.refused THEN 1 ELSE 0 END),
		CAST(SUM(u.input_tokens) AS BIGINT),
		CAST(SUM(u.output_tokens) AS BIGINT),
		SUM(u.cost_usd)
	FROM usage u` + join + w.String() + " GROUP BY " + group + " ORDER BY " + group + s.db.dialect().collate

	out := []UsageRow{}
	err := s.db.query(ctx, q, w.args, func(scan func(...any) error) error {
		var r UsageRow
		if err := scan(&r.Group, &r.Name, &r.Requests, &r.Refused, &r.InputTokens, &r.OutputTokens, &r.CostUSD); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: usage summary: %w", err)
	}
	return out, nil
}

var logsSQL = "SELECT seq, " + strings.Join(usageColumns, ", ") + " FROM usage"

// Logs treats zero filter fields as "any".
func (s *sqlStore) Logs(ctx context.Context, f LogFilter) ([]LogEntry, error) {
	var w where
	if f.KeyID != "" {
		w.add("key_id = ?", f.KeyID)
	}
	if f.Model != "" {
		w.add("model = ?", f.Model)
	}
	if f.Status != 0 {
		w.add("status = ?", f.Status)
	}
	w.between("time", f.Since, f.Until)
	if f.Before > 0 {
		w.add("seq < ?", f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	q := logsSQL + w.String() + " ORDER BY seq DESC LIMIT $" + strconv.Itoa(len(w.args)+1)

	out := make([]LogEntry, 0, min(limit, 128))
	err := s.db.query(ctx, q, append(w.args, limit), func(scan func(...any) error) error {
		var e LogEntry
		if err := scan(append([]any{&e.Seq}, usageArgs(&e.Usage)...)...); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: logs: %w", err)
	}
	return out, nil
}

func (s *sqlStore) Spend(ctx context.Context, scope, id string, since time.Time) (float64, error) {
	if scope != "key" && scope != "user" && scope != "team" {
		return 0, fmt.Errorf("store: spend: unknown scope %q: want key, user or team", scope)
	}
	var sum float64
	err := s.db.query(ctx, "SELECT COALESCE(SUM(cost_usd), 0) FROM usage_spend WHERE scope = $1 AND id = $2 AND day >= $3",
		[]any{scope, id, epochDay(since)}, func(scan func(...any) error) error { return scan(&sum) })
	if err != nil {
		return 0, fmt.Errorf("store: spend: %w", err)
	}
	return sum, nil
}

// epochDay is t's UTC day as days since 1970-01-01 (usage_spend.day).
func epochDay(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt32
	}
	d := t.Unix() / 86400
	if t.Unix() < 0 && t.Unix()%86400 != 0 {
		d--
	}
	return d
}

// spendKey is one usage_spend row.
type spendKey struct {
	scope, id string
	day       int64
}

// addSpend adds the cost of rows to the daily spend of their key, user
// and team, which budgets are seeded from (so the usage log needs no index
// per scope, and a seed reads a few rows per day instead of every request).
func addSpend(ctx context.Context, q querier, rows []Usage) error {
	var sums map[spendKey]float64
	for i := range rows {
		u := &rows[i]
		if u.CostUSD <= 0 {
			continue
		}
		if sums == nil {
			sums = make(map[spendKey]float64)
		}
		day := epochDay(u.Time)
		for _, k := range [...]spendKey{{"key", u.KeyID, day}, {"user", u.UserID, day}, {"team", u.TeamID, day}} {
			if k.id != "" {
				sums[k] += u.CostUSD
			}
		}
	}
	for k, cost := range sums {
		if _, err := q.exec(ctx, `INSERT INTO usage_spend (scope, id, day, cost_usd) VALUES ($1, $2, $3, $4)
ON CONFLICT (scope, id, day) DO UPDATE SET cost_usd = usage_spend.cost_usd + excluded.cost_usd`,
			k.scope, k.id, k.day, cost); err != nil {
			return fmt.Errorf("usage_spend: %w", err)
		}
	}
	return nil
}

// --- stored responses ---

// maxConversation bounds the turns GetResponse follows.
const maxConversation = 10000

// PutResponse inserts r; CreatedAt defaults to now.
func (s *sqlStore) PutResponse(ctx context.Context, r *StoredResponse) error {
	if r.ID == "" || len(r.Items) == 0 {
		return fmt.Errorf("store: put response: id and items are required")
	}
	t := utc(r.CreatedAt)
	if r.CreatedAt.IsZero() {
		t = now()
	}
	_, err := s.db.exec(ctx, "INSERT INTO responses (id, previous_id, key_id, model, items, response, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
		r.ID, r.PreviousID, r.KeyID, r.Model, string(r.Items), string(r.Response), t)
	if isUnique(err) {
		return fmt.Errorf("store: response %q: %w", r.ID, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: put response: %w", err)
	}
	r.CreatedAt = t
	return nil
}

// getResponseSQL walks a conversation from a turn back to its first, in
// one query on both backends, skipping turns created before $3. Only the
// first row (the turn asked for) carries its Response object.
const getResponseSQL = `WITH RECURSIVE chain (id, previous_id, key_id, model, items, response, created_at, depth) AS (
	SELECT id, previous_id, key_id, model, items, response, created_at, 0 FROM responses WHERE id = $1 AND created_at >= $3
	UNION ALL
	SELECT r.id, r.previous_id, r.key_id, r.model, r.items, '', r.created_at, c.depth + 1
	FROM responses r JOIN chain c ON r.id = c.previous_id WHERE c.depth < $2 AND r.created_at >= $3
)
SELECT id, previous_id, key_id, model, items, response, created_at FROM chain ORDER BY depth`

// GetResponse reads a turn with the whole conversation up to it.
func (s *sqlStore) GetResponse(ctx context.Context, id string, since time.Time) (*StoredResponse, error) {
	turns, err := s.responseRows(ctx, getResponseSQL, id, maxConversation, utc(since))
	if err != nil {
		return nil, err
	}
	if len(turns) == 0 {
		return nil, fmt.Errorf("store: response %q: %w", id, ErrNotFound)
	}
	if first := turns[len(turns)-1]; first.PreviousID != "" {
		return nil, fmt.Errorf("store: response %q: an earlier turn (%q) is gone: %w", id, first.PreviousID, ErrNotFound)
	}
	head := turns[0]
	items := []byte{'['}
	for i := len(turns) - 1; i >= 0; i-- {
		items = appendArray(items, turns[i].Items)
	}
	head.Items = append(items, ']')
	return &head, nil
}

// GetResponseTurn reads one turn alone.
func (s *sqlStore) GetResponseTurn(ctx context.Context, id string, since time.Time) (*StoredResponse, error) {
	turns, err := s.responseRows(ctx, `SELECT id, previous_id, key_id, model, items, response, created_at
FROM responses WHERE id = $1 AND created_at >= $2`, id, utc(since))
	if err != nil {
		return nil, err
	}
	if len(turns) == 0 {
		return nil, fmt.Errorf("store: response %q: %w", id, ErrNotFound)
	}
	return &turns[0], nil
}

// responseRows runs a query that selects responses columns in
// StoredResponse order.
func (s *sqlStore) responseRows(ctx context.Context, q string, args ...any) ([]StoredResponse, error) {
	var turns []StoredResponse
	err := s.db.query(ctx, q, args, func(scan func(...any) error) error {
		var r StoredResponse
		var items, response string
		if err := scan(&r.ID, &r.PreviousID, &r.KeyID, &r.Model, &items, &response, &r.CreatedAt); err != nil {
			return err
		}
		r.Items = []byte(items)
		if response != "" {
			r.Response = []byte(response)
		}
		turns = append(turns, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: get response: %w", err)
	}
	return turns, nil
}

func (s *sqlStore) DeleteResponse(ctx context.Context, id string) error {
	n, err := s.db.exec(ctx, "DELETE FROM responses WHERE id = $1", id)
	if err != nil {
		return fmt.Errorf("store: delete response: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("store: response %q: %w", id, ErrNotFound)
	}
	return nil
}

// PurgeResponses deletes one bounded batch, found on the created_at
// index, so that a large backlog never holds a long lock.
func (s *sqlStore) PurgeResponses(ctx context.Context, before time.Time, limit int) (int64, error) {
	n, err := s.db.exec(ctx, `DELETE FROM responses WHERE id IN (
	SELECT id FROM responses WHERE created_at < $1 ORDER BY created_at LIMIT $2)`, utc(before), limit)
	if err != nil {
		return 0, fmt.Errorf("store: purge responses: %w", err)
	}
	return n, nil
}

// appendArray appends the elements of the JSON array arr to dst, an
// unterminated array ("[" or "[a,b").
func appendArray(dst, arr []byte) []byte {
	arr = bytes.TrimSpace(arr)
	if len(arr) < 2 || arr[0] != '[' {
		return dst
	}
	inner := bytes.TrimSpace(arr[1 : len(arr)-1])
	if len(inner) > 0 && len(dst) > 1 {
		dst = append(dst, ',')
	}
	return append(dst, inner...)
}
