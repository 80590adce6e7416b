// Package password hashes and checks secrets (account passwords, group passcodes) with
// argon2id, so only slow, salted hashes are ever stored.
package password

import (
	"fmt"
	"runtime"

	"github.com/alexedwards/argon2id"
)

// Params are the argon2id cost parameters.
type Params struct {
	// MemoryKiB is the memory cost per hash in KiB.
	MemoryKiB uint32
	// Iterations is the time cost.
	Iterations uint32
	// Parallelism is the number of lanes; 0 uses the number of CPUs, at most 4.
	Parallelism uint8
}

// DefaultParams follow OWASP's argon2id recommendation (19 MiB, 2 iterations).
var DefaultParams = Params{MemoryKiB: 19 * 1024, Iterations: 2}

// Hasher hashes and verifies secrets.
type Hasher struct {
	params *argon2id.Params
}

// NewHasher returns a Hasher with the given cost.
func NewHasher(p Params) *Hasher {
	par := p.Parallelism
	if par == 0 {
		par = uint8(min(runtime.NumCPU(), 4))
	}
	return &Hasher{params: &argon2id.Params{
		Memory: p.MemoryKiB, Iterations: p.Iterations, Parallelism: par, SaltLength: 16, KeyLength: 32,
	}}
}

// Hash returns the encoded hash of secret.
func (h *Hasher) Hash(secret string) (string, error) {
	enc, err := argon2id.CreateHash(secret, h.params)
	if err != nil {
		return "", fmt.Errorf("password: hash: %w", err)
	}
	return enc, nil
}

// Verify reports whether secret matches the encoded hash, comparing in constant time.
func (h *Hasher) Verify(secret, encoded string) (bool, error) {
	ok, err := argon2id.ComparePasswordAndHash(secret, encoded)
	if err != nil {
		return false, fmt.Errorf("password: verify: %w", err)
	}
	return ok, nil
}
