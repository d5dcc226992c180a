// Package govern is the request-path half of governance: it identifies the
// caller from a virtual key, checks model allowlists, reserves rate limits
// and budget before a request is forwarded, settles them with the real
// usage afterwards, and records every request in the usage log.
package govern

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tidegate/tidegate/internal/store"
)

// Identity is an authenticated caller: its key and, when set, the key's
// user and team. A nil Identity is an anonymous caller (auth: none).
type Identity struct {
	Key  *store.Key
	User *store.User
	Team *store.Team

	// The policy view is built once per cached identity, not per request.
	varsOnce        sync.Once
	key, user, team map[string]any
	scopesOnce      sync.Once
	scopeList       []scope
}

// Vars renders the identity for policies (CEL key, user, team). The maps
// are shared: treat them as read-only.
func (id *Identity) Vars() (key, user, team map[string]any) {
	if id == nil {
		return nil, nil, nil
	}
	id.varsOnce.Do(func() {
		id.key = map[string]any{"id": id.Key.ID, "name": id.Key.Name, "user": id.Key.UserID, "team": id.Key.TeamID, "metadata": strMap(id.Key.Metadata)}
		if id.User != nil {
			id.user = map[string]any{"id": id.User.ID, "name": id.User.Name, "team": id.User.TeamID, "metadata": strMap(id.User.Metadata)}
		}
		if id.Team != nil {
			id.team = map[string]any{"id": id.Team.ID, "name": id.Team.Name, "metadata": strMap(id.Team.Metadata)}
		}
	})
	return id.key, id.user, id.team
}

func strMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// credential finds the caller's key in the headers real clients use:
// Authorization: Bearer (OpenAI SDKs, newer Anthropic SDKs), x-api-key
// (Anthropic SDK, Claude Code) or api-key (Azure-style clients).
func credential(h http.Header) string {
	if v := h.Get("Authorization"); v != "" {
		if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
			return strings.TrimSpace(v[7:])
		}
	}
	if v := h.Get("x-api-key"); v != "" {
		return strings.TrimSpace(v)
	}
	return strings.TrimSpace(h.Get("api-key"))
}

// cacheTTL bounds how stale a cached key, user or team may be: a revoked
// key stops working on every replica within this time (the issue allows
// 2 s), without a store round trip on every request.
const cacheTTL = time.Second

// identities caches lookups by key hash, including misses, for cacheTTL.
type identities struct {
	store store.Store
	now   func() time.Time
	mu    sync.Mutex
	byKey map[[sha256.Size]byte]cached // by the secret's SHA-256: no hex string per request
}

type cached struct {
	id      *Identity
	err     error
	expires time.Time
}

var (
	errNoKey      = errors.New("no API key")
	errUnknownKey = errors.New("unknown API key")
)

func newIdentities(s store.Store, now func() time.Time) *identities {
	return &identities{store: s, now: now, byKey: map[[sha256.Size]byte]cached{}}
}

// lookup returns the identity for a secret (cached), or errUnknownKey.
func (c *identities) lookup(ctx context.Context, secretText string) (*Identity, error) {
	sum := hashSecret(secretText)
	now := c.now()
	c.mu.Lock()
	e, ok := c.byKey[sum]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.id, e.err
	}
	id, err := c.load(ctx, hex.EncodeToString(sum[:]), now) // secret.Hash's form
	if err != nil && !errors.Is(err, errUnknownKey) {
		return nil, err // a store failure is not cached
	}
	c.mu.Lock()
	if len(c.byKey) > 100000 { // bound memory under a flood of random keys
		clear(c.byKey)
	}
	c.byKey[sum] = cached{id: id, err: err, expires: now.Add(cacheTTL)}
	c.mu.Unlock()
	return id, err
}

// hashSecret is the secret's SHA-256, hashed from a stack copy: a plain
// []byte conversion allocates for strings over 32 bytes, as keys are.
func hashSecret(secretText string) [sha256.Size]byte {
	var buf [128]byte
	if len(secretText) > len(buf) {
		return sha256.Sum256([]byte(secretText))
	}
	return sha256.Sum256(append(buf[:0], secretText...))
}

func (c *identities) load(ctx context.Context, hash string, now time.Time) (*Identity, error) {
	k, err := c.store.KeyByHash(ctx, hash, now)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errUnknownKey
	}
	if err != nil {
		return nil, err
	}
	id := &Identity{Key: k}
	if k.UserID != "" {
		if id.User, err = c.store.GetUser(ctx, k.UserID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	teamID := k.TeamID
	if teamID == "" && id.User != nil {
		teamID = id.User.TeamID
	}
	if teamID != "" {
		if id.Team, err = c.store.GetTeam(ctx, teamID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return id, nil
}

// invalidate drops every cached identity (after an admin change on this
// replica; other replicas catch up within cacheTTL).
func (c *identities) invalidate() {
	c.mu.Lock()
	clear(c.byKey)
	c.mu.Unlock()
}

// KeyName is the key's name; "" for anonymous callers.
func (id *Identity) KeyName() string {
	if id == nil || id.Key == nil {
		return ""
	}
	return id.Key.Name
}

// KeyID is the key's id (never its secret); "" for anonymous callers.
func (id *Identity) KeyID() string {
	if id == nil || id.Key == nil {
		return ""
	}
	return id.Key.ID
}
