package app

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"

	"github.com/quickchat-go/quickchat/pkg/apperr"
)

// guestKeyBytes is the size of a guest key: 256 random bits.
const guestKeyBytes = 32

// newGuestKey returns a fresh guest key as the client keeps it (base64url, no padding)
// and its hash as the store keeps it.
func newGuestKey() (key string, hash []byte) {
	raw := make([]byte, guestKeyBytes)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails
	sum := sha256.Sum256(raw)
	return base64.RawURLEncoding.EncodeToString(raw), sum[:]
}

// guestKeyHash parses a guest key a client sent back and returns its hash.
func guestKeyHash(key string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil || len(raw) != guestKeyBytes {
		return nil, apperr.New(apperr.Invalid, "guest_key is not a key this server issued")
	}
	sum := sha256.Sum256(raw)
	return sum[:], nil
}
