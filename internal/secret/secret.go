// Package secret makes and hashes virtual-key secrets. A secret is
// "sk-tg-" followed by 43 base64url characters (256 random bits); only its
// SHA-256 is ever stored.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Prefix starts every tidegate virtual key.
const Prefix = "sk-tg-"

// displayLen is how much of a secret is kept for display ("sk-tg-AbCd").
const displayLen = len(Prefix) + 4

// New returns a fresh secret, its display prefix and its hash.
func New() (secret, display, hash string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	secret = Prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, secret[:displayLen], Hash(secret)
}

// Hash is the hex SHA-256 of a secret, the form stored and looked up.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Looks reports whether s has the shape of a tidegate key, to answer a
// clear 401 without a store lookup for obviously foreign credentials.
func Looks(s string) bool {
	return strings.HasPrefix(s, Prefix) && len(s) == len(Prefix)+43
}
