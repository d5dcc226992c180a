package admin

import (
	"time"

	"github.com/tidegate/tidegate/internal/store"
)

// The admin API's response bodies. Every field is always present (null or
// zero when unset) so scripts and dashboards can rely on the shape; the
// store's hashes never appear.

// Limits are the limit fields shared by keys, users and teams; 0 is no limit.
type Limits struct {
	RPM          int64   `json:"rpm"`
	RPH          int64   `json:"rph"`
	TPM          int64   `json:"tpm"`
	TPH          int64   `json:"tph"`
	BudgetUSD    float64 `json:"budget_usd"`
	BudgetPeriod string  `json:"budget_period"` // daily, monthly, total
}

// Key statuses.
const (
	StatusActive  = "active"
	StatusRevoked = "revoked"
	StatusExpired = "expired"
)

// Key is a virtual key as the API shows it.
type Key struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Prefix  string   `json:"prefix"`  // the secret's first characters, for recognising it
	Status  string   `json:"status"`  // active, revoked or expired
	Enabled bool     `json:"enabled"` // not revoked
	UserID  *string  `json:"user_id"`
	TeamID  *string  `json:"team_id"`
	Models  []string `json:"models"` // empty: every model
	Limits
	Metadata map[string]string `json:"metadata"`
	// PrevValidUntil is when the secret replaced by the last rotation stops
	// working; null when it already has.
	PrevValidUntil *time.Time `json:"prev_valid_until"`
	ExpiresAt      *time.Time `json:"expires_at"`
	RevokedAt      *time.Time `json:"revoked_at"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// KeyWithSecret answers a creation or a rotation: the only time the secret
// is shown.
type KeyWithSecret struct {
	Key
	Secret string `json:"key"`
}

// User is a user as the API shows it.
type User struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	TeamID *string  `json:"team_id"`
	Models []string `json:"models"`
	Limits
	Metadata  map[string]string `json:"metadata"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// Team is a team as the API shows it.
type Team struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Models []string `json:"models"`
	Limits
	Metadata  map[string]string `json:"metadata"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// List is the envelope of every list answer.
type List[T any] struct {
	Data []T `json:"data"`
}

// UsageRow is one group of a usage report.
type UsageRow struct {
	Group        string  `json:"group"` // key id, user id, team id, model or day (YYYY-MM-DD)
	Name         string  `json:"name"`  // the key's, user's or team's name ("" otherwise)
	Requests     int64   `json:"requests"`
	Refused      int64   `json:"refused"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	CostUSD      float64 `json:"cost_usd"`
}

// UsageTotals sum a report's rows.
type UsageTotals struct {
	Requests     int64   `json:"requests"`
	Refused      int64   `json:"refused"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	CostUSD      float64 `json:"cost_usd"`
}

// UsageReport answers GET /admin/usage.
type UsageReport struct {
	GroupBy string      `json:"group_by"`
	Since   time.Time   `json:"since"`
	Until   time.Time   `json:"until"`
	Data    []UsageRow  `json:"data"`
	Totals  UsageTotals `json:"totals"`
}

// LogPage answers GET /admin/logs; pass NextBefore as before= for the next
// (older) page; it is null on the last page.
type LogPage struct {
	Data       []store.LogEntry `json:"data"`
	NextBefore *int64           `json:"next_before"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func viewLimits(l store.Limits) Limits {
	p := l.BudgetPeriod
	if p == "" {
		p = store.PeriodTotal
	}
	return Limits{RPM: l.RPM, RPH: l.RPH, TPM: l.TPM, TPH: l.TPH, BudgetUSD: l.BudgetUSD, BudgetPeriod: p}
}

func list(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func meta(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func viewKey(k *store.Key, now time.Time) Key {
	v := Key{
		ID:        k.ID,
		Name:      k.Name,
		Prefix:    k.Prefix,
		Status:    StatusActive,
		Enabled:   k.RevokedAt == nil,
		UserID:    nullable(k.UserID),
		TeamID:    nullable(k.TeamID),
		Models:    list(k.Models),
		Limits:    viewLimits(k.Limits),
		Metadata:  meta(k.Metadata),
		ExpiresAt: utc(k.ExpiresAt),
		RevokedAt: utc(k.RevokedAt),
		CreatedAt: k.CreatedAt.UTC(),
		UpdatedAt: k.UpdatedAt.UTC(),
	}
	if k.PrevHash != "" && k.PrevUntil != nil && k.PrevUntil.After(now) {
		v.PrevValidUntil = utc(k.PrevUntil)
	}
	switch {
	case k.RevokedAt != nil:
		v.Status = StatusRevoked
	case k.ExpiresAt != nil && !k.ExpiresAt.After(now):
		v.Status = StatusExpired
	}
	return v
}

func viewUser(u *store.User) User {
	return User{
		ID:        u.ID,
		Name:      u.Name,
		TeamID:    nullable(u.TeamID),
		Models:    list(u.Models),
		Limits:    viewLimits(u.Limits),
		Metadata:  meta(u.Metadata),
		CreatedAt: u.CreatedAt.UTC(),
		UpdatedAt: u.UpdatedAt.UTC(),
	}
}

func viewTeam(t *store.Team) Team {
	return Team{
		ID:        t.ID,
		Name:      t.Name,
		Models:    list(t.Models),
		Limits:    viewLimits(t.Limits),
		Metadata:  meta(t.Metadata),
		CreatedAt: t.CreatedAt.UTC(),
		UpdatedAt: t.UpdatedAt.UTC(),
	}
}
