// Package admin serves tidegate's admin REST API under /admin/: virtual
// keys, users, teams, usage aggregates and the usage log. Every request
// carries an admin key (Authorization: Bearer); keys with scope "read" may
// only GET, keys with scope "admin" may do everything. Errors are JSON
// {"error":{"message","type","code","param"}} with the matching status.
package admin

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidegate/tidegate/internal/store"
)

// Admin key scopes.
const (
	ScopeRead  = "read"  // GET only
	ScopeAdmin = "admin" // everything
)

// AdminKey is a credential for the admin API. An empty Scope means read;
// a key with an empty Secret or an unknown Scope is ignored (and logged).
type AdminKey struct {
	Name   string // shown in logs as who made a change
	Secret string
	Scope  string // ScopeRead or ScopeAdmin
}

// Options configure the admin API.
type Options struct {
	Store     store.Store
	AdminKeys []AdminKey
	// Now is the clock (default time.Now); tests pass a fake one.
	Now    func() time.Time
	Logger *slog.Logger // default: discard
	// OnChange, when set, is called after every successful mutation of a
	// key, user or team (create, update, revoke, rotate, delete), e.g. to
	// invalidate caches of the request path.
	OnChange func()
	// Config serves /admin/config (GET, PUT, PUT ?dry_run=true),
	// /admin/config/history, /admin/config/history/{version} and
	// /admin/config/rollback/{version}; nil: not served.
	Config ConfigService
	// Writes, when set, serialises mutations with other handlers that
	// share it (one per config version while a reload swaps them).
	Writes *sync.Mutex
}

// maxBody bounds admin request bodies.
const maxBody = 1 << 20

type handler struct {
	store    store.Store
	keys     []adminKey
	users    *principals[store.User, User]
	teams    *principals[store.Team, Team]
	now      func() time.Time
	log      *slog.Logger
	onChange func()
	config   ConfigService
	// writes serialises mutations in this process: they read, change and
	// write whole records, so a PATCH racing a rotation could otherwise
	// write the old hash back.
	writes *sync.Mutex
}

type adminKey struct {
	name  string
	scope string
	sum   [sha256.Size]byte
}

// New returns the admin API handler; mount it at "/admin/".
func New(opts Options) http.Handler {
	h := &handler{store: opts.Store, now: opts.Now, log: opts.Logger, onChange: opts.OnChange, config: opts.Config, writes: opts.Writes}
	if h.writes == nil {
		h.writes = new(sync.Mutex)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	for i, k := range opts.AdminKeys {
		scope := k.Scope
		if scope == "" {
			scope = ScopeRead
		}
		switch {
		case k.Secret == "":
			h.log.Warn("admin key ignored: empty secret", "index", i, "name", k.Name)
			continue
		case scope != ScopeRead && scope != ScopeAdmin:
			h.log.Error("admin key ignored: unknown scope (want read or admin)", "index", i, "name", k.Name, "scope", k.Scope)
			continue
		}
		name := k.Name
		if name == "" {
			name = "admin-key-" + strconv.Itoa(i)
		}
		h.keys = append(h.keys, adminKey{name: name, scope: scope, sum: sha256.Sum256([]byte(k.Secret))})
	}
	h.users, h.teams = newUsers(h), newTeams(h)
	return h
}

// authenticate finds the admin key presented by r. Every configured key is
// compared, in constant time over fixed-length digests, so timing reveals
// neither which key matched nor how much of one did.
func (h *handler) authenticate(r *http.Request) (*adminKey, *apiError) {
	if len(h.keys) == 0 {
		return nil, errf(http.StatusUnauthorized, "authentication_error", "admin_disabled",
			"the admin API is disabled: no admin key is configured; set TIDEGATE_ADMIN_KEY (or admin keys in the config) and restart")
	}
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	token = strings.TrimSpace(token)
	if auth == "" || !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, errf(http.StatusUnauthorized, "authentication_error", "missing_admin_key",
			"missing admin key: send Authorization: Bearer <admin key>")
	}
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i := range h.keys {
		if subtle.ConstantTimeCompare(sum[:], h.keys[i].sum[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return nil, errf(http.StatusUnauthorized, "authentication_error", "invalid_admin_key", "invalid admin key")
	}
	return &h.keys[found], nil
}

// route is one endpoint: a handler per method.
type route map[string]func(w http.ResponseWriter, r *http.Request, c *call)

// call carries what a handler needs besides the request.
type call struct {
	id  string    // the {id} path segment, if any
	who *adminKey // the authenticated admin key
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	who, aerr := h.authenticate(r)
	if aerr != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tidegate-admin"`)
		writeError(w, aerr)
		return
	}
	rt, id := h.match(r.URL.Path)
	if rt == nil {
		writeError(w, errf(http.StatusNotFound, "not_found_error", "not_found", "no admin endpoint at "+r.URL.Path))
		return
	}
	fn, ok := rt[r.Method]
	if !ok {
		methods := make([]string, 0, len(rt))
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if rt[m] != nil {
				methods = append(methods, m)
			}
		}
		w.Header().Set("Allow", strings.Join(methods, ", "))
		writeError(w, errf(http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed",
			r.Method+" is not allowed on "+r.URL.Path+" (allowed: "+strings.Join(methods, ", ")+")"))
		return
	}
	if r.Method != http.MethodGet && who.scope != ScopeAdmin {
		writeError(w, errf(http.StatusForbidden, "permission_error", "insufficient_scope",
			"admin key \""+who.name+"\" has scope \"read\": only GET is allowed"))
		return
	}
	if r.Method != http.MethodGet {
		// Read the body before taking the lock: a slow client must not
		// hold up other changes.
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				writeError(w, errf(http.StatusRequestEntityTooLarge, "invalid_request_error", "body_too_large", "request body is larger than 1 MiB"))
			} else {
				writeError(w, errf(http.StatusBadRequest, "invalid_request_error", "invalid_body", "cannot read the request body: "+err.Error()))
			}
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(data))
		h.writes.Lock()
		defer h.writes.Unlock()
	}
	fn(w, r, &call{id: id, who: who})
}

