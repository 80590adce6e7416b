package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
)

// oidcLogin returns a sign-in whose state hash is state, expiring after ttl.
func oidcLogin(state string, ttl time.Duration) store.OIDCLogin {
	return store.OIDCLogin{
		StateHash: []byte(state), Nonce: "nonce of " + state, PKCEVerifier: "verifier of " + state,
		ExpiresAt: time.Now().Add(ttl).UTC().Truncate(time.Microsecond),
	}
}

func TestOIDCLogins(t *testing.T) {
	t.Run("a sign-in is taken once, as it was created", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		in := oidcLogin("state", 10*time.Minute)
		if err := st.CreateOIDCLogin(ctx, in); err != nil {
			t.Fatal(err)
		}

		got, err := st.TakeOIDCLogin(ctx, in.StateHash)

		if err != nil {
			t.Fatal(err)
		}
		if string(got.StateHash) != string(in.StateHash) || got.Nonce != in.Nonce || got.PKCEVerifier != in.PKCEVerifier ||
			!got.ExpiresAt.Equal(in.ExpiresAt) {
			t.Errorf("TakeOIDCLogin = %+v, want %+v", got, in)
		}
		_, err = st.TakeOIDCLogin(ctx, in.StateHash)
		wantCode(t, "TakeOIDCLogin a second time", err, apperr.NotFound)
	})

	t.Run("expired sign-ins are deleted and the others kept", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		logins := []store.OIDCLogin{oidcLogin("old", -time.Hour), oidcLogin("older", -2*time.Hour), oidcLogin("live", time.Hour)}
		for _, l := range logins {
			if err := st.CreateOIDCLogin(ctx, l); err != nil {
				t.Fatal(err)
			}
		}

		n, err := st.DeleteExpiredOIDCLogins(ctx, time.Now())

		if err != nil || n != 2 {
			t.Fatalf("DeleteExpiredOIDCLogins = %d, %v; want 2", n, err)
		}
		_, err = st.TakeOIDCLogin(ctx, logins[0].StateHash)
		wantCode(t, "TakeOIDCLogin of an expired sign-in", err, apperr.NotFound)
		if _, err := st.TakeOIDCLogin(ctx, logins[2].StateHash); err != nil {
			t.Errorf("TakeOIDCLogin of a live sign-in: %v", err)
		}
	})

	tests := []struct {
		name string
		call func(st *store.Store) error
		want apperr.Code
	}{
		{
			name: "a state already pending is a conflict",
			call: func(st *store.Store) error {
				return st.CreateOIDCLogin(context.Background(), oidcLogin("pending", time.Hour))
			},
			want: apperr.Conflict,
		},
		{
			name: "a nonce with a NUL byte is invalid",
			call: func(st *store.Store) error {
				l := oidcLogin("other", time.Hour)
				l.Nonce = "nul \x00"
				return st.CreateOIDCLogin(context.Background(), l)
			},
			want: apperr.Invalid,
		},
		{
			name: "an unknown state is not found",
			call: func(st *store.Store) error {
				_, err := st.TakeOIDCLogin(context.Background(), []byte("unknown"))
				return err
			},
			want: apperr.NotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := setup(t)
			if err := st.CreateOIDCLogin(context.Background(), oidcLogin("pending", time.Hour)); err != nil {
				t.Fatal(err)
			}
			wantCode(t, "the call", tt.call(st), tt.want)
		})
	}
}
