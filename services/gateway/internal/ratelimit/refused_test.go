package ratelimit

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// countingStore counts the calls that decide whether a key may go ahead.
type countingStore struct {
	Store
	takes, checks atomic.Int64
}

func (s *countingStore) TakeRateToken(ctx context.Context, key string, now time.Time, interval, burst time.Duration) (time.Duration, error) {
	s.takes.Add(1)
	return s.Store.TakeRateToken(ctx, key, now, interval, burst)
}

func (s *countingStore) FailedAttemptsOf(ctx context.Context, key string, now time.Time) (int, time.Time, error) {
	s.checks.Add(1)
	return s.Store.FailedAttemptsOf(ctx, key, now)
}

// newCountingLimiter is newLimiter with the store's calls counted.
func newCountingLimiter(t testing.TB) (*Limiter, *time.Time, *countingStore) {
	t.Helper()
	l, now := newLimiter(t)
	cs := &countingStore{Store: l.store}
	l.store = cs
	return l, now, cs
}

// Regression: the M4 abuse run of make test-faults (issue 13). Every refused group
// creation cost two PostgreSQL round trips, so a flood of refusals still loaded the
// database everyone signs in through. A refusal is now remembered until its retry-after.
func TestRefusedTakesDoNotQueryTheStoreUntilTheirRetryAfter(t *testing.T) {
	t.Parallel()
	l, now, st := newCountingLimiter(t)
	ctx := context.Background()
	rule := Rule{Limit: 2, Per: time.Minute} // one every 30 s, bursts of 2

	for i := range 2 {
		if err := l.Take(ctx, "k", rule, "tries"); err != nil {
			t.Fatalf("event %d of the burst: %v", i, err)
		}
	}
	if got := retryAfter(t, l.Take(ctx, "k", rule, "tries")); got != 30*time.Second {
		t.Fatalf("retry after %s, want 30s", got)
	}
	asked := st.takes.Load()
	if asked != 3 {
		t.Fatalf("the store was asked %d times for 3 takes", asked)
	}

	t.Run("takes before the retry-after are refused without the store", func(t *testing.T) {
		for i := range 100 {
			*now = now.Add(100 * time.Millisecond)
			want := 30*time.Second - time.Duration(i+1)*100*time.Millisecond
			if got := retryAfter(t, l.Take(ctx, "k", rule, "tries")); got != want {
				t.Fatalf("take %d: retry after %s, want %s", i, got, want)
			}
		}
		if n := st.takes.Load() - asked; n != 0 {
			t.Fatalf("the store was asked %d times while the key was refused", n)
		}
	})
	t.Run("other keys and other rules still ask the store", func(t *testing.T) {
		before := st.takes.Load()
		if err := l.Take(ctx, "other", rule, "tries"); err != nil {
			t.Fatal(err)
		}
		retryAfter(t, l.Take(ctx, "k", Rule{Limit: 1, Per: time.Hour}, "tries"))
		if n := st.takes.Load() - before; n != 2 {
			t.Fatalf("the store was asked %d times for 2 takes it had not refused", n)
		}
	})
	t.Run("at the retry-after the store decides again", func(t *testing.T) {
		*now = now.Add(20 * time.Second) // 30 s after the refusal
		before := st.takes.Load()
		if err := l.Take(ctx, "k", rule, "tries"); err != nil {
			t.Fatalf("after the retry-after: %v", err)
		}
		retryAfter(t, l.Take(ctx, "k", rule, "tries"))
		if n := st.takes.Load() - before; n != 2 {
			t.Fatalf("the store was asked %d times for 2 takes after the retry-after", n)
		}
	})
}

func TestRefusedBackoffsDoNotQueryTheStoreUntilTheirWaitEnds(t *testing.T) {
	t.Parallel()
	l, now, st := newCountingLimiter(t)
	ctx := context.Background()
	b := Backoff{After: 0, Base: 10 * time.Second, Max: time.Minute}
	if _, err := l.RecordFailure(ctx, "k", b); err != nil {
		t.Fatal(err)
	}
	retryAfter(t, l.CheckBackoff(ctx, "k", b, "guesses"))
	asked := st.checks.Load()
	for range 50 {
		*now = now.Add(100 * time.Millisecond)
		retryAfter(t, l.CheckBackoff(ctx, "k", b, "guesses"))
	}
	if n := st.checks.Load() - asked; n != 0 {
		t.Fatalf("the store was asked %d times while the key was refused", n)
	}
	*now = now.Add(5 * time.Second) // 10 s after the failure
	if err := l.CheckBackoff(ctx, "k", b, "guesses"); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
	if n := st.checks.Load() - asked; n != 1 {
		t.Fatalf("the store was asked %d times after the wait, want once", n)
	}

	t.Run("clearing the failures forgets the refusal", func(t *testing.T) {
		if _, err := l.RecordFailure(ctx, "c", b); err != nil {
			t.Fatal(err)
		}
		retryAfter(t, l.CheckBackoff(ctx, "c", b, "guesses"))
		if err := l.ClearFailures(ctx, "c"); err != nil {
			t.Fatal(err)
		}
		if err := l.CheckBackoff(ctx, "c", b, "guesses"); err != nil {
			t.Fatalf("a cleared key is still refused: %v", err)
		}
	})
}

func TestRefusedRemembersABoundedNumberOfKeysForABoundedTime(t *testing.T) {
	r := newRefused()
	now := time.Unix(1_700_000_000, 0)
	for i := range refusedKeys + 500 {
		r.remember(refusedKey{key: fmt.Sprint(i)}, now, time.Hour)
	}
	if n := r.len(); n != refusedKeys {
		t.Fatalf("%d keys remembered, want at most %d", n, refusedKeys)
	}
	k := refusedKey{key: "long", backoff: true}
	r.remember(k, now, time.Hour)
	if wait, ok := r.wait(k, now.Add(time.Second)); !ok || wait != time.Hour-time.Second {
		t.Fatalf("a refusal for an hour: wait %v, %v; want the store's wait", wait, ok)
	}
	if _, ok := r.wait(k, now.Add(refusedFor)); ok {
		t.Fatalf("a refusal is still remembered after %v", refusedFor)
	}
}
