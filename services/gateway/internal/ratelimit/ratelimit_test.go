package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestRuleDecode(t *testing.T) {
	tests := []struct {
		in      string
		want    Rule
		wantErr bool
	}{
		{"10/1m", Rule{Limit: 10, Per: time.Minute}, false},
		{" 5 / 30s ", Rule{Limit: 5, Per: 30 * time.Second}, false},
		{"off", Rule{}, false},
		{"0", Rule{}, false},
		{"10", Rule{}, true},
		{"-1/1m", Rule{}, true},
		{"ten/1m", Rule{}, true},
		{"10/forever", Rule{}, true},
		{"10/0s", Rule{}, true},
		{"10000000/1s", Rule{}, true},
	}
	for _, tt := range tests {
		t.Run("decoding "+tt.in, func(t *testing.T) {
			var r Rule
			err := r.Decode(tt.in)
			if (err != nil) != tt.wantErr || (err == nil && r != tt.want) {
				t.Fatalf("Decode(%q) = %+v, %v; want %+v, error %v", tt.in, r, err, tt.want, tt.wantErr)
			}
		})
	}
}

// newLimiter returns a Limiter on a fresh database with a clock the test moves by hand.
func newLimiter(t testing.TB) (*Limiter, *time.Time) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{URL: testenv.PostgresURL(t), MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	l := New(st)
	l.now = func() time.Time { return now }
	return l, &now
}

func retryAfter(t testing.TB, err error) time.Duration {
	t.Helper()
	var ex *Exceeded
	if !apperr.Is(err, apperr.RateLimited) || !errors.As(err, &ex) {
		t.Fatalf("want a rate-limited error carrying Exceeded, got %v", err)
	}
	return ex.RetryAfter
}

func TestLimiterAllowsABurstThenOneEventPerInterval(t *testing.T) {
	t.Parallel()
	l, now := newLimiter(t)
	ctx := context.Background()
	rule := Rule{Limit: 3, Per: time.Minute} // one event every 20 s, bursts of 3

	for i := range 3 {
		if err := l.Take(ctx, "k", rule, "tries"); err != nil {
			t.Fatalf("event %d of the burst: %v", i, err)
		}
	}
	if got := retryAfter(t, l.Take(ctx, "k", rule, "tries")); got != 20*time.Second {
		t.Fatalf("retry after %s, want 20s", got)
	}
	// Denied events do not count, so waiting the advertised time is enough.
	*now = now.Add(20 * time.Second)
	if err := l.Take(ctx, "k", rule, "tries"); err != nil {
		t.Fatalf("after waiting: %v", err)
	}
	if got := retryAfter(t, l.Take(ctx, "k", rule, "tries")); got != 20*time.Second {
		t.Fatalf("retry after %s, want 20s", got)
	}
	t.Run("other keys have their own budget", func(t *testing.T) {
		if err := l.Take(ctx, "other", rule, "tries"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a long pause refills the whole burst but no more", func(t *testing.T) {
		*now = now.Add(time.Hour)
		for i := range 3 {
			if err := l.Take(ctx, "k", rule, "tries"); err != nil {
				t.Fatalf("event %d: %v", i, err)
			}
		}
		retryAfter(t, l.Take(ctx, "k", rule, "tries"))
	})
	t.Run("an off rule limits nothing", func(t *testing.T) {
		for range 10 {
			if err := l.Take(ctx, "k", Rule{}, "tries"); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestLimiterCountsConcurrentEventsExactly(t *testing.T) {
	t.Parallel()
	l, _ := newLimiter(t)
	ctx := context.Background()
	rule := Rule{Limit: 10, Per: time.Hour}
	errs := make(chan error, 40)
	for range 40 {
		go func() { errs <- l.Take(ctx, "busy", rule, "tries") }()
	}
	allowed := 0
	for range 40 {
		if err := <-errs; err == nil {
			allowed++
		} else if !apperr.Is(err, apperr.RateLimited) {
			t.Fatal(err)
		}
	}
	if allowed != 10 {
		t.Fatalf("%d of 40 concurrent events allowed, want exactly 10", allowed)
	}
}
