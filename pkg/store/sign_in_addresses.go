package store

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/db/dbgen"
)

// RememberSignInAddress records that the account signed in from client (a rate-limit key
// such as clientip.Key returns) and keeps that in mind until at least until.
func (s *Store) RememberSignInAddress(ctx context.Context, user uuid.UUID, client string, until time.Time) error {
	err := s.q.RememberSignInAddress(ctx, dbgen.RememberSignInAddressParams{UserID: user, Client: client, ExpiresAt: until})
	return translate(err, "sign-in address")
}

// SignInAddressKnown reports whether the account signed in from client recently enough
// to be remembered at now. Unknown accounts have no known addresses.
func (s *Store) SignInAddressKnown(ctx context.Context, user uuid.UUID, client string, now time.Time) (bool, error) {
	known, err := s.q.SignInAddressKnown(ctx, dbgen.SignInAddressKnownParams{UserID: user, Client: client, Now: now})
	if err != nil {
		return false, translate(err, "sign-in address")
	}
	return known, nil
}

// DeleteExpiredSignInAddresses removes addresses no longer remembered at now and returns
// how many.
func (s *Store) DeleteExpiredSignInAddresses(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.q.DeleteExpiredSignInAddresses(ctx, now)
	if err != nil {
		return 0, translate(err, "sign-in addresses")
	}
	return n, nil
}
