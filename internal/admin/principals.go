package admin

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tidegate/tidegate/internal/store"
)

// query returns r's query parameters, refusing any not in allowed (a typo
// such as group-by must not silently fall back to a default).
func query(r *http.Request, allowed ...string) (url.Values, *apiError) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, errf(http.StatusBadRequest, "invalid_request_error", "invalid_query", "malformed query string: "+err.Error())
	}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if !slices.Contains(allowed, k) {
			msg := k + ": unknown query parameter"
			if len(allowed) > 0 {
				msg += " (allowed: " + strings.Join(allowed, ", ") + ")"
			}
			return nil, &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "unknown_parameter", Param: k, Message: msg}
		}
	}
	return q, nil
}

// record points at the fields of a user or a team that the shared
// handlers read and write; team is nil for a team.
type record struct {
	id, name, team   *string
	models           *[]string
	limits           *store.Limits
	meta             *map[string]string
	created, updated *time.Time
}

func userRecord(u *store.User) record {
	return record{&u.ID, &u.Name, &u.TeamID, &u.Models, &u.Limits, &u.Metadata, &u.CreatedAt, &u.UpdatedAt}
}

func teamRecord(t *store.Team) record {
	return record{&t.ID, &t.Name, nil, &t.Models, &t.Limits, &t.Metadata, &t.CreatedAt, &t.UpdatedAt}
}

// principals serves users or teams: the same handlers over their own store
// calls and views. Users have a team ("team_id": a body field and a list
// filter, checked to exist); teams do not.
type principals[T, V any] struct {
	h      *handler
	what   string   // "user" or "team": ids, messages, logs
	extra  []string // body fields and list filters beyond the common ones
	record func(*T) record
	view   func(*T) V
	all    func(store.Store, context.Context) ([]T, error)
	one    func(store.Store, context.Context, string) (*T, error)
	insert func(store.Store, context.Context, *T) error
	save   func(store.Store, context.Context, *T) error
	remove func(store.Store, context.Context, string) error
	// inUse says what id still has that stops its deletion ("" if nothing).
	inUse func(ctx context.Context, id string) (string, error)
}

func newUsers(h *handler) *principals[store.User, User] {
	return &principals[store.User, User]{h: h, what: "user", extra: []string{"team_id"}, record: userRecord, view: viewUser,
		all: store.Store.ListUsers, one: store.Store.GetUser, insert: store.Store.CreateUser, save: store.Store.UpdateUser,
		remove: store.Store.DeleteUser, inUse: h.userInUse}
}

func newTeams(h *handler) *principals[store.Team, Team] {
	return &principals[store.Team, Team]{h: h, what: "team", record: teamRecord, view: viewTeam,
		all: store.Store.ListTeams, one: store.Store.GetTeam, insert: store.Store.CreateTeam, save: store.Store.UpdateTeam,
		remove: store.Store.DeleteTeam, inUse: h.teamInUse}
}

func (p *principals[T, V]) list(w http.ResponseWriter, r *http.Request, _ *call) {
	q, e := query(r, p.extra...)
	if e != nil {
		writeError(w, e)
		return
	}
	items, err := p.all(p.h.store, r.Context())
	if err != nil {
		p.h.storeError(w, r, err, p.what, "")
		return
	}
	slices.SortStableFunc(items, func(a, b T) int {
		ra, rb := p.record(&a), p.record(&b)
		return cmp.Or(ra.created.Compare(*rb.created), strings.Compare(*ra.id, *rb.id))
	})
	team := q.Get("team_id") // "" for teams: they refuse the parameter
	out := make([]V, 0, len(items))
	for i := range items {
		if team != "" && *p.record(&items[i]).team != team {
			continue
		}
		out = append(out, p.view(&items[i]))
	}
	writeJSON(w, http.StatusOK, List[V]{Data: out})
}

