package oidclogin

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/quickchat-go/quickchat/pkg/apperr"
)

// Config identifies the provider and this client to it.
type Config struct {
	// Issuer is the provider's issuer URL; discovery reads Issuer/.well-known/openid-configuration.
	Issuer string
	// ClientID and ClientSecret are this application's credentials at the provider.
	ClientID     string
	ClientSecret string
	// RedirectURL is the gateway's callback URL as registered at the provider.
	RedirectURL string
	// Scopes are requested in addition to "openid" (default: email, profile).
	Scopes []string
	// HTTPClient talks to the provider (default: a client with a 10 s timeout).
	HTTPClient *http.Client
}

// Identity is what the provider vouches for.
type Identity struct {
	Issuer        string
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// Client runs the authorization-code flow against one provider. Discovery happens on first
// use and is retried on later calls if it fails, so the gateway starts even while the
// provider is unreachable.
type Client struct {
	cfg Config

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURL == "" {
		return nil, errors.New("oidclogin: issuer, client id and redirect URL are required")
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"email", "profile"}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{cfg: cfg}, nil
}

func (c *Client) ctx(ctx context.Context) context.Context {
	ctx = oidc.ClientContext(ctx, c.cfg.HTTPClient)
	return context.WithValue(ctx, oauth2.HTTPClient, c.cfg.HTTPClient)
}

func (c *Client) discover(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.oauth != nil {
		return c.oauth, c.verifier, nil
	}
	// The provider keeps the HTTP client from this context for its key set, but not the
	// context's deadline or cancellation, which is what we want for a long-lived client.
	p, err := oidc.NewProvider(c.ctx(ctx), c.cfg.Issuer)
	if err != nil {
		return nil, nil, apperr.Wrap(err, apperr.Unavailable, "identity provider unavailable")
	}
	c.oauth = &oauth2.Config{
		ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret, RedirectURL: c.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, c.cfg.Scopes...),
	}
	c.verifier = p.Verifier(&oidc.Config{ClientID: c.cfg.ClientID})
	return c.oauth, c.verifier, nil
}

// AuthURL returns the provider URL to send the browser to. state and nonce must be
// unguessable and remembered for the callback, as must pkceVerifier (see NewVerifier).
func (c *Client) AuthURL(ctx context.Context, state, nonce, pkceVerifier string) (string, error) {
	oc, _, err := c.discover(ctx)
	if err != nil {
		return "", err
	}
	return oc.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(pkceVerifier)), nil
}

// NewVerifier returns a fresh PKCE code verifier.
func NewVerifier() string { return oauth2.GenerateVerifier() }

// Exchange redeems an authorization code, verifies the ID token it yields (signature,
// issuer, audience, expiry) and checks its nonce. Failures the user can fix by signing in
// again are apperr.Unauthorized.
func (c *Client) Exchange(ctx context.Context, code, pkceVerifier, nonce string) (Identity, error) {
	oc, verifier, err := c.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	ctx = c.ctx(ctx)
	tok, err := oc.Exchange(ctx, code, oauth2.VerifierOption(pkceVerifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return Identity{}, apperr.Wrap(err, apperr.Unauthorized, "the identity provider refused the sign-in")
		}
		return Identity{}, apperr.Wrap(err, apperr.Unavailable, "identity provider unavailable")
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, apperr.New(apperr.Unauthorized, "the identity provider returned no ID token")
	}
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, apperr.Wrap(err, apperr.Unauthorized, "the identity provider's ID token is invalid")
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return Identity{}, apperr.New(apperr.Unauthorized, "the ID token does not belong to this sign-in")
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"`
		Name          string `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, apperr.Wrap(err, apperr.Unauthorized, "the ID token's claims are malformed")
	}
	return Identity{
		Issuer: idt.Issuer, Subject: idt.Subject, Email: claims.Email,
		EmailVerified: isTrue(claims.EmailVerified), Name: claims.Name,
	}, nil
}

// isTrue accepts the boolean true and, because some providers send it that way, the
// string "true".
func isTrue(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return b == "true"
	}
	return false
}
