package session

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/token"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type bundle struct {
	m    *Manager
	st   *store.Store
	user store.User
	now  *time.Time
}

func setup(t testing.TB) bundle {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{URL: testenv.PostgresURL(t), MaxConns: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	key, err := token.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := token.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.CreateUser(ctx, store.User{ID: uuid.New(), Email: "s@example.com", Name: "S", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	m := New(st, signer, Config{AccessTTL: time.Minute, RefreshTTL: time.Hour})
	m.now = func() time.Time { return now }
	return bundle{m: m, st: st, user: u, now: &now}
}

func TestRefreshTokensAreStoredOnlyAsHashes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s, err := b.m.Start(context.Background(), b.user)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.RefreshTokenByHash(context.Background(), []byte(s.RefreshToken)); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("looking up the raw token: %v, want not found", err)
	}
	row, err := b.st.RefreshTokenByHash(context.Background(), hashRefresh(s.RefreshToken))
	if err != nil || row.UserID != b.user.ID {
		t.Fatalf("by hash: %+v, %v", row, err)
	}
}

func TestAnExpiredRefreshTokenIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s, err := b.m.Start(context.Background(), b.user)
	if err != nil {
		t.Fatal(err)
	}
	*b.now = b.now.Add(time.Hour)
	if _, err := b.m.Refresh(context.Background(), s.RefreshToken); !apperr.Is(err, apperr.Unauthorized) {
		t.Fatalf("err = %v, want unauthorized", err)
	}
}

func TestConcurrentRefreshesOfOneTokenNeverBothWin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	s, err := b.m.Start(ctx, b.user)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	results := make([]Session, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { results[i], errs[i] = b.m.Refresh(ctx, s.RefreshToken) })
	}
	wg.Wait()
	var winners []Session
	for i, err := range errs {
		switch {
		case err == nil:
			winners = append(winners, results[i])
		case !apperr.Is(err, apperr.Unauthorized):
			t.Fatalf("refresh %d: %v", i, err)
		}
	}
	if len(winners) > 1 {
		t.Fatalf("%d concurrent refreshes of one token succeeded", len(winners))
	}
	// Every loser presented a token that was already used, which revokes the family, so
	// even the winner's new token is dead.
	for _, w := range winners {
		if _, err := b.m.Refresh(ctx, w.RefreshToken); !apperr.Is(err, apperr.Unauthorized) {
			t.Fatalf("the winner's token survived a detected reuse: %v", err)
		}
	}
}

// Regression: issue 13 L5. Each rotation used to start a fresh refresh TTL, so a session
// refreshed now and then lived forever. Rotations now never pass the absolute end fixed
// at sign-in.
func TestRotationNeverExtendsASessionPastItsMaxAge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.m.cfg = Config{AccessTTL: time.Minute, RefreshTTL: time.Hour, MaxAge: 3 * time.Hour}
	start := *b.now
	s, err := b.m.Start(ctx, b.user)
	if err != nil {
		t.Fatal(err)
	}
	end := start.Add(3 * time.Hour)
	rotations := 0
	for {
		*b.now = b.now.Add(50 * time.Minute)
		next, err := b.m.Refresh(ctx, s.RefreshToken)
		if err != nil {
			if !apperr.Is(err, apperr.Unauthorized) {
				t.Fatal(err)
			}
			break
		}
		if next.RefreshExpiresAt.After(end) {
			t.Fatalf("rotation %d expires at %v, after the session's end %v", rotations+1, next.RefreshExpiresAt, end)
		}
		s, rotations = next, rotations+1
		if rotations > 10 {
			t.Fatalf("the session was still rotating %v after sign-in; its max age is 3h", b.now.Sub(start))
		}
	}
	if rotations != 3 || b.now.Before(end) {
		t.Fatalf("the session ended after %d rotations at +%v; want 3 rotations and the end at +3h", rotations, b.now.Sub(start))
	}
}
