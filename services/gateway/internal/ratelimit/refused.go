package ratelimit

import (
	"sync"
	"time"
)

// Refusals are remembered for at most refusedKeys keys and refusedFor each: enough for the
// keys an attack hammers, small enough to be nothing in memory (a key is a few dozen
// bytes), and short enough that a key cleared on another replica is seen here soon.
const (
	refusedKeys = 10_000
	refusedFor  = time.Minute
)

// refusedKey names one limit on one key: a rule's key with its rule, or a back-off's key.
type refusedKey struct {
	key     string
	rule    Rule
	backoff bool
}

// refused remembers, in this gateway instance only, the keys the store refused and until
// when, so a key that keeps hammering a limit is refused again from memory rather than
// with a PostgreSQL round trip each time (a refused attempt costs the store two).
//
// Only refusals are remembered, never allowances, so the shared store stays the source
// of truth: a refused take changes nothing in the store and a back-off's wait only grows
// until it ends, so the store would refuse every attempt before the remembered time too.
// The one exception is a back-off cleared on another replica (after a right passcode),
// which this instance keeps refusing until the remembered time, at most refusedFor.
type refused struct {
	mu   sync.Mutex
	keys map[refusedKey]refusal
}

// refusal is one remembered refusal: the key may try again at retryAt, and is refused
// from memory until expires (retryAt, or sooner when that is more than refusedFor away).
type refusal struct{ retryAt, expires time.Time }

func newRefused() *refused {
	return &refused{keys: make(map[refusedKey]refusal)}
}

// wait returns how long k must still wait at now, if it is remembered as refused.
func (r *refused) wait(k refusedKey, now time.Time) (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref, ok := r.keys[k]
	if !ok {
		return 0, false
	}
	if !now.Before(ref.expires) {
		delete(r.keys, k)
		return 0, false
	}
	return ref.retryAt.Sub(now), true
}

// remember records that the store refused k at now for wait. When full, it forgets an
// arbitrary key (Go starts map iteration at random): that key only costs a store round
// trip again, and memory stays bounded whatever an attacker does with many keys.
func (r *refused) remember(k refusedKey, now time.Time, wait time.Duration) {
	ref := refusal{retryAt: now.Add(wait), expires: now.Add(min(wait, refusedFor))}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.keys[k]; !ok && len(r.keys) >= refusedKeys {
		for old := range r.keys {
			delete(r.keys, old)
			break
		}
	}
	r.keys[k] = ref
}

// forget drops what is remembered of k.
func (r *refused) forget(k refusedKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.keys, k)
}

// len returns how many keys are remembered.
func (r *refused) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.keys)
}
