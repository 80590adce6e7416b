package password

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quickchat-go/quickchat/pkg/apperr"
)

func TestHashAndVerify(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1})
	a, err := h.Hash(ctx, "open sesame")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash(ctx, "open sesame")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatal("two hashes of one secret are equal: the salt is not random")
	}
	if strings.Contains(a, "open sesame") || !strings.HasPrefix(a, "$argon2id$") {
		t.Fatalf("hash %q is not an encoded argon2id hash", a)
	}
	tests := []struct {
		name   string
		secret string
		want   bool
	}{
		{"the right secret matches", "open sesame", true},
		{"a wrong secret does not match", "open sesame!", false},
		{"an empty secret does not match", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(ctx, tt.secret, a)
			if err != nil || ok != tt.want {
				t.Fatalf("Verify = %v, %v; want %v", ok, err, tt.want)
			}
		})
	}
	if _, err := h.Verify(ctx, "x", "not a hash"); err == nil {
		t.Fatal("want an error for a malformed hash")
	}
}

func TestConcurrencyIsBounded(t *testing.T) {
	const limit = 2
	h := NewHasher(Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, Concurrency: limit})
	h.maxWait = 50 * time.Millisecond

	// Hold every slot, as hashes in progress would.
	for range limit {
		if err := h.acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Hash(context.Background(), "x"); !apperr.Is(err, apperr.Unavailable) {
		t.Fatalf("Hash with every slot taken past the wait: %v, want unavailable", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Verify(ctx, "x", "y"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify with every slot taken and a cancelled context: %v, want context.Canceled", err)
	}

	// A waiting hash goes ahead once a slot frees up.
	h.maxWait = time.Minute
	done := make(chan error, 1)
	go func() { _, err := h.Hash(context.Background(), "x"); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("Hash finished while every slot was taken: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	h.release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Regression: issue 13 M4. A flood of group creations and passcode changes (the
// secondary lane) once took every hashing slot, so sign-ins and joins queued behind it.
// Now the secondary lane saturates at half the slots and a sign-in still gets one.
func TestSecondaryLaneLeavesSlotsForSignIns(t *testing.T) {
	tests := []struct {
		name        string
		concurrency int
	}{
		{"with two slots", 2},
		{"with five slots", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHasher(Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, Concurrency: tt.concurrency})
			sec := h.Secondary()
			h.maxWait, sec.maxWait = time.Second, 50*time.Millisecond

			// As many group creations as there are slots arrive at once: the lane admits
			// what it may and turns the rest away after the wait.
			held := 0
			for range tt.concurrency {
				if err := sec.acquire(context.Background()); err == nil {
					held++
				} else if !apperr.Is(err, apperr.Unavailable) {
					t.Fatal(err)
				}
			}
			if want := max(tt.concurrency/2, 1); held != want {
				t.Fatalf("the secondary lane held %d slots, want %d", held, want)
			}
			if _, err := sec.Hash(context.Background(), "passcode"); !apperr.Is(err, apperr.Unavailable) {
				t.Fatalf("a further group creation: %v, want unavailable", err)
			}
			// The sign-in gets a slot although group creations saturate theirs.
			hash, err := h.Hash(context.Background(), "password")
			if err != nil {
				t.Fatalf("a sign-in while the secondary lane is saturated: %v", err)
			}
			if ok, err := h.Verify(context.Background(), "password", hash); err != nil || !ok {
				t.Fatalf("Verify = %v, %v", ok, err)
			}
			for range held {
				sec.release()
			}
			if _, err := sec.Hash(context.Background(), "passcode"); err != nil {
				t.Fatalf("a group creation once the lane is free: %v", err)
			}
		})
	}
}
