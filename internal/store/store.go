// Package store keeps tidegate's durable state — virtual keys, users,
// teams and the usage log — in embedded SQLite (the single-node default)
// or PostgreSQL (shared by replicas). Both implement Store; migrations are
// versioned and applied at Open.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNotFound is returned when a key, user or team does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned for a duplicate id (and, for keys, a duplicate
// hash). Names need not be unique.
var ErrConflict = errors.New("conflict")

// AnyVersion makes AddConfigVersion store its version whatever the newest
// one is.
const AnyVersion int64 = -1

// VersionConflictError is AddConfigVersion refusing a version made from one
// that is no longer the newest.
type VersionConflictError struct {
	After  int64 // the version the caller started from (0: none)
	Newest int64 // the newest stored version (0: none)
}

func (e *VersionConflictError) Error() string {
	return fmt.Sprintf("config version conflict: made from version %d, but the newest is %d", e.After, e.Newest)
}

// ErrStale is returned by Update* when the record changed since it was
// read (its UpdatedAt no longer matches): read it again and reapply.
var ErrStale = errors.New("changed by a concurrent update")

// Budget periods.
const (
	PeriodTotal   = "total"
	PeriodDaily   = "daily"
	PeriodMonthly = "monthly"
)

// Limits are shared by keys, users and teams. Zero means no limit.
type Limits struct {
	RPM          int64   `json:"rpm,omitempty"` // requests per minute
	RPH          int64   `json:"rph,omitempty"` // requests per hour
	TPM          int64   `json:"tpm,omitempty"` // tokens per minute
	TPH          int64   `json:"tph,omitempty"` // tokens per hour
	BudgetUSD    float64 `json:"budget_usd,omitempty"`
	BudgetPeriod string  `json:"budget_period,omitempty"` // total (default), daily, monthly
}

// Key is a virtual key. The secret itself is never stored: Hash is the hex
// SHA-256 of the secret, Prefix its first characters for display.
type Key struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Prefix   string            `json:"prefix"`
	Hash     string            `json:"-"`
	UserID   string            `json:"user_id,omitempty"`
	TeamID   string            `json:"team_id,omitempty"`
	Models   []string          `json:"models,omitempty"` // public names, wildcards allowed; empty = all
	Limits                     // inline
	Metadata map[string]string `json:"metadata,omitempty"`
	// PrevHash stays valid until PrevUntil after a rotation with grace.
	PrevHash  string     `json:"-"`
	PrevUntil *time.Time `json:"prev_valid_until,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// User owns keys and may belong to a team.
type User struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	TeamID    string            `json:"team_id,omitempty"`
	Models    []string          `json:"models,omitempty"`
	Limits                      // inline
	Metadata  map[string]string `json:"metadata,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// Team groups users and keys.
type Team struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Models    []string          `json:"models,omitempty"`
	Limits                      // inline
	Metadata  map[string]string `json:"metadata,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// Usage is one request's record in the usage log.
type Usage struct {
	Time             time.Time `json:"time"`
	RequestID        string    `json:"request_id"`
	KeyID            string    `json:"key_id,omitempty"`
	UserID           string    `json:"user_id,omitempty"`
	TeamID           string    `json:"team_id,omitempty"`
	Model            string    `json:"model"`                    // public name
	Provider         string    `json:"provider,omitempty"`       // empty when refused before routing
	UpstreamModel    string    `json:"upstream_model,omitempty"` //
	InputTokens      int64     `json:"input_tokens"`
	OutputTokens     int64     `json:"output_tokens"`
	CacheReadTokens  int64     `json:"cache_read_tokens"`
	CacheWriteTokens int64     `json:"cache_write_tokens"`
	CostUSD          float64   `json:"cost_usd"`
	LatencyMS        int64     `json:"latency_ms"`
	Status           int       `json:"status"`
	// Refused: the gateway answered without reaching a provider (auth,
	// limits, budget, policy).
	Refused bool   `json:"refused"`
	Error   string `json:"error,omitempty"`
	// CacheHit: answered from the response cache (no provider, no cost).
	CacheHit bool `json:"cache_hit,omitempty"`
}

// UsageRow is one group of an aggregate.
type UsageRow struct {
	Group        string  `json:"group"`          // key id, user id, team id, model, or day (YYYY-MM-DD)
	Name         string  `json:"name,omitempty"` // the key's, user's or team's name
	Requests     int64   `json:"requests"`       // requests that reached a provider
	Refused      int64   `json:"refused"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	CostUSD      float64 `json:"cost_usd"`
}

