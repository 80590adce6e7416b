package token

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/quickchat-go/quickchat/pkg/apperr"
)

// Verifier checks a token's signature and validity and returns its claims. Failures are
// apperr.Unauthorized.
type Verifier interface {
	Verify(ctx context.Context, raw string) (Claims, error)
}

var (
	_ Verifier = (*StaticVerifier)(nil)
	_ Verifier = (*RemoteVerifier)(nil)
)

// clockSkew is how far verifier and signer clocks may disagree.
const clockSkew = 30 * time.Second

// StaticVerifier verifies against a fixed set of public keys.
type StaticVerifier struct {
	keys jwk.Set
}

// NewStaticVerifier returns a verifier that trusts exactly keys.
func NewStaticVerifier(keys jwk.Set) *StaticVerifier { return &StaticVerifier{keys: keys} }

// Verify implements Verifier.
func (v *StaticVerifier) Verify(_ context.Context, raw string) (Claims, error) {
	return parse(raw, v.keys)
}

// RemoteVerifier verifies against the JWKS published at a URL. The set is cached and
// refreshed in the background; a token signed by an unknown key id triggers one refresh
// (at most once per MinRefresh) so a freshly rotated key is picked up at once.
type RemoteVerifier struct {
	url        string
	cache      *jwk.Cache
	minRefresh time.Duration

	mu          sync.Mutex
	lastRefresh time.Time
}

// RemoteVerifierConfig configures a RemoteVerifier.
type RemoteVerifierConfig struct {
	// URL of the JWKS document, e.g. http://gateway:8080/.well-known/jwks.json.
	URL string
	// RefreshInterval is how often the set is refreshed in the background (default 5m).
	RefreshInterval time.Duration
	// MinRefresh is the least time between refreshes forced by unknown key ids (default 10s).
	MinRefresh time.Duration
	// HTTPClient fetches the set (default: a client with a 5 s timeout).
	HTTPClient *http.Client
}

// NewRemoteVerifier registers the JWKS URL and fetches it once. The background refresh
// stops when ctx is done. A gateway that is not up yet is not an error: the first
// verification retries the fetch.
func NewRemoteVerifier(ctx context.Context, cfg RemoteVerifierConfig) (*RemoteVerifier, error) {
	if cfg.URL == "" {
		return nil, fmt.Errorf("token: JWKS URL is required")
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = 5 * time.Minute
	}
	if cfg.MinRefresh <= 0 {
		cfg.MinRefresh = 10 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	cache := jwk.NewCache(ctx, jwk.WithRefreshWindow(cfg.RefreshInterval/2))
	if err := cache.Register(cfg.URL,
		jwk.WithRefreshInterval(cfg.RefreshInterval),
		jwk.WithHTTPClient(cfg.HTTPClient)); err != nil {
		return nil, fmt.Errorf("token: register JWKS %s: %w", cfg.URL, err)
	}
	v := &RemoteVerifier{url: cfg.URL, cache: cache, minRefresh: cfg.MinRefresh}
	_, _ = cache.Refresh(ctx, cfg.URL) // best effort; Verify retries
	return v, nil
}

// Ready reports whether the key set has been fetched at least once.
func (v *RemoteVerifier) Ready(ctx context.Context) error {
	if _, err := v.keySet(ctx); err != nil {
		return err
	}
	return nil
}

// Verify implements Verifier.
func (v *RemoteVerifier) Verify(ctx context.Context, raw string) (Claims, error) {
	keys, err := v.keySet(ctx)
	if err != nil {
		return Claims{}, apperr.Wrap(err, apperr.Unavailable, "signing keys unavailable")
	}
	c, err := parse(raw, keys)
	if err == nil || !unknownKey(raw, keys) {
		return c, err
	}
	// The token names a key we do not know: maybe the gateway rotated. Refresh once.
	if !v.mayRefresh() {
		return c, err
	}
	keys, rerr := v.cache.Refresh(ctx, v.url)
	if rerr != nil {
		return Claims{}, apperr.Wrap(rerr, apperr.Unavailable, "signing keys unavailable")
	}
	return parse(raw, keys)
}

func (v *RemoteVerifier) keySet(ctx context.Context) (jwk.Set, error) {
	keys, err := v.cache.Get(ctx, v.url)
	if err == nil && keys.Len() > 0 {
		return keys, nil
	}
	if !v.mayRefresh() {
		return nil, fmt.Errorf("token: no JWKS from %s yet: %w", v.url, err)
	}
	keys, err = v.cache.Refresh(ctx, v.url)
	if err != nil {
		return nil, fmt.Errorf("token: fetch JWKS %s: %w", v.url, err)
	}
	return keys, nil
}

func (v *RemoteVerifier) mayRefresh() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if time.Since(v.lastRefresh) < v.minRefresh {
		return false
	}
	v.lastRefresh = time.Now()
	return true
}

// unknownKey reports whether raw is signed with a key id that keys does not hold.
func unknownKey(raw string, keys jwk.Set) bool {
	kid, ok := keyID(raw)
	if !ok {
		return false
	}
	_, found := keys.LookupKeyID(kid)
	return !found
}

func parse(raw string, keys jwk.Set) (Claims, error) {
	if raw == "" {
		return Claims{}, apperr.New(apperr.Unauthorized, "token missing")
	}
	tok, err := jwt.ParseString(raw,
		jwt.WithKeySet(keys, jwsRequireKid()),
		jwt.WithValidate(true),
		jwt.WithIssuer(Issuer),
		jwt.WithAcceptableSkew(clockSkew),
	)
	if err != nil {
		return Claims{}, apperr.Wrap(err, apperr.Unauthorized, "token invalid or expired")
	}
	c := Claims{
		Subject:  tok.Subject(),
		IssuedAt: tok.IssuedAt(),
		Expiry:   tok.Expiration(),
		ID:       tok.JwtID(),
	}
	c.Kind = Kind(stringClaim(tok, claimKind))
	c.GroupID = stringClaim(tok, claimGroupID)
	c.UserID = stringClaim(tok, claimUserID)
	c.Name = stringClaim(tok, claimName)
	switch {
	case c.Subject == "":
		return Claims{}, apperr.New(apperr.Unauthorized, "token has no subject")
	case c.Kind != KindAccess && c.Kind != KindMember:
		return Claims{}, apperr.New(apperr.Unauthorized, "token of unknown kind")
	case c.Kind == KindMember && c.GroupID == "":
		return Claims{}, apperr.New(apperr.Unauthorized, "member token without group")
	case c.Expiry.IsZero():
		return Claims{}, apperr.New(apperr.Unauthorized, "token without expiry")
	}
	return c, nil
}

func stringClaim(tok jwt.Token, name string) string {
	v, ok := tok.Get(name)
	if !ok {
		return ""
	}
	s, _ := v.(string)
	return s
}
