package admin

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tidegate/tidegate/internal/secret"
	"github.com/tidegate/tidegate/internal/store"
)

// maxGrace bounds a rotation's grace period.
const maxGrace = 30 * 24 * time.Hour

// newID returns prefix + "_" + 16 hex characters (64 random bits).
func newID(prefix string) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return prefix + "_" + hex.EncodeToString(b[:])
}

func (h *handler) listKeys(w http.ResponseWriter, r *http.Request, _ *call) {
	q, e := query(r, "user_id", "team_id", "status")
	if e != nil {
		writeError(w, e)
		return
	}
	status := q.Get("status")
	switch status {
	case "", StatusActive, StatusRevoked, StatusExpired:
	default:
		writeError(w, invalid("status", "must be one of active, revoked, expired; got %q", status))
		return
	}
	keys, err := h.store.ListKeys(r.Context())
	if err != nil {
		h.storeError(w, r, err, "key", "")
		return
	}
	now := h.now()
	out := make([]Key, 0, len(keys))
	for i := range keys {
		k := &keys[i]
		if u := q.Get("user_id"); u != "" && k.UserID != u {
			continue
		}
		if t := q.Get("team_id"); t != "" && k.TeamID != t {
			continue
		}
		v := viewKey(k, now)
		if status != "" && v.Status != status {
			continue
		}
		out = append(out, v)
	}
	slices.SortStableFunc(out, func(a, b Key) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	writeJSON(w, http.StatusOK, List[Key]{Data: out})
}

func (h *handler) getKey(w http.ResponseWriter, r *http.Request, c *call) {
	k, err := h.store.GetKey(r.Context(), c.id)
	if err != nil {
		h.storeError(w, r, err, "key", c.id)
		return
	}
	writeJSON(w, http.StatusOK, viewKey(k, h.now()))
}

func (h *handler) createKey(w http.ResponseWriter, r *http.Request, c *call) {
	b := readBody(r, withCommon("user_id", "team_id", "expires_at")...)
	now := h.now()
	k := &store.Key{}
	b.common(&k.Name, &k.Models, &k.Limits, &k.Metadata)
	b.string("user_id", &k.UserID)
	b.string("team_id", &k.TeamID)
	b.time("expires_at", &k.ExpiresAt)
	if e := b.valid(&k.Name, &k.Limits); e != nil {
		writeError(w, e)
		return
	}
	if k.ExpiresAt != nil && !k.ExpiresAt.After(now) {
		writeError(w, invalid("expires_at", "must be in the future"))
		return
	}
	if !h.owners(w, r, &k.UserID, &k.TeamID, !b.has("team_id")) {
		return
	}
	sec, display, hash := secret.New()
	k.ID, k.Prefix, k.Hash = newID("key"), display, hash
	k.CreatedAt, k.UpdatedAt = now, now
	if !h.committed(w, r, c, h.store.CreateKey(r.Context(), k), "key", k.ID, "created", "name", k.Name) {
		return
	}
	writeJSON(w, http.StatusCreated, KeyWithSecret{Key: viewKey(k, now), Secret: sec})
}

func (h *handler) updateKey(w http.ResponseWriter, r *http.Request, c *call) {
	b := readBody(r, withCommon("user_id", "team_id", "expires_at", "enabled")...)
	if b.err != nil {
		writeError(w, b.err)
		return
	}
	k, err := h.store.GetKey(r.Context(), c.id)
	if err != nil {
		h.storeError(w, r, err, "key", c.id)
		return
	}
	now := h.now()
	b.common(&k.Name, &k.Models, &k.Limits, &k.Metadata)
	b.string("user_id", &k.UserID)
	b.string("team_id", &k.TeamID)
	b.time("expires_at", &k.ExpiresAt)
	enabled, setEnabled := b.bool("enabled")
	if e := b.valid(&k.Name, &k.Limits); e != nil {
		writeError(w, e)
		return
	}
	if b.has("expires_at") && k.ExpiresAt != nil && !k.ExpiresAt.After(now) {
		writeError(w, invalid("expires_at", "must be in the future (revoke the key to stop it now)"))
		return
	}
	if (b.has("user_id") || b.has("team_id")) && !h.owners(w, r, &k.UserID, &k.TeamID, false) {
		return
	}
	if setEnabled {
		switch {
		case !enabled && k.RevokedAt == nil:
			revoke(k, now)
		case enabled:
			k.RevokedAt = nil
		}
	}
	if !h.committed(w, r, c, h.store.UpdateKey(r.Context(), k), "key", c.id, "updated") {
		return
	}
	writeJSON(w, http.StatusOK, viewKey(k, now))
}

// revoke marks k revoked now; the secret replaced by a rotation stops too.
func revoke(k *store.Key, now time.Time) {
	t := now
	k.RevokedAt = &t
	k.PrevHash, k.PrevUntil = "", nil
}

func (h *handler) revokeKey(w http.ResponseWriter, r *http.Request, c *call) {
	b := readBody(r)
	if b.err != nil {
		writeError(w, b.err)
		return
	}
	k, err := h.store.GetKey(r.Context(), c.id)
	if err != nil {
		h.storeError(w, r, err, "key", c.id)
		return
	}
	now := h.now()
	if k.RevokedAt == nil { // revoking twice keeps the first time
		revoke(k, now)
		if !h.committed(w, r, c, h.store.UpdateKey(r.Context(), k), "key", c.id, "revoked") {
			return
		}
	}
	writeJSON(w, http.StatusOK, viewKey(k, now))
}

func (h *handler) rotateKey(w http.ResponseWriter, r *http.Request, c *call) {
	b := readBody(r, "grace_seconds")
	var grace int64
	b.count("grace_seconds", &grace)
	if b.err != nil {
		writeError(w, b.err)
		return
	}
	if grace > int64(maxGrace/time.Second) {
		writeError(w, invalid("grace_seconds", "must be at most %d (30 days)", int64(maxGrace/time.Second)))
		return
	}
	k, err := h.store.GetKey(r.Context(), c.id)
	if err != nil {
		h.storeError(w, r, err, "key", c.id)
		return
	}
	if k.RevokedAt != nil {
		writeError(w, conflict("key "+c.id+" is revoked; a revoked key cannot be rotated (create a new one)"))
		return
	}
	now := h.now()
	sec, display, hash := secret.New()
	if grace > 0 {
		until := now.Add(time.Duration(grace) * time.Second)
		k.PrevHash, k.PrevUntil = k.Hash, &until
	} else {
		k.PrevHash, k.PrevUntil = "", nil
	}
	k.Hash, k.Prefix = hash, display
	if !h.committed(w, r, c, h.store.UpdateKey(r.Context(), k), "key", c.id, "rotated", "grace_seconds", grace) {
		return
	}
	writeJSON(w, http.StatusOK, KeyWithSecret{Key: viewKey(k, now), Secret: sec})
}

func (h *handler) deleteKey(w http.ResponseWriter, r *http.Request, c *call) {
	if !h.committed(w, r, c, h.store.DeleteKey(r.Context(), c.id), "key", c.id, "deleted") {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// owners checks that a key's or user's user and team exist (400 naming the
// field if not). With inheritTeam, an unset team is taken from the user.
func (h *handler) owners(w http.ResponseWriter, r *http.Request, userID, teamID *string, inheritTeam bool) bool {
	ctx := r.Context()
	if userID != nil {
		*userID = strings.TrimSpace(*userID)
		if *userID != "" {
			u, err := h.store.GetUser(ctx, *userID)
			if err != nil {
				h.ownerError(w, r, err, "user_id", "user", *userID)
				return false
			}
			if inheritTeam && *teamID == "" {
				*teamID = u.TeamID
			}
		}
	}
	*teamID = strings.TrimSpace(*teamID)
	if *teamID != "" {
		if _, err := h.store.GetTeam(ctx, *teamID); err != nil {
			h.ownerError(w, r, err, "team_id", "team", *teamID)
			return false
		}
	}
	return true
}

func (h *handler) ownerError(w http.ResponseWriter, r *http.Request, err error, field, what, id string) {
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, invalid(field, "%s %q does not exist", what, id))
		return
	}
	h.storeError(w, r, err, what, id)
}
