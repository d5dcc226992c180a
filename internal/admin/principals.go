package admin

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

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

// Users.

func (h *handler) listUsers(w http.ResponseWriter, r *http.Request, _ *call) {
	q, e := query(r, "team_id")
	if e != nil {
		writeError(w, e)
		return
	}
	users, err := h.store.ListUsers(r.Context())
	if err != nil {
		h.storeError(w, r, err, "user", "")
		return
	}
	out := make([]User, 0, len(users))
	for i := range users {
		if t := q.Get("team_id"); t != "" && users[i].TeamID != t {
			continue
		}
		out = append(out, viewUser(&users[i]))
	}
	slices.SortStableFunc(out, func(a, b User) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	writeJSON(w, http.StatusOK, List[User]{Data: out})
}

func (h *handler) getUser(w http.ResponseWriter, r *http.Request, c *call) {
	u, err := h.store.GetUser(r.Context(), c.id)
	if err != nil {
		h.storeError(w, r, err, "user", c.id)
		return
	}
	writeJSON(w, http.StatusOK, viewUser(u))
}

func (h *handler) createUser(w http.ResponseWriter, r *http.Request, c *call) {
	b := readBody(r, withCommon("team_id")...)
	u := &store.User{}
	b.common(&u.Name, &u.Models, &u.Limits, &u.Metadata)
	b.string("team_id", &u.TeamID)
	if b.err != nil {
		writeError(w, b.err)
		return
	}
	if e := validateCommon(&u.Name, &u.Limits); e != nil {
		writeError(w, e)
		return
	}
	if !h.owners(w, r, nil, &u.TeamID, false) {
		return
	}
	now := h.now()
	u.ID, u.CreatedAt, u.UpdatedAt = newID("user"), now, now
	if err := h.store.CreateUser(r.Context(), u); err != nil {
		h.storeError(w, r, err, "user", u.ID)
		return
	}
	h.changed()
	h.log.Info("admin: user created", "id", u.ID, "name", u.Name, "by", c.who.name)
	writeJSON(w, http.StatusCreated, viewUser(u))
}

func (h *handler) updateUser(w http.ResponseWriter, r *http.Request, c *call) {
	b := readBody(r, withCommon("team_id")...)
	if b.err != nil {
		writeError(w, b.err)
		return
	}
	u, err := h.store.GetUser(r.Context(), c.id)
	if err != nil {
		h.storeError(w, r, err, "user", c.id)
		return
	}
	b.common(&u.Name, &u.Models, &u.Limits, &u.Metadata)
	b.string("team_id", &u.TeamID)
	if b.err != nil {
		writeError(w, b.err)
		return
	}
	if e := validateCommon(&u.Name, &u.Limits); e != nil {
		writeError(w, e)
		return
	}
	if b.has("team_id") && !h.owners(w, r, nil, &u.TeamID, false) {
		return
	}
	u.UpdatedAt = h.now()
	if err := h.store.UpdateUser(r.Context(), u); err != nil {
		h.storeError(w, r, err, "user", c.id)
		return
	}
	h.changed()
	h.log.Info("admin: user updated", "id", u.ID, "by", c.who.name)
	writeJSON(w, http.StatusOK, viewUser(u))
}

func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request, c *call) {
	if _, err := h.store.GetUser(r.Context(), c.id); err != nil {
		h.storeError(w, r, err, "user", c.id)
		return
	}
	keys, err := h.store.ListKeys(r.Context())
	if err != nil {
		h.storeError(w, r, err, "user", c.id)
		return
	}
	if n := countKeys(keys, func(k *store.Key) bool { return k.UserID == c.id }); n > 0 {
		writeError(w, conflict(fmt.Sprintf("user %s still owns %d key(s); delete them or move them to another user first", c.id, n)))
		return
	}
	if err := h.store.DeleteUser(r.Context(), c.id); err != nil {
		h.storeError(w, r, err, "user", c.id)
		return
	}
	h.changed()
	h.log.Info("admin: user deleted", "id", c.id, "by", c.who.name)
	w.WriteHeader(http.StatusNoContent)
}

