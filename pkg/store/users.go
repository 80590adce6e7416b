package store

import (
	"context"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/db/dbgen"
)

// CreateUser stores a new account; an email already in use is apperr.Conflict.
func (s *Store) CreateUser(ctx context.Context, u User) (User, error) {
	row, err := s.q.CreateUser(ctx, dbgen.CreateUserParams{
		ID: u.ID, Email: u.Email, Name: u.Name,
		PasswordHash: nullable(u.PasswordHash), OidcIssuer: nullable(u.OIDCIssuer), OidcSubject: nullable(u.OIDCSubject),
	})
	if err != nil {
		return User{}, translate(err, "account")
	}
	return userFrom(row), nil
}

// UserByID returns an account by id.
func (s *Store) UserByID(ctx context.Context, id uuid.UUID) (User, error) {
	row, err := s.q.GetUserByID(ctx, id)
	if err != nil {
		return User{}, translate(err, "account")
	}
	return userFrom(row), nil
}

// UserByEmail returns an account by its normalized email.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	row, err := s.q.GetUserByEmail(ctx, email)
	if err != nil {
		return User{}, translate(err, "account")
	}
	return userFrom(row), nil
}

// UserByOIDC returns the account linked to an external identity.
func (s *Store) UserByOIDC(ctx context.Context, issuer, subject string) (User, error) {
	row, err := s.q.GetUserByOIDC(ctx, dbgen.GetUserByOIDCParams{OidcIssuer: &issuer, OidcSubject: &subject})
	if err != nil {
		return User{}, translate(err, "account")
	}
	return userFrom(row), nil
}

// ClaimUserForOIDC links an external identity to the account id, which must have none
// yet, removes the account's password and revokes its sessions and its remembered
// sign-in addresses, all in one transaction: from then on only the identity signs in to
// it. An account that is gone or already linked is apperr.NotFound; an identity linked
// to another account is apperr.Conflict.
func (s *Store) ClaimUserForOIDC(ctx context.Context, id uuid.UUID, issuer, subject string) (User, error) {
	var row dbgen.User
	err := s.inTx(ctx, func(q *dbgen.Queries) error {
		var err error
		row, err = q.ClaimUserForOIDC(ctx, dbgen.ClaimUserForOIDCParams{ID: id, OidcIssuer: &issuer, OidcSubject: &subject})
		if err != nil {
			return translate(err, "unlinked account")
		}
		if err := q.RevokeUserRefreshTokens(ctx, id); err != nil {
			return translate(err, "refresh tokens")
		}
		return translate(q.ForgetSignInAddresses(ctx, id), "sign-in addresses")
	})
	if err != nil {
		return User{}, err
	}
	return userFrom(row), nil
}

func userFrom(r dbgen.User) User {
	return User{
		ID: r.ID, Email: r.Email, Name: r.Name, PasswordHash: deref(r.PasswordHash),
		OIDCIssuer: deref(r.OidcIssuer), OIDCSubject: deref(r.OidcSubject), CreatedAt: r.CreatedAt,
	}
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
