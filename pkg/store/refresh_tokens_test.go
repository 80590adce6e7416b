package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
)

// refreshToken returns a new token of user in family, expiring after ttl.
func refreshToken(user, family uuid.UUID, ttl time.Duration) store.RefreshToken {
	id := uuid.New()
	return store.RefreshToken{
		ID: id, UserID: user, FamilyID: family, Hash: []byte("hash of " + id.String()),
		ExpiresAt: time.Now().Add(ttl).UTC().Truncate(time.Microsecond),
	}
}

// tokenByHash returns the stored token with t's hash, failing tt if there is none.
func tokenByHash(tb *testing.T, st *store.Store, t store.RefreshToken) store.RefreshToken {
	tb.Helper()
	got, err := st.RefreshTokenByHash(context.Background(), t.Hash)
	if err != nil {
		tb.Fatalf("RefreshTokenByHash(%v): %v", t.ID, err)
	}
	return got
}

func TestRefreshTokens(t *testing.T) {
	t.Run("a token is found by its hash, neither rotated nor revoked", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		in := refreshToken(newUser(t, st).ID, uuid.New(), time.Hour)
		if err := st.CreateRefreshToken(context.Background(), in); err != nil {
			t.Fatal(err)
		}

		got := tokenByHash(t, st, in)

		if got.ID != in.ID || got.UserID != in.UserID || got.FamilyID != in.FamilyID || string(got.Hash) != string(in.Hash) ||
			!got.ExpiresAt.Equal(in.ExpiresAt) || got.RotatedAt != nil || got.RevokedAt != nil {
			t.Errorf("RefreshTokenByHash = %+v, want %+v", got, in)
		}
		recent(t, "CreatedAt", got.CreatedAt)
	})

	t.Run("rotating a token marks it used and stores its successor", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		user, family := newUser(t, st).ID, uuid.New()
		old, next := refreshToken(user, family, time.Hour), refreshToken(user, family, time.Hour)
		if err := st.CreateRefreshToken(ctx, old); err != nil {
			t.Fatal(err)
		}

		if err := st.RotateRefreshToken(ctx, old.ID, next); err != nil {
			t.Fatal(err)
		}

		if got := tokenByHash(t, st, old); got.RotatedAt == nil || got.RevokedAt != nil {
			t.Errorf("old token: rotated %v revoked %v; want rotated only", got.RotatedAt, got.RevokedAt)
		}
		if got := tokenByHash(t, st, next); got.ID != next.ID || got.FamilyID != family || got.RotatedAt != nil {
			t.Errorf("successor = %+v, want %+v unrotated", got, next)
		}
	})

	t.Run("revoking a family revokes each of its tokens once and no other family's", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		user, family := newUser(t, st).ID, uuid.New()
		a, b, other := refreshToken(user, family, time.Hour), refreshToken(user, family, time.Hour), refreshToken(user, uuid.New(), time.Hour)
		for _, tok := range []store.RefreshToken{a, b, other} {
			if err := st.CreateRefreshToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}

		if err := st.RevokeRefreshTokenFamily(ctx, family); err != nil {
			t.Fatal(err)
		}
		first := tokenByHash(t, st, a).RevokedAt
		if err := st.RevokeRefreshTokenFamily(ctx, family); err != nil {
			t.Fatal(err)
		}

		for _, tok := range []store.RefreshToken{a, b} {
			if got := tokenByHash(t, st, tok); got.RevokedAt == nil {
				t.Errorf("token %v of the revoked family is not revoked", tok.ID)
			}
		}
		if again := tokenByHash(t, st, a).RevokedAt; first == nil || again == nil || !again.Equal(*first) {
			t.Errorf("revoked at %v, then at %v by the second revocation; want the first time kept", first, again)
		}
		if got := tokenByHash(t, st, other); got.RevokedAt != nil {
			t.Errorf("token of another family was revoked at %v", got.RevokedAt)
		}
	})

	t.Run("expired tokens are deleted and the others kept", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		user := newUser(t, st).ID
		expired1, expired2, live := refreshToken(user, uuid.New(), -2*time.Hour), refreshToken(user, uuid.New(), -time.Hour), refreshToken(user, uuid.New(), time.Hour)
		for _, tok := range []store.RefreshToken{expired1, expired2, live} {
			if err := st.CreateRefreshToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}

		n, err := st.DeleteExpiredRefreshTokens(ctx, time.Now())

		if err != nil || n != 2 {
			t.Fatalf("DeleteExpiredRefreshTokens = %d, %v; want 2", n, err)
		}
		_, err = st.RefreshTokenByHash(ctx, expired1.Hash)
		wantCode(t, "RefreshTokenByHash of an expired token", err, apperr.NotFound)
		tokenByHash(t, st, live)
	})

	rotations := []struct {
		name string
		// prepare puts the old token (already stored) in the state under test and returns
		// the successor to rotate to.
		prepare func(t *testing.T, st *store.Store, old store.RefreshToken) store.RefreshToken
	}{
		{
			name: "rotating a token a second time is a conflict and stores nothing",
			prepare: func(t *testing.T, st *store.Store, old store.RefreshToken) store.RefreshToken {
				if err := st.RotateRefreshToken(context.Background(), old.ID, refreshToken(old.UserID, old.FamilyID, time.Hour)); err != nil {
					t.Fatal(err)
				}
				return refreshToken(old.UserID, old.FamilyID, time.Hour)
			},
		},
		{
			name: "rotating a revoked token is a conflict and stores nothing",
			prepare: func(t *testing.T, st *store.Store, old store.RefreshToken) store.RefreshToken {
				if err := st.RevokeRefreshTokenFamily(context.Background(), old.FamilyID); err != nil {
					t.Fatal(err)
				}
				return refreshToken(old.UserID, old.FamilyID, time.Hour)
			},
		},
		{
			name: "rotating to a successor whose hash is taken is a conflict and leaves the token unused",
			prepare: func(t *testing.T, st *store.Store, old store.RefreshToken) store.RefreshToken {
				taken := refreshToken(old.UserID, uuid.New(), time.Hour)
				if err := st.CreateRefreshToken(context.Background(), taken); err != nil {
					t.Fatal(err)
				}
				next := refreshToken(old.UserID, old.FamilyID, time.Hour)
				next.Hash = taken.Hash
				return next
			},
		},
	}
	for _, tt := range rotations {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := setup(t)
			ctx := context.Background()
			old := refreshToken(newUser(t, st).ID, uuid.New(), time.Hour)
			if err := st.CreateRefreshToken(ctx, old); err != nil {
				t.Fatal(err)
			}
			next := tt.prepare(t, st, old)
			before := tokenByHash(t, st, old)

			err := st.RotateRefreshToken(ctx, old.ID, next)

			wantCode(t, "RotateRefreshToken", err, apperr.Conflict)
			if got, err := st.RefreshTokenByHash(ctx, next.Hash); err == nil && got.ID == next.ID {
				t.Errorf("the successor %v was stored", next.ID)
			}
			after := tokenByHash(t, st, old)
			if (before.RotatedAt == nil) != (after.RotatedAt == nil) || (before.RevokedAt == nil) != (after.RevokedAt == nil) {
				t.Errorf("old token went from rotated %v revoked %v to rotated %v revoked %v",
					before.RotatedAt, before.RevokedAt, after.RotatedAt, after.RevokedAt)
			}
		})
	}

	tests := []struct {
		name string
		call func(st *store.Store, user uuid.UUID, existing store.RefreshToken) error
		want apperr.Code
	}{
		{
			name: "a token of an unknown account is not found",
			call: func(st *store.Store, _ uuid.UUID, _ store.RefreshToken) error {
				return st.CreateRefreshToken(context.Background(), refreshToken(uuid.New(), uuid.New(), time.Hour))
			},
			want: apperr.NotFound,
		},
		{
			name: "a token whose hash is taken is a conflict",
			call: func(st *store.Store, user uuid.UUID, existing store.RefreshToken) error {
				tok := refreshToken(user, uuid.New(), time.Hour)
				tok.Hash = existing.Hash
				return st.CreateRefreshToken(context.Background(), tok)
			},
			want: apperr.Conflict,
		},
		{
			name: "an unknown hash is not found",
			call: func(st *store.Store, _ uuid.UUID, _ store.RefreshToken) error {
				_, err := st.RefreshTokenByHash(context.Background(), []byte("no such hash"))
				return err
			},
			want: apperr.NotFound,
		},
		{
			name: "rotating an unknown token is a conflict, as if it had been used",
			call: func(st *store.Store, user uuid.UUID, _ store.RefreshToken) error {
				return st.RotateRefreshToken(context.Background(), uuid.New(), refreshToken(user, uuid.New(), time.Hour))
			},
			want: apperr.Conflict,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := setup(t)
			user := newUser(t, st).ID
			existing := refreshToken(user, uuid.New(), time.Hour)
			if err := st.CreateRefreshToken(context.Background(), existing); err != nil {
				t.Fatal(err)
			}
			wantCode(t, "the call", tt.call(st, user, existing), tt.want)
		})
	}
}