func (p *principals[T, V]) get(w http.ResponseWriter, r *http.Request, c *call) {
	v, err := p.one(p.h.store, r.Context(), c.id)
	if err != nil {
		p.h.storeError(w, r, err, p.what, c.id)
		return
	}
	writeJSON(w, http.StatusOK, p.view(v))
}

// apply sets rec's fields from b and checks them.
func (p *principals[T, V]) apply(b *body, rec record) *apiError {
	b.common(rec.name, rec.models, rec.limits, rec.meta)
	if rec.team != nil {
		b.string("team_id", rec.team)
	}
	return b.valid(rec.name, rec.limits)
}

func (p *principals[T, V]) create(w http.ResponseWriter, r *http.Request, c *call) {
	h, v := p.h, new(T)
	rec := p.record(v)
	if e := p.apply(readBody(r, withCommon(p.extra...)...), rec); e != nil {
		writeError(w, e)
		return
	}
	if rec.team != nil && !h.owners(w, r, nil, rec.team, false) {
		return
	}
	now := h.now()
	*rec.id, *rec.created, *rec.updated = newID(p.what), now, now
	if !h.committed(w, r, c, p.insert(h.store, r.Context(), v), p.what, *rec.id, "created", "name", *rec.name) {
		return
	}
	writeJSON(w, http.StatusCreated, p.view(v))
}

func (p *principals[T, V]) update(w http.ResponseWriter, r *http.Request, c *call) {
	h := p.h
	b := readBody(r, withCommon(p.extra...)...)
	if b.err != nil {
		writeError(w, b.err)
		return
	}
	v, err := p.one(h.store, r.Context(), c.id)
	if err != nil {
		h.storeError(w, r, err, p.what, c.id)
		return
	}
	rec := p.record(v)
	if e := p.apply(b, rec); e != nil {
		writeError(w, e)
		return
	}
	if b.has("team_id") && !h.owners(w, r, nil, rec.team, false) { // only users accept team_id
		return
	}
	if !h.committed(w, r, c, p.save(h.store, r.Context(), v), p.what, c.id, "updated") {
		return
	}
	writeJSON(w, http.StatusOK, p.view(v))
}

func (p *principals[T, V]) delete(w http.ResponseWriter, r *http.Request, c *call) {
	h, ctx := p.h, r.Context()
	if _, err := p.one(h.store, ctx, c.id); err != nil {
		h.storeError(w, r, err, p.what, c.id)
		return
	}
	busy, err := p.inUse(ctx, c.id)
	if err != nil {
		h.storeError(w, r, err, p.what, c.id)
		return
	}
	if busy != "" {
		writeError(w, conflict(busy))
		return
	}
	if !h.committed(w, r, c, p.remove(h.store, ctx, c.id), p.what, c.id, "deleted") {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) userInUse(ctx context.Context, id string) (string, error) {
	keys, err := h.store.ListKeys(ctx)
	if err != nil {
		return "", err
	}
	if n := countKeys(keys, func(k *store.Key) bool { return k.UserID == id }); n > 0 {
		return fmt.Sprintf("user %s still owns %d key(s); delete them or move them to another user first", id, n), nil
	}
	return "", nil
}

func (h *handler) teamInUse(ctx context.Context, id string) (string, error) {
	users, err := h.store.ListUsers(ctx)
	if err != nil {
		return "", err
	}
	keys, err := h.store.ListKeys(ctx)
	if err != nil {
		return "", err
	}
	nu := 0
	for i := range users {
		if users[i].TeamID == id {
			nu++
		}
	}
	nk := countKeys(keys, func(k *store.Key) bool { return k.TeamID == id })
	if nu > 0 || nk > 0 {
		return fmt.Sprintf("team %s still has %d user(s) and %d key(s); delete them or move them to another team first", id, nu, nk), nil
	}
	return "", nil
}

func countKeys(keys []store.Key, match func(*store.Key) bool) int {
	n := 0
	for i := range keys {
		if match(&keys[i]) {
			n++
		}
	}
	return n
}