// match resolves a path to its route and {id}.
func (h *handler) match(path string) (route, string) {
	rest, ok := strings.CutPrefix(path, "/admin/")
	if !ok {
		return nil, ""
	}
	rest = strings.TrimSuffix(rest, "/")
	parts := strings.Split(rest, "/")
	for _, p := range parts {
		if p == "" {
			return nil, ""
		}
	}
	if parts[0] == "config" {
		return h.configRoute(parts)
	}
	switch {
	case len(parts) == 1:
		switch parts[0] {
		case "keys":
			return route{http.MethodGet: h.listKeys, http.MethodPost: h.createKey}, ""
		case "users":
			return route{http.MethodGet: h.users.list, http.MethodPost: h.users.create}, ""
		case "teams":
			return route{http.MethodGet: h.teams.list, http.MethodPost: h.teams.create}, ""
		case "usage":
			return route{http.MethodGet: h.usage}, ""
		case "logs":
			return route{http.MethodGet: h.logs}, ""
		case "stats":
			return route{http.MethodGet: h.stats}, ""
		}
	case len(parts) == 2:
		switch parts[0] {
		case "keys":
			return route{http.MethodGet: h.getKey, http.MethodPatch: h.updateKey, http.MethodDelete: h.deleteKey}, parts[1]
		case "users":
			return route{http.MethodGet: h.users.get, http.MethodPatch: h.users.update, http.MethodDelete: h.users.delete}, parts[1]
		case "teams":
			return route{http.MethodGet: h.teams.get, http.MethodPatch: h.teams.update, http.MethodDelete: h.teams.delete}, parts[1]
		}
	case len(parts) == 3 && parts[0] == "keys":
		switch parts[2] {
		case "revoke":
			return route{http.MethodPost: h.revokeKey}, parts[1]
		case "rotate":
			return route{http.MethodPost: h.rotateKey}, parts[1]
		}
	}
	return nil, ""
}

// committed ends a mutation of what id with the store's err: a failure is
// answered (false); a success runs the OnChange hook and is logged as
// "admin: <what> <event>" with attrs.
func (h *handler) committed(w http.ResponseWriter, r *http.Request, c *call, err error, what, id, event string, attrs ...any) bool {
	if err != nil {
		h.storeError(w, r, err, what, id)
		return false
	}
	if h.onChange != nil {
		h.onChange()
	}
	h.log.Info("admin: "+what+" "+event, append(append([]any{"id", id}, attrs...), "by", c.who.name)...)
	return true
}