// LogFilter selects usage records, newest first.
type LogFilter struct {
	KeyID  string
	Model  string
	Status int
	Since  time.Time
	Until  time.Time
	Limit  int   // default 100, at most 1000
	Before int64 // cursor: the Seq of the last record of the previous page
}

// LogEntry is a usage record with its position for paging.
type LogEntry struct {
	Seq int64 `json:"seq"`
	Usage
}

// Config version sources: who made a version.
const (
	SourceFile     = "file"     // the config file at start, on change or SIGHUP
	SourceAPI      = "api"      // PUT /admin/config
	SourceRollback = "rollback" // POST /admin/config/rollback/{version}
)

// ConfigVersion is one version of the gateway's configuration: the YAML
// as written (${VAR} references unexpanded, secrets included: the admin API
// masks them), numbered in order.
type ConfigVersion struct {
	Version   int64     `json:"version"`
	Author    string    `json:"author"` // admin key name, or "file"
	Source    string    `json:"source"` // SourceFile, SourceAPI or SourceRollback
	YAML      string    `json:"-"`
	Hash      string    `json:"hash"` // hex SHA-256 of YAML
	CreatedAt time.Time `json:"created_at"`
}

// Store is the durable state. Implementations are safe for concurrent use.
//
// Times are stored in UTC at microsecond precision. Create* and Update*
// normalise the record they are given to exactly what Get* reads back:
// UTC times truncated to the microsecond, nil for empty Models and
// Metadata. Create* sets CreatedAt (and UpdatedAt to it) when zero and
// requires an ID (and, for keys, a Hash). Update* replaces every field but
// CreatedAt, which it reads back, and sets UpdatedAt to now, provided the
// stored UpdatedAt is still the one in the record (else ErrStale). Errors
// wrap ErrNotFound, ErrConflict and ErrStale (errors.Is). Deleting a user or team leaves
// the keys and usage that name it as they are.
//
// Lists are never nil, so they encode as [] in JSON. A zero since/until
// (UsageSummary, LogFilter) leaves that side of the range open.
type Store interface {
	CreateKey(ctx context.Context, k *Key) error
	GetKey(ctx context.Context, id string) (*Key, error)
	// KeyByHash finds the key whose Hash, or whose PrevHash while PrevUntil
	// is after now, equals hash. Revoked and expired keys are returned too:
	// the caller decides.
	KeyByHash(ctx context.Context, hash string, now time.Time) (*Key, error)
	ListKeys(ctx context.Context) ([]Key, error)
	UpdateKey(ctx context.Context, k *Key) error
	DeleteKey(ctx context.Context, id string) error

	CreateUser(ctx context.Context, u *User) error
	GetUser(ctx context.Context, id string) (*User, error)
	ListUsers(ctx context.Context) ([]User, error)
	UpdateUser(ctx context.Context, u *User) error
	DeleteUser(ctx context.Context, id string) error

	CreateTeam(ctx context.Context, t *Team) error
	GetTeam(ctx context.Context, id string) (*Team, error)
	ListTeams(ctx context.Context) ([]Team, error)
	UpdateTeam(ctx context.Context, t *Team) error
	DeleteTeam(ctx context.Context, id string) error

	// InsertUsage appends records in one transaction (all or none); a zero
	// Time is stored as now. The records are not modified.
	InsertUsage(ctx context.Context, records []Usage) error
	// UsageSummary aggregates records with Time in [since, until) by
	// groupBy: "key", "user", "team", "model" or "day".
	UsageSummary(ctx context.Context, groupBy string, since, until time.Time) ([]UsageRow, error)
	// Logs pages through records, newest first.
	Logs(ctx context.Context, f LogFilter) ([]LogEntry, error)
	// Stats aggregates records over time buckets (requests, errors,
	// tokens, cost, latency percentiles), oldest first, with the totals
	// of the whole range.
	Stats(ctx context.Context, f StatsFilter) ([]StatsRow, StatsRow, error)
	// Spend sums CostUSD of records of one key, user or team (scope "key",
	// "user", "team") since a time; used to seed budget counters.
	Spend(ctx context.Context, scope, id string, since time.Time) (float64, error)

	// PutResponse stores one turn of a Responses API conversation; a
	// duplicate id is ErrConflict. GetResponse reads a turn back with
	// Items holding the whole conversation up to it: the items of every
	// turn of its PreviousID chain, oldest first (ErrNotFound when the
	// turn, or one before it, does not exist). GetResponseTurn reads one
	// turn alone, with only its own Items. Both treat turns created
	// before since as gone (a zero since: none is).
	PutResponse(ctx context.Context, r *StoredResponse) error
	GetResponse(ctx context.Context, id string, since time.Time) (*StoredResponse, error)
	GetResponseTurn(ctx context.Context, id string, since time.Time) (*StoredResponse, error)
	// DeleteResponse deletes one turn (ErrNotFound when there is none);
	// the turns that continued it stay, but their conversation is broken.
	DeleteResponse(ctx context.Context, id string) error
	// PurgeResponses deletes up to limit turns created before before,
	// oldest first, and returns how many it deleted.
	PurgeResponses(ctx context.Context, before time.Time, limit int) (int64, error)

	// AddConfigVersion stores v as the newest version, setting Version,
	// Hash and CreatedAt, and tells every WatchConfig (PostgreSQL: NOTIFY
	// in the same transaction). Unless after is AnyVersion, it stores v
	// only while the newest version is after (0: none yet) and returns a
	// *VersionConflictError otherwise; the check and the insert are one
	// step for every process sharing the store.
	AddConfigVersion(ctx context.Context, v *ConfigVersion, after int64) error
	// ConfigVersion returns one version.
	ConfigVersion(ctx context.Context, version int64) (*ConfigVersion, error)
	// LatestConfigVersion returns the newest version from source ("": any),
	// or ErrNotFound.
	LatestConfigVersion(ctx context.Context, source string) (*ConfigVersion, error)
	// ConfigVersions lists up to limit versions older than before (0: the
	// newest), newest first.
	ConfigVersions(ctx context.Context, limit int, before int64) ([]ConfigVersion, error)
	// WatchConfig calls changed (from its own goroutine, one call at a
	// time) whenever a version may have been added by any process, until
	// ctx ends: PostgreSQL LISTEN/NOTIFY (and once after each reconnect),
	// SQLite a check of the newest version every second.
	WatchConfig(ctx context.Context, changed func()) error

	Close() error
}

// StoredResponse is one turn of a Responses API conversation, kept so
// that a later request can continue from it with previous_response_id.
// Each turn stores only its own items (its request's input, then its
// output) and the turn it continued, so a long conversation costs its
// length, not its length squared.
type StoredResponse struct {
	ID         string
	PreviousID string // the turn this one continued; "" for the first
	KeyID      string // the virtual key that created it; only that key reads it ("" without keys)
	Model      string // public model name
	// Items is a JSON array of Responses input items.
	Items []byte
	// Response is the Response object as the caller received it ("" for
	// turns stored before migration 6). GetResponse fills it for the turn
	// asked for only.
	Response  []byte
	CreatedAt time.Time
}
