// Package jwtauthtest serves JWKS endpoints for tests.
package jwtauthtest

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// JWKS is an httptest JWKS endpoint for tests: its keys can be
// swapped (rotation) and it can be taken down (503).
type JWKS struct {
	URL  string
	mu   sync.Mutex
	keys []map[string]string
	down bool
	hits int
}

// New serves an empty key set until Set.
func New(t testing.TB) *JWKS {
	j := &JWKS{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.mu.Lock()
		defer j.mu.Unlock()
		j.hits++
		if j.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": j.keys})
	}))
	t.Cleanup(srv.Close)
	j.URL = srv.URL + "/.well-known/jwks.json"
	return j
}

// Set replaces the served keys.
func (j *JWKS) Set(keys ...map[string]string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.keys = keys
}

// Down makes the endpoint answer 503 (true) or serve again (false).
func (j *JWKS) Down(down bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.down = down
}

// Hits counts requests.
func (j *JWKS) Hits() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.hits
}

// JWK encodes an RSA or EC (P-256/384/521) public key; alg may be "".
func JWK(kid string, pub any, alg string) map[string]string {
	b := func(i *big.Int, size int) string {
		raw := i.Bytes()
		if size > len(raw) {
			raw = append(make([]byte, size-len(raw)), raw...)
		}
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	m := map[string]string{"kid": kid, "use": "sig"}
	if alg != "" {
		m["alg"] = alg
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", b(k.N, 0), b(big.NewInt(int64(k.E)), 0)
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		m["kty"], m["crv"], m["x"], m["y"] = "EC", k.Curve.Params().Name, b(k.X, size), b(k.Y, size) //nolint:staticcheck
	}
	return m
}
