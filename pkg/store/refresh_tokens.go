package store

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/db/dbgen"
	"github.com/quickchat-go/quickchat/pkg/apperr"
)

// RefreshToken is a stored refresh token. Only a hash of the secret is kept.
type RefreshToken struct {
	ID     uuid.UUID
	UserID uuid.UUID
	// FamilyID is shared by every token rotated from one sign-in.
	FamilyID  uuid.UUID
	Hash      []byte
	ExpiresAt time.Time
	// FamilyExpiresAt is the absolute end of the session the token belongs to, the same
	// for every token of a family; zero means ExpiresAt.
	FamilyExpiresAt time.Time
	CreatedAt       time.Time
	// RotatedAt is set once the token has been exchanged for its successor.
	RotatedAt *time.Time
	// RevokedAt is set when the token's family was revoked (logout or reuse).
	RevokedAt *time.Time
}

// CreateRefreshToken stores a new refresh token.
func (s *Store) CreateRefreshToken(ctx context.Context, t RefreshToken) error {
	return translate(s.q.CreateRefreshToken(ctx, refreshParams(t)), "refresh token")
}

func refreshParams(t RefreshToken) dbgen.CreateRefreshTokenParams {
	family := t.FamilyExpiresAt
	if family.IsZero() {
		family = t.ExpiresAt
	}
	return dbgen.CreateRefreshTokenParams{
		ID: t.ID, UserID: t.UserID, FamilyID: t.FamilyID, TokenHash: t.Hash, ExpiresAt: t.ExpiresAt, FamilyExpiresAt: family,
	}
}

// RefreshTokenByHash returns the refresh token with the given hash.
func (s *Store) RefreshTokenByHash(ctx context.Context, hash []byte) (RefreshToken, error) {
	row, err := s.q.GetRefreshTokenByHash(ctx, hash)
	if err != nil {
		return RefreshToken{}, translate(err, "refresh token")
	}
	return RefreshToken{
		ID: row.ID, UserID: row.UserID, FamilyID: row.FamilyID, Hash: row.TokenHash,
		ExpiresAt: row.ExpiresAt, FamilyExpiresAt: row.FamilyExpiresAt, CreatedAt: row.CreatedAt,
		RotatedAt: row.RotatedAt, RevokedAt: row.RevokedAt,
	}, nil
}

// RotateRefreshToken marks the token old as used and stores next, in one transaction. If
// old was already rotated or revoked (a concurrent refresh won, or the token is being
// replayed) nothing is stored and the error is apperr.Conflict.
func (s *Store) RotateRefreshToken(ctx context.Context, old uuid.UUID, next RefreshToken) error {
	err := s.inTx(ctx, func(q *dbgen.Queries) error {
		n, err := q.MarkRefreshTokenRotated(ctx, old)
		if err != nil {
			return translate(err, "refresh token")
		}
		if n == 0 {
			return apperr.New(apperr.Conflict, "refresh token already used")
		}
		return translate(q.CreateRefreshToken(ctx, refreshParams(next)), "refresh token")
	})
	return err
}

// RevokeRefreshTokenFamily revokes every token of a family that is not revoked yet.
func (s *Store) RevokeRefreshTokenFamily(ctx context.Context, family uuid.UUID) error {
	return translate(s.q.RevokeRefreshTokenFamily(ctx, family), "refresh tokens")
}

// DeleteExpiredRefreshTokens removes tokens that expired before the given time and returns
// how many it removed.
func (s *Store) DeleteExpiredRefreshTokens(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.q.DeleteExpiredRefreshTokens(ctx, before)
	if err != nil {
		return 0, translate(err, "refresh tokens")
	}
	return n, nil
}
