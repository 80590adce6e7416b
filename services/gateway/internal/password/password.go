// Package password hashes and checks secrets (account passwords, group passcodes) with
// argon2id, so only slow, salted hashes are ever stored.
package password

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/quickchat-go/quickchat/pkg/apperr"
)

// defaultMaxWait bounds how long a request waits for a hashing slot before it is turned
// away with unavailable.
const defaultMaxWait = 10 * time.Second

// Params are the argon2id cost parameters.
type Params struct {
	// MemoryKiB is the memory cost per hash in KiB.
	MemoryKiB uint32
	// Iterations is the time cost.
	Iterations uint32
	// Parallelism is the number of lanes; 0 uses the number of CPUs, at most 4.
	Parallelism uint8
	// Concurrency is the most hashes computed at once; 0 uses the number of CPUs, at least
	// 2. Each holds MemoryKiB, so this bounds the memory a burst of sign-ins or joins can
	// take. The Secondary lane may hold at most half of them (at least one, never all when
	// there are two or more).
	Concurrency int
}

// DefaultParams follow OWASP's argon2id recommendation (19 MiB, 2 iterations).
var DefaultParams = Params{MemoryKiB: 19 * 1024, Iterations: 2}

// Hasher hashes and verifies secrets.
type Hasher struct {
	params *argon2id.Params
	// slots bounds the hashes computed at once, by every lane together.
	slots chan struct{}
	// lane additionally bounds this lane's hashes; nil for the primary lane.
	lane      chan struct{}
	secondary *Hasher
	maxWait   time.Duration
}

// NewHasher returns a Hasher with the given cost.
func NewHasher(p Params) *Hasher {
	par := p.Parallelism
	if par == 0 {
		par = uint8(min(runtime.NumCPU(), 4))
	}
	conc := p.Concurrency
	if conc <= 0 {
		conc = max(runtime.NumCPU(), 2)
	}
	h := &Hasher{
		params:  &argon2id.Params{Memory: p.MemoryKiB, Iterations: p.Iterations, Parallelism: par, SaltLength: 16, KeyLength: 32},
		slots:   make(chan struct{}, conc),
		maxWait: defaultMaxWait,
	}
	sec := *h
	sec.lane = make(chan struct{}, max(conc/2, 1))
	h.secondary = &sec
	return h
}

// Secondary returns the lane for hashing that must never crowd out sign-ins and joins
// (creating groups, changing passcodes): it shares the Hasher's slots but holds at most
// half of them, so however much such work piles up, the Hasher itself keeps the rest.
func (h *Hasher) Secondary() *Hasher {
	if h.secondary == nil {
		return h
	}
	return h.secondary
}

// acquire waits for a slot of the lane (if any), then a hashing slot; release gives them
// back. Both waits share one deadline.
func (h *Hasher) acquire(ctx context.Context) error {
	t := time.NewTimer(h.maxWait)
	defer t.Stop()
	if h.lane != nil {
		if err := wait(ctx, t, h.lane); err != nil {
			return err
		}
	}
	if err := wait(ctx, t, h.slots); err != nil {
		if h.lane != nil {
			<-h.lane
		}
		return err
	}
	return nil
}

func wait(ctx context.Context, t *time.Timer, slots chan struct{}) error {
	select {
	case slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("password: waiting for a hashing slot: %w", ctx.Err())
	case <-t.C:
		return apperr.New(apperr.Unavailable, "the server is busy checking other passwords; try again")
	}
}

func (h *Hasher) release() {
	<-h.slots
	if h.lane != nil {
		<-h.lane
	}
}

// Hash returns the encoded hash of secret.
func (h *Hasher) Hash(ctx context.Context, secret string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	enc, err := argon2id.CreateHash(secret, h.params)
	if err != nil {
		return "", fmt.Errorf("password: hash: %w", err)
	}
	return enc, nil
}

// Verify reports whether secret matches the encoded hash, comparing in constant time.
func (h *Hasher) Verify(ctx context.Context, secret, encoded string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	ok, err := argon2id.ComparePasswordAndHash(secret, encoded)
	if err != nil {
		return false, fmt.Errorf("password: verify: %w", err)
	}
	return ok, nil
}
