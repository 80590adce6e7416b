package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
)

func TestGroupCap(t *testing.T) {
	t.Run("an owner at the cap stores nothing more, however many create at once", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		owner := newUser(t, st)
		errs := make([]error, 8)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				_, _, errs[i] = st.CreateGroupWithOwner(ctx, store.Group{ID: uuid.New(), OwnerID: owner.ID, Title: "g", PasscodeHash: "x"},
					store.Member{ID: uuid.New(), DisplayName: "Ann"}, 3)
			})
		}
		wg.Wait()
		created := 0
		for _, err := range errs {
			switch {
			case err == nil:
				created++
			case !errors.Is(err, store.ErrTooManyGroups):
				t.Fatalf("CreateGroupWithOwner = %v, want ErrTooManyGroups", err)
			}
		}
		owned, err := st.GroupsByOwner(ctx, owner.ID)
		if err != nil || created != 3 || len(owned) != 3 {
			t.Fatalf("%d created, %d stored (%v); want 3", created, len(owned), err)
		}
	})
	t.Run("no cap stores every group", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		owner := newUser(t, st)
		for range 4 {
			if _, _, err := st.CreateGroupWithOwner(context.Background(), store.Group{ID: uuid.New(), OwnerID: owner.ID, Title: "g", PasscodeHash: "x"},
				store.Member{ID: uuid.New(), DisplayName: "Ann"}, 0); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestFailedAttempts(t *testing.T) {
	t.Parallel()
	st := setup(t)
	ctx := context.Background()
	start := time.Unix(1_700_000_000, 0)
	record := func(key string, at time.Duration) int {
		t.Helper()
		n, err := st.RecordFailedAttempt(ctx, key, start.Add(at), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := record("k", 0); n != 1 {
		t.Fatalf("first failure = %d", n)
	}
	if n := record("k", time.Minute); n != 2 {
		t.Fatalf("second failure = %d", n)
	}
	n, last, err := st.FailedAttemptsOf(ctx, "k", start.Add(2*time.Minute))
	if err != nil || n != 2 || !last.Equal(start.Add(time.Minute)) {
		t.Fatalf("FailedAttemptsOf = %d, %v, %v; want 2 at +1m", n, last, err)
	}
	if n, _, err := st.FailedAttemptsOf(ctx, "k", start.Add(time.Minute+time.Hour)); err != nil || n != 0 {
		t.Fatalf("failures an hour after the newest = %d, %v; want forgotten", n, err)
	}
	if n := record("k", 3*time.Hour); n != 1 {
		t.Fatalf("a failure after a quiet spell counts %d, want 1", n)
	}
	if err := st.ClearFailedAttempts(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if n, _, err := st.FailedAttemptsOf(ctx, "k", start.Add(3*time.Hour)); err != nil || n != 0 {
		t.Fatalf("failures after clearing = %d, %v", n, err)
	}
	record("old", 0)
	record("new", 2*time.Hour)
	if n, err := st.DeleteExpiredFailedAttempts(ctx, start.Add(90*time.Minute)); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredFailedAttempts = %d, %v; want the 1 forgotten record", n, err)
	}
}

func TestSignInAddresses(t *testing.T) {
	t.Parallel()
	st := setup(t)
	ctx := context.Background()
	u, other := newUser(t, st), newUser(t, st)
	now := time.Now()
	if err := st.RememberSignInAddress(ctx, u.ID, "192.0.2.1", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Remembering again never shortens the memory.
	if err := st.RememberSignInAddress(ctx, u.ID, "192.0.2.1", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		user   uuid.UUID
		client string
		at     time.Time
		want   bool
	}{
		{"a remembered address is known", u.ID, "192.0.2.1", now.Add(30 * time.Minute), true},
		{"another address is not", u.ID, "192.0.2.2", now, false},
		{"another account's address is not", other.ID, "192.0.2.1", now, false},
		{"the nil account has none", uuid.Nil, "192.0.2.1", now, false},
		{"an address is forgotten when its time is up", u.ID, "192.0.2.1", now.Add(2 * time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			known, err := st.SignInAddressKnown(ctx, tt.user, tt.client, tt.at)
			if err != nil || known != tt.want {
				t.Fatalf("SignInAddressKnown = %v, %v; want %v", known, err, tt.want)
			}
		})
	}
	if n, err := st.DeleteExpiredSignInAddresses(ctx, now.Add(2*time.Hour)); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredSignInAddresses = %d, %v", n, err)
	}
}

func TestClaimUserForOIDC(t *testing.T) {
	t.Parallel()
	st := setup(t)
	ctx := context.Background()
	u := newUser(t, st)
	family := uuid.New()
	tok := refreshToken(u.ID, family, time.Hour)
	if err := st.CreateRefreshToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := st.RememberSignInAddress(ctx, u.ID, "192.0.2.1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	claimed, err := st.ClaimUserForOIDC(ctx, u.ID, "https://idp.test", "sub")
	if err != nil || claimed.ID != u.ID || claimed.PasswordHash != "" || claimed.OIDCSubject != "sub" {
		t.Fatalf("ClaimUserForOIDC = %+v, %v", claimed, err)
	}
	if got := tokenByHash(t, st, tok); got.RevokedAt == nil {
		t.Fatal("the account's sessions survived the claim")
	}
	if known, _ := st.SignInAddressKnown(ctx, u.ID, "192.0.2.1", time.Now()); known {
		t.Fatal("the account's sign-in addresses survived the claim")
	}
	_, err = st.ClaimUserForOIDC(ctx, u.ID, "https://idp.test", "another")
	wantCode(t, "claiming a linked account", err, apperr.NotFound)
	_, err = st.ClaimUserForOIDC(ctx, newUser(t, st).ID, "https://idp.test", "sub")
	wantCode(t, "claiming with an identity in use", err, apperr.Conflict)
}

func TestRefreshTokenFamilyEnd(t *testing.T) {
	t.Parallel()
	st := setup(t)
	u := newUser(t, st)
	tok := refreshToken(u.ID, uuid.New(), time.Hour)
	if got := tokenByHash(t, st, mustCreate(t, st, tok)); !got.FamilyExpiresAt.Equal(tok.ExpiresAt) {
		t.Fatalf("a token without a family end ends its family at %v, want its own expiry %v", got.FamilyExpiresAt, tok.ExpiresAt)
	}
	tok = refreshToken(u.ID, uuid.New(), time.Hour)
	tok.FamilyExpiresAt = tok.ExpiresAt.Add(24 * time.Hour)
	if got := tokenByHash(t, st, mustCreate(t, st, tok)); !got.FamilyExpiresAt.Equal(tok.FamilyExpiresAt) {
		t.Fatalf("FamilyExpiresAt = %v, want %v", got.FamilyExpiresAt, tok.FamilyExpiresAt)
	}
}

func mustCreate(t *testing.T, st *store.Store, tok store.RefreshToken) store.RefreshToken {
	t.Helper()
	if err := st.CreateRefreshToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	return tok
}
