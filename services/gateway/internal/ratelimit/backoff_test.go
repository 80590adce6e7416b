package ratelimit

import (
	"context"
	"testing"
	"time"
)

func TestBackoffDecode(t *testing.T) {
	tests := []struct {
		in      string
		want    Backoff
		wantErr bool
	}{
		{"5:1s..15m", Backoff{After: 5, Base: time.Second, Max: 15 * time.Minute}, false},
		{" 0 : 500ms .. 1h ", Backoff{After: 0, Base: 500 * time.Millisecond, Max: time.Hour}, false},
		{"off", Backoff{}, false},
		{"5", Backoff{}, true},
		{"5:1s", Backoff{}, true},
		{"-1:1s..1m", Backoff{}, true},
		{"5:1m..1s", Backoff{}, true},
		{"5:0s..1s", Backoff{}, true},
		{"five:1s..1m", Backoff{}, true},
	}
	for _, tt := range tests {
		t.Run("decoding "+tt.in, func(t *testing.T) {
			var b Backoff
			err := b.Decode(tt.in)
			if (err != nil) != tt.wantErr || (err == nil && b != tt.want) {
				t.Fatalf("Decode(%q) = %+v, %v; want %+v, error %v", tt.in, b, err, tt.want, tt.wantErr)
			}
			if err == nil {
				var again Backoff
				if err := again.Decode(b.String()); err != nil || again != b {
					t.Fatalf("String() = %q does not decode back: %+v, %v", b.String(), again, err)
				}
			}
		})
	}
}

func TestBackoffWaitDoublesUpToItsMax(t *testing.T) {
	b := Backoff{After: 2, Base: time.Second, Max: 10 * time.Second}
	for failures, want := range []time.Duration{0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		if got := b.Wait(failures); got != want {
			t.Errorf("Wait(%d) = %v, want %v", failures, got, want)
		}
	}
	if got := b.Wait(1000); got != 10*time.Second {
		t.Errorf("Wait(1000) = %v, want the max", got)
	}
	if got := (Backoff{}).Wait(1000); got != 0 {
		t.Errorf("the zero back-off waits %v", got)
	}
}

func TestLimiterBacksOffAfterFailures(t *testing.T) {
	t.Parallel()
	l, now := newLimiter(t)
	ctx := context.Background()
	b := Backoff{After: 1, Base: 10 * time.Second, Max: time.Minute}
	fail := func(key string) int {
		t.Helper()
		n, err := l.RecordFailure(ctx, key, b)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := l.CheckBackoff(ctx, "k", b, "guesses"); err != nil {
		t.Fatalf("a key without failures waits: %v", err)
	}
	fail("k")
	if err := l.CheckBackoff(ctx, "k", b, "guesses"); err != nil {
		t.Fatalf("a free failure makes the key wait: %v", err)
	}
	if n := fail("k"); n != 2 {
		t.Fatalf("failures = %d, want 2", n)
	}
	if wait := retryAfter(t, l.CheckBackoff(ctx, "k", b, "guesses")); wait != 10*time.Second {
		t.Fatalf("wait after the first costly failure = %v, want 10s", wait)
	}
	if err := l.CheckBackoff(ctx, "other", b, "guesses"); err != nil {
		t.Fatalf("another key waits: %v", err)
	}
	*now = now.Add(10 * time.Second)
	if err := l.CheckBackoff(ctx, "k", b, "guesses"); err != nil {
		t.Fatalf("the key still waits after its wait: %v", err)
	}
	fail("k")
	if wait := retryAfter(t, l.CheckBackoff(ctx, "k", b, "guesses")); wait != 20*time.Second {
		t.Fatalf("wait after the next failure = %v, want 20s (doubled)", wait)
	}
	t.Run("clearing forgets the failures", func(t *testing.T) {
		if err := l.ClearFailures(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if err := l.CheckBackoff(ctx, "k", b, "guesses"); err != nil {
			t.Fatalf("a cleared key waits: %v", err)
		}
		if n := fail("k"); n != 1 {
			t.Fatalf("failures after clearing = %d, want 1", n)
		}
	})
	t.Run("a key quiet for a day starts over", func(t *testing.T) {
		fail("q")
		fail("q")
		*now = now.Add(BackoffMemory + time.Second)
		if err := l.CheckBackoff(ctx, "q", b, "guesses"); err != nil {
			t.Fatalf("a key quiet for a day waits: %v", err)
		}
		if n := fail("q"); n != 1 {
			t.Fatalf("failures after a quiet day = %d, want 1", n)
		}
	})
}
