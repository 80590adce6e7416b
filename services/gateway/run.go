package main

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/clientip"
	"github.com/quickchat-go/quickchat/pkg/logging"
	"github.com/quickchat-go/quickchat/pkg/ops"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/services/gateway/internal/app"
	"github.com/quickchat-go/quickchat/services/gateway/internal/httpapi"
	"github.com/quickchat-go/quickchat/services/gateway/internal/oidclogin"
	"github.com/quickchat-go/quickchat/services/gateway/internal/password"
	"github.com/quickchat-go/quickchat/services/gateway/internal/ratelimit"
	"github.com/quickchat-go/quickchat/services/gateway/internal/session"
)

// The implementations the composition root plugs into the use cases' interfaces; the
// checks live here so package app never imports its adapters to verify them.
var (
	_ app.UserStore        = (*store.Store)(nil)
	_ app.OIDCLoginStore   = (*store.Store)(nil)
	_ app.GroupStore       = (*store.Store)(nil)
	_ app.MemberStore      = (*store.Store)(nil)
	_ app.MessageStore     = (*store.Store)(nil)
	_ app.Sessions         = (*session.Manager)(nil)
	_ app.Hasher           = (*password.Hasher)(nil)
	_ app.Limiter          = (*ratelimit.Limiter)(nil)
	_ app.TokenSigner      = (*token.Signer)(nil)
	_ app.IdentityProvider = (*oidclogin.Client)(nil)
	_ ratelimit.Store      = (*store.Store)(nil)
	_ session.Store        = (*store.Store)(nil)
)

// run is the composition root. When ready is not nil it receives the bound address once
// the server listens (tests start the gateway on ":0").
func run(ctx context.Context, cfg Config, ready chan<- net.Addr) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log, err := logging.New("gateway", cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()

	st, err := store.Open(ctx, store.Config{URL: cfg.DatabaseURL, MaxConns: cfg.DatabaseMaxConns})
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.MigrateOnStart {
		if err := st.Migrate(ctx); err != nil {
			return err
		}
	}
	signer, err := newSigner(cfg, log)
	if err != nil {
		return err
	}
	trusted, err := clientip.ParsePrefixes(cfg.TrustedProxies)
	if err != nil {
		return err
	}
	var idp app.IdentityProvider
	if cfg.OIDCIssuer != "" {
		c, err := oidclogin.New(oidclogin.Config{
			Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret,
			RedirectURL: cfg.OIDCRedirectURL, Scopes: cfg.OIDCScopes,
		})
		if err != nil {
			return err
		}
		idp = c
	}
	uses := app.New(app.Deps{
		Users: st, OIDCLogins: st, Groups: st, Members: st, Messages: st,
		Sessions: session.New(st, signer, session.Config{
			AccessTTL: cfg.AccessTokenTTL, RefreshTTL: cfg.RefreshTokenTTL,
		}),
		Hasher: password.NewHasher(password.Params{
			MemoryKiB: cfg.PasswordHashMemoryKiB, Iterations: cfg.PasswordHashIterations,
			Parallelism: cfg.PasswordHashParallelism, Concurrency: cfg.PasswordHashConcurrency,
		}),
		Limiter: ratelimit.New(st),
		Limits: app.Limits{
			PasscodePerIP: cfg.RatePasscodePerIP, PasscodePerGroup: cfg.RatePasscodePerGroup,
			LoginPerIP: cfg.RateLoginPerIP, LoginPerAccount: cfg.RateLoginPerAccount,
		},
		Tokens:         signer,
		MemberTokenTTL: cfg.MemberTokenTTL,
		OIDC:           idp,
	})
	health := ops.NewHealth(nil, ops.Check{Name: "postgres", Func: st.Ping})
	api := httpapi.NewServer(httpapi.Deps{
		App:           uses,
		Signer:        signer,
		ClientIP:      clientip.New(trusted),
		PostLoginURL:  cfg.OIDCPostLoginURL,
		SecureCookies: cfg.CookieSecure,
		Health:        health,
		Log:           log,
		RealtimeURL:   cfg.PublicRealtimeURL,
		MaxBodyBytes:  cfg.MaxBodyBytes,
	})
	ln, err := ops.Listen(cfg.Addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready <- ln.Addr()
	}
	janitorDone := make(chan struct{})
	go func() {
		defer close(janitorDone)
		runJanitor(ctx, st, cfg.JanitorInterval, log)
	}()
	defer func() { <-janitorDone }()
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		<-ctx.Done()
		health.SetDraining()
	}()
	return ops.Serve(ctx, srv, ln, cfg.ShutdownGrace, log)
}

func migrate(ctx context.Context, cfg Config) error {
	st, err := store.Open(ctx, store.Config{URL: cfg.DatabaseURL, MaxConns: 2})
	if err != nil {
		return err
	}
	defer st.Close()
	return st.Migrate(ctx)
}

func newSigner(cfg Config, log *zap.Logger) (*token.Signer, error) {
	var keys []*ecdsa.PrivateKey
	if cfg.SigningKeyFile == "" {
		log.Warn("GATEWAY_SIGNING_KEY_FILE is empty: using an ephemeral signing key; tokens will not survive a restart and replicas will not agree")
		k, err := token.GenerateKey()
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	} else {
		pemData, err := os.ReadFile(cfg.SigningKeyFile)
		if err != nil {
			return nil, fmt.Errorf("read signing keys: %w", err)
		}
		if keys, err = token.ParsePEMKeys(pemData); err != nil {
			return nil, err
		}
	}
	return token.NewSigner(keys...)
}
