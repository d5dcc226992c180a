package dashboard

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/tidegate/tidegate/internal/admin"
	"github.com/tidegate/tidegate/internal/dialect/openai"
	"github.com/tidegate/tidegate/internal/govern"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/store"
)

// Account is what GET /dashboard/api/me tells a key holder about their own
// key: never another key's id, name or usage. The user's and team's limits
// and budgets are shown because they bound this key's requests too.
type Account struct {
	Key     KeyInfo         `json:"key"`
	User    *Principal      `json:"user"`
	Team    *Principal      `json:"team"`
	Models  []string        `json:"models"` // the public models this key may call
	Budgets []govern.Budget `json:"budgets"`
	// Usage is this key's usage by day over the last 30 days.
	Usage *admin.StatsReport `json:"usage"`
	// Recent are this key's latest requests (newest first).
	Recent []store.LogEntry `json:"recent"`
}

// KeyInfo is the caller's key without its secret or hash.
type KeyInfo struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Prefix    string     `json:"prefix"`
	Models    []string   `json:"models"` // the key's own allowlist; empty: every model
	Limits    Limits     `json:"limits"`
	ExpiresAt *time.Time `json:"expires_at"`
	CreatedAt time.Time  `json:"created_at"`
}

// Principal is the caller's user or team, limits only.
type Principal struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Models []string `json:"models"`
	Limits Limits   `json:"limits"`
}

// Limits are rate limits and budget; 0 is no limit.
type Limits struct {
	RPM          int64   `json:"rpm"`
	RPH          int64   `json:"rph"`
	TPM          int64   `json:"tpm"`
	TPH          int64   `json:"tph"`
	BudgetUSD    float64 `json:"budget_usd"`
	BudgetPeriod string  `json:"budget_period"`
}

func limitsOf(l store.Limits) Limits {
	p := l.BudgetPeriod
	if p == "" {
		p = store.PeriodTotal
	}
	return Limits{RPM: l.RPM, RPH: l.RPH, TPM: l.TPM, TPH: l.TPH, BudgetUSD: l.BudgetUSD, BudgetPeriod: p}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// recentLimit is how many of the key's latest requests the account shows.
const recentLimit = 50

// me answers the account of the virtual key the request carries (as
// Authorization: Bearer, x-api-key or api-key, like the model endpoints).
func (h *handler) me(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		writeError(w, &llm.Error{Kind: llm.KindInvalidRequest, Code: "method_not_allowed", Message: r.Method + " is not allowed on " + r.URL.Path + " (allowed: GET)"}, http.StatusMethodNotAllowed)
		return
	}
	g := h.opt.Gate
	if g == nil || h.opt.Store == nil {
		writeError(w, &llm.Error{Kind: llm.KindNotFound, Message: "this gateway has no key store: set store (and auth: keys) to use virtual keys"}, 0)
		return
	}
	id, err := g.Identify(r.Context(), r.Header)
	if err != nil {
		writeError(w, llm.AsError(err), 0)
		return
	}
	if id == nil { // auth: none: keys are neither required nor checked
		writeError(w, &llm.Error{Kind: llm.KindAuthentication, Code: "invalid_api_key",
			Message: "this gateway does not check virtual keys (auth: none), so there is no account to show"}, 0)
		return
	}
	ctx := r.Context()
	acc := Account{
		Key: KeyInfo{ID: id.Key.ID, Name: id.Key.Name, Prefix: id.Key.Prefix, Models: orEmpty(id.Key.Models),
			Limits: limitsOf(id.Key.Limits), ExpiresAt: id.Key.ExpiresAt, CreatedAt: id.Key.CreatedAt},
		Models: []string{},
	}
	if u := id.User; u != nil {
		acc.User = &Principal{ID: u.ID, Name: u.Name, Models: orEmpty(u.Models), Limits: limitsOf(u.Limits)}
	}
	if t := id.Team; t != nil {
		acc.Team = &Principal{ID: t.ID, Name: t.Name, Models: orEmpty(t.Models), Limits: limitsOf(t.Limits)}
	}
	for _, m := range h.opt.Models {
		if id.Allows(m) {
			acc.Models = append(acc.Models, m)
		}
	}
	// The recent requests are read first: the usage log writes a batch
	// and its spend in one transaction, so a request listed here is also
	// in the usage and the budgets read after it.
	if acc.Recent, err = h.opt.Store.Logs(ctx, store.LogFilter{KeyID: id.Key.ID, Limit: recentLimit}); err == nil {
		until := h.opt.Now().UTC() // after the read: it covers every request listed
		acc.Usage, err = admin.StatsFor(ctx, h.opt.Store, store.StatsFilter{Bucket: store.BucketDay,
			Since: until.Add(-30 * 24 * time.Hour), Until: until, KeyID: id.Key.ID})
	}
	if err == nil {
		acc.Budgets, err = g.Budgets(ctx, id)
	}
	if err != nil {
		h.opt.Logger.Error("dashboard: account", "key", id.Key.ID, "error", err)
		writeError(w, &llm.Error{Kind: llm.KindInternal, Message: "cannot read the account right now", Err: err}, 0)
		return
	}
	body, err := json.Marshal(acc)
	if err != nil {
		writeError(w, &llm.Error{Kind: llm.KindInternal, Message: "cannot encode the account", Err: err}, 0)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// writeError answers in the OpenAI error format, as the model endpoints
// do for the same credentials; status 0 takes the error's own.
func writeError(w http.ResponseWriter, e *llm.Error, status int) {
	if status == 0 {
		status = e.HTTPStatus()
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tidegate"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(openai.EncodeError(e))
}