// Teams.

func (h *handler) listTeams(w http.ResponseWriter, r *http.Request, _ *call) {
	if _, e := query(r); e != nil {
		writeError(w, e)
		return
	}
	teams, err := h.store.ListTeams(r.Context())
	if err != nil {
		h.storeError(w, r, err, "team", "")
		return
	}
	out := make([]Team, 0, len(teams))
	for i := range teams {
		out = append(out, viewTeam(&teams[i]))
	}
	slices.SortStableFunc(out, func(a, b Team) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	writeJSON(w, http.StatusOK, List[Team]{Data: out})
}

func (h *handler) getTeam(w http.ResponseWriter, r *http.Request, c *call) {
	t, err := h.store.GetTeam(r.Context(), c.id)
	if err != nil {
		h.storeError(w, r, err, "team", c.id)
		return
	}
	writeJSON(w, http.StatusOK, viewTeam(t))
}

func (h *handler) createTeam(w http.ResponseWriter, r *http.Request, c *call) {
	b := readBody(r, commonFields...)
	t := &store.Team{}
	b.common(&t.Name, &t.Models, &t.Limits, &t.Metadata)
	if b.err != nil {
		writeError(w, b.err)
		return
	}
	if e := validateCommon(&t.Name, &t.Limits); e != nil {
		writeError(w, e)
		return
	}
	now := h.now()
	t.ID, t.CreatedAt, t.UpdatedAt = newID("team"), now, now
	if err := h.store.CreateTeam(r.Context(), t); err != nil {
		h.storeError(w, r, err, "team", t.ID)
		return
	}
	h.changed()
	h.log.Info("admin: team created", "id", t.ID, "name", t.Name, "by", c.who.name)
	writeJSON(w, http.StatusCreated, viewTeam(t))
}

func (h *handler) updateTeam(w http.ResponseWriter, r *http.Request, c *call) {
	b := readBody(r, commonFields...)
	if b.err != nil {
		writeError(w, b.err)
		return
	}
	t, err := h.store.GetTeam(r.Context(), c.id)
	if err != nil {
		h.storeError(w, r, err, "team", c.id)
		return
	}
	b.common(&t.Name, &t.Models, &t.Limits, &t.Metadata)
	if b.err != nil {
		writeError(w, b.err)
		return
	}
	if e := validateCommon(&t.Name, &t.Limits); e != nil {
		writeError(w, e)
		return
	}
	t.UpdatedAt = h.now()
	if err := h.store.UpdateTeam(r.Context(), t); err != nil {
		h.storeError(w, r, err, "team", c.id)
		return
	}
	h.changed()
	h.log.Info("admin: team updated", "id", t.ID, "by", c.who.name)
	writeJSON(w, http.StatusOK, viewTeam(t))
}

func (h *handler) deleteTeam(w http.ResponseWriter, r *http.Request, c *call) {
	ctx := r.Context()
	if _, err := h.store.GetTeam(ctx, c.id); err != nil {
		h.storeError(w, r, err, "team", c.id)
		return
	}
	users, err := h.store.ListUsers(ctx)
	if err != nil {
		h.storeError(w, r, err, "team", c.id)
		return
	}
	keys, err := h.store.ListKeys(ctx)
	if err != nil {
		h.storeError(w, r, err, "team", c.id)
		return
	}
	nu := 0
	for i := range users {
		if users[i].TeamID == c.id {
			nu++
		}
	}
	nk := countKeys(keys, func(k *store.Key) bool { return k.TeamID == c.id })
	if nu > 0 || nk > 0 {
		writeError(w, conflict(fmt.Sprintf("team %s still has %d user(s) and %d key(s); delete them or move them to another team first", c.id, nu, nk)))
		return
	}
	if err := h.store.DeleteTeam(ctx, c.id); err != nil {
		h.storeError(w, r, err, "team", c.id)
		return
	}
	h.changed()
	h.log.Info("admin: team deleted", "id", c.id, "by", c.who.name)
	w.WriteHeader(http.StatusNoContent)
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
