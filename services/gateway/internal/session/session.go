package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/token"
)

// Store is what sessions need from persistence.
type Store interface {
	UserByID(ctx context.Context, id uuid.UUID) (store.User, error)
	CreateRefreshToken(ctx context.Context, t store.RefreshToken) error
	RefreshTokenByHash(ctx context.Context, hash []byte) (store.RefreshToken, error)
	RotateRefreshToken(ctx context.Context, old uuid.UUID, next store.RefreshToken) error
	RevokeRefreshTokenFamily(ctx context.Context, family uuid.UUID) error
}

// Config sets token lifetimes.
type Config struct {
	// AccessTTL is the lifetime of access JWTs.
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of each refresh token; every rotation starts a new one, so
	// a session ends after this long unused.
	RefreshTTL time.Duration
	// MaxAge is the absolute lifetime of a session, from sign-in: no rotation extends a
	// refresh token past it. Zero means RefreshTTL (rotation never extends a session).
	MaxAge time.Duration
}

// Manager starts, renews and ends sessions.
type Manager struct {
	store  Store
	signer *token.Signer
	cfg    Config
	now    func() time.Time
}

// New returns a Manager.
func New(st Store, signer *token.Signer, cfg Config) *Manager {
	return &Manager{store: st, signer: signer, cfg: cfg, now: time.Now}
}

// Session is what a client receives when it signs in or refreshes.
type Session struct {
	User             store.User
	AccessToken      string
	AccessTTL        time.Duration
	RefreshToken     string
	RefreshExpiresAt time.Time
}

// refreshPrefix marks our refresh tokens so secret scanners and humans recognize them.
const refreshPrefix = "qcrt_"

var errInvalid = apperr.New(apperr.Unauthorized, "refresh token invalid, expired or revoked")

// Start opens a new session (a new refresh-token family) for u, which ends MaxAge later
// at the latest.
func (m *Manager) Start(ctx context.Context, u store.User) (Session, error) {
	maxAge := m.cfg.MaxAge
	if maxAge <= 0 {
		maxAge = m.cfg.RefreshTTL
	}
	raw, rt, err := m.newRefresh(u.ID, uuid.New(), m.now().Add(maxAge))
	if err != nil {
		return Session{}, err
	}
	if err := m.store.CreateRefreshToken(ctx, rt); err != nil {
		return Session{}, fmt.Errorf("session: start: %w", err)
	}
	return m.session(u, raw, rt)
}

// Refresh exchanges a refresh token for a new session in the same family. The presented
// token stops working. Presenting a token that was already exchanged revokes its family,
// so both a thief and the victim have to sign in again.
func (m *Manager) Refresh(ctx context.Context, raw string) (Session, error) {
	old, err := m.lookup(ctx, raw)
	if err != nil {
		return Session{}, err
	}
	if old.RevokedAt != nil || !m.now().Before(old.ExpiresAt) {
		return Session{}, errInvalid
	}
	if old.RotatedAt != nil {
		return Session{}, m.reuse(ctx, old)
	}
	u, err := m.store.UserByID(ctx, old.UserID)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return Session{}, errInvalid
		}
		return Session{}, fmt.Errorf("session: refresh: %w", err)
	}
	nextRaw, next, err := m.newRefresh(old.UserID, old.FamilyID, old.FamilyExpiresAt)
	if err != nil {
		return Session{}, err
	}
	if err := m.store.RotateRefreshToken(ctx, old.ID, next); err != nil {
		if apperr.Is(err, apperr.Conflict) {
			// Someone exchanged this token between our read and our write.
			return Session{}, m.reuse(ctx, old)
		}
		return Session{}, fmt.Errorf("session: refresh: %w", err)
	}
	return m.session(u, nextRaw, next)
}

// Revoke ends the session raw belongs to, revoking its whole family. Unknown tokens are
// not an error: the outcome, no live session for raw, already holds.
func (m *Manager) Revoke(ctx context.Context, raw string) error {
	old, err := m.lookup(ctx, raw)
	if err != nil {
		if apperr.Is(err, apperr.Unauthorized) {
			return nil
		}
		return err
	}
	if err := m.store.RevokeRefreshTokenFamily(ctx, old.FamilyID); err != nil {
		return fmt.Errorf("session: revoke: %w", err)
	}
	return nil
}

func (m *Manager) reuse(ctx context.Context, old store.RefreshToken) error {
	if err := m.store.RevokeRefreshTokenFamily(ctx, old.FamilyID); err != nil {
		return fmt.Errorf("session: revoke reused family: %w", err)
	}
	return apperr.New(apperr.Unauthorized, "refresh token was already used; sign in again")
}

func (m *Manager) lookup(ctx context.Context, raw string) (store.RefreshToken, error) {
	if !strings.HasPrefix(raw, refreshPrefix) || len(raw) > 128 {
		return store.RefreshToken{}, errInvalid
	}
	t, err := m.store.RefreshTokenByHash(ctx, hashRefresh(raw))
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return store.RefreshToken{}, errInvalid
		}
		return store.RefreshToken{}, fmt.Errorf("session: look up refresh token: %w", err)
	}
	return t, nil
}

// newRefresh makes a token of the family that lives RefreshTTL, but never past the
// family's absolute end.
func (m *Manager) newRefresh(user, family uuid.UUID, familyEnd time.Time) (string, store.RefreshToken, error) {
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", store.RefreshToken{}, fmt.Errorf("session: random: %w", err)
	}
	raw := refreshPrefix + base64.RawURLEncoding.EncodeToString(secret[:])
	return raw, store.RefreshToken{
		ID: uuid.New(), UserID: user, FamilyID: family, Hash: hashRefresh(raw),
		ExpiresAt: minTime(m.now().Add(m.cfg.RefreshTTL), familyEnd), FamilyExpiresAt: familyEnd,
	}, nil
}

func (m *Manager) session(u store.User, raw string, rt store.RefreshToken) (Session, error) {
	access, err := m.accessToken(u)
	if err != nil {
		return Session{}, err
	}
	return Session{User: u, AccessToken: access, AccessTTL: m.cfg.AccessTTL, RefreshToken: raw, RefreshExpiresAt: rt.ExpiresAt}, nil
}

// accessToken signs an access JWT for u.
func (m *Manager) accessToken(u store.User) (string, error) {
	tok, err := m.signer.Sign(token.Claims{Subject: u.ID.String(), Kind: token.KindAccess, Name: u.Name}, m.cfg.AccessTTL)
	if err != nil {
		return "", fmt.Errorf("session: sign access token: %w", err)
	}
	return tok, nil
}

// hashRefresh is a fast hash on purpose: refresh tokens carry 256 random bits, so a slow
// hash would add cost without adding safety.
func hashRefresh(raw string) []byte {
	h := sha256.Sum256([]byte(raw))
	return h[:]
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
