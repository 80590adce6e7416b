package store

import (
	"context"
	"time"

	"github.com/quickchat-go/quickchat/db/dbgen"
)

// OIDCLogin is an OIDC sign-in in progress, found again by a hash of its state parameter.
type OIDCLogin struct {
	StateHash    []byte
	Nonce        string
	PKCEVerifier string
	ExpiresAt    time.Time
}

// CreateOIDCLogin records a sign-in that was sent to the identity provider.
func (s *Store) CreateOIDCLogin(ctx context.Context, l OIDCLogin) error {
	err := s.q.CreateOIDCLogin(ctx, dbgen.CreateOIDCLoginParams{
		StateHash: l.StateHash, Nonce: l.Nonce, PkceVerifier: l.PKCEVerifier, ExpiresAt: l.ExpiresAt,
	})
	return translate(err, "sign-in")
}

// TakeOIDCLogin removes and returns the sign-in with the given state hash, so each state is
// redeemed at most once. An unknown (or already used) state is apperr.NotFound.
func (s *Store) TakeOIDCLogin(ctx context.Context, stateHash []byte) (OIDCLogin, error) {
	row, err := s.q.TakeOIDCLogin(ctx, stateHash)
	if err != nil {
		return OIDCLogin{}, translate(err, "sign-in")
	}
	return OIDCLogin{StateHash: row.StateHash, Nonce: row.Nonce, PKCEVerifier: row.PkceVerifier, ExpiresAt: row.ExpiresAt}, nil
}

// DeleteExpiredOIDCLogins removes sign-ins that were never finished.
func (s *Store) DeleteExpiredOIDCLogins(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.q.DeleteExpiredOIDCLogins(ctx, now)
	if err != nil {
		return 0, translate(err, "sign-ins")
	}
	return n, nil
}
