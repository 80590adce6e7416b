package store_test

import (
	"context"
	"testing"
	"time"
)

func TestTakeRateToken(t *testing.T) {
	// One request every 10 s, bursts of 3; the clock is the test's, not the server's.
	const interval, burst = 10 * time.Second, 30 * time.Second
	start := time.Unix(1_700_000_000, 0)
	type take struct {
		key  string
		at   time.Duration // after start
		wait time.Duration // 0: admitted
	}
	tests := []struct {
		name  string
		takes []take
	}{
		{
			name:  "a burst is admitted at once and the next request waits one interval",
			takes: []take{{"k", 0, 0}, {"k", 0, 0}, {"k", 0, 0}, {"k", 0, interval}},
		},
		{
			name: "a denied request changes nothing, so the wait shrinks with time",
			takes: []take{
				{"k", 0, 0}, {"k", 0, 0}, {"k", 0, 0},
				{"k", 4 * time.Second, 6 * time.Second}, {"k", 9 * time.Second, time.Second}, {"k", 10 * time.Second, 0},
			},
		},
		{
			name:  "after the wait one request is admitted and the next waits again",
			takes: []take{{"k", 0, 0}, {"k", 0, 0}, {"k", 0, 0}, {"k", interval, 0}, {"k", interval, interval}},
		},
		{
			name:  "a key left idle for a burst window admits a whole burst again",
			takes: []take{{"k", 0, 0}, {"k", 0, 0}, {"k", 0, 0}, {"k", burst, 0}, {"k", burst, 0}, {"k", burst, 0}, {"k", burst, interval}},
		},
		{
			name:  "keys are limited independently",
			takes: []take{{"a", 0, 0}, {"a", 0, 0}, {"a", 0, 0}, {"b", 0, 0}, {"a", 0, interval}, {"b", 0, 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := setup(t)
			for i, tk := range tt.takes {
				wait, err := st.TakeRateToken(context.Background(), tk.key, start.Add(tk.at), interval, burst)
				if err != nil || wait != tk.wait {
					t.Errorf("take %d (%s at +%v) = %v, %v; want wait %v", i, tk.key, tk.at, wait, err, tk.wait)
				}
			}
		})
	}

	t.Run("an interval longer than the burst or not positive is refused", func(t *testing.T) {
		st := setup(t)
		for _, p := range []struct{ interval, burst time.Duration }{{time.Minute, time.Second}, {0, time.Second}, {-time.Second, time.Second}} {
			if _, err := st.TakeRateToken(context.Background(), "k", start, p.interval, p.burst); err == nil {
				t.Errorf("TakeRateToken(interval %v, burst %v) accepted", p.interval, p.burst)
			}
		}
	})
}

func TestDeleteIdleRateLimits(t *testing.T) {
	t.Run("keys with nothing pending are deleted and busy ones kept", func(t *testing.T) {
		st := setup(t)
		ctx := context.Background()
		start := time.Unix(1_700_000_000, 0)
		const interval, burst = 10 * time.Second, 30 * time.Second
		for _, k := range []string{"idle", "busy"} {
			if _, err := st.TakeRateToken(ctx, k, start, interval, burst); err != nil {
				t.Fatal(err)
			}
		}
		// "busy" fills its burst later on, so it is still pending when "idle" is not.
		for range 2 {
			if _, err := st.TakeRateToken(ctx, "busy", start.Add(interval), interval, burst); err != nil {
				t.Fatal(err)
			}
		}
		now := start.Add(2 * interval)

		n, err := st.DeleteIdleRateLimits(ctx, now)

		if err != nil || n != 1 {
			t.Fatalf("DeleteIdleRateLimits = %d, %v; want 1", n, err)
		}
		// A deleted key would start over with a whole burst of 3; the kept one has room for 2.
		for i, want := range []bool{true, true, false} {
			wait, err := st.TakeRateToken(ctx, "busy", now, interval, burst)
			if err != nil || (wait == 0) != want {
				t.Errorf("busy key, take %d: wait %v, %v; want admitted: %v", i, wait, err, want)
			}
		}
		if n, err := st.DeleteIdleRateLimits(ctx, now); err != nil || n != 0 {
			t.Errorf("DeleteIdleRateLimits again = %d, %v; want 0", n, err)
		}
	})
}
