package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/quickchat-go/quickchat/pkg/clientip"
	"github.com/quickchat-go/quickchat/pkg/logging"
	"github.com/quickchat-go/quickchat/pkg/ops"
	"github.com/quickchat-go/quickchat/pkg/redisconn"
	"github.com/quickchat-go/quickchat/pkg/roomredis"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/tlsclient"
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
	_ app.UserStore          = (*store.Store)(nil)
	_ app.SignInAddressStore = (*store.Store)(nil)
	_ app.OIDCLoginStore     = (*store.Store)(nil)
	_ app.GroupStore         = (*store.Store)(nil)
	_ app.MemberStore        = (*store.Store)(nil)
	_ app.BanStore           = (*store.Store)(nil)
	_ app.MessageStore       = (*store.Store)(nil)
	_ app.AttachmentStore    = (*store.Store)(nil)
	_ app.Sessions           = (*session.Manager)(nil)
	_ app.Hasher             = (*password.Hasher)(nil)
	_ app.Limiter            = (*ratelimit.Limiter)(nil)
	_ app.TokenSigner        = (*token.Signer)(nil)
	_ app.Revoker            = (*roomredis.Revoker)(nil)
	_ app.Presence           = (*roomredis.Presence)(nil)
	_ app.IdentityProvider   = (*oidclogin.Client)(nil)
	_ ratelimit.Store        = (*store.Store)(nil)
	_ session.Store          = (*store.Store)(nil)
)

// run is the composition root. When ready is not nil it receives the bound public and ops
// addresses once both listeners are open (tests start the gateway on ":0").
func run(ctx context.Context, cfg Config, ready chan<- ops.Addrs) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log, err := logging.New("gateway", cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()

	// Keys first: a gateway that must not sign with its key file touches nothing else.
	signer, err := newSigner(cfg, log)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, store.Config{URL: cfg.DatabaseURL, MaxConns: cfg.DatabaseMaxConns})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := checkPostgres(ctx, st, "GATEWAY_DATABASE_URL"); err != nil {
		return err
	}
	if cfg.MigrateOnStart {
		if err := st.Migrate(ctx); err != nil {
			return err
		}
	}
	// Realtime's Redis: memberships end there first, on every realtime instance.
	// Connecting authenticates, so wrong credentials or TLS settings stop the start here.
	rdb, err := redisconn.NewClient(cfg.RedisAddr, cfg.Redis)
	if err != nil {
		return err
	}
	defer rdb.Close()
	revoker, err := roomredis.NewRevoker(rdb, cfg.roomLayout())
	if err != nil {
		return err
	}
	presence, err := roomredis.NewPresence(rdb, cfg.roomLayout())
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
	hasher := password.NewHasher(password.Params{
		MemoryKiB: cfg.PasswordHashMemoryKiB, Iterations: cfg.PasswordHashIterations,
		Parallelism: cfg.PasswordHashParallelism, Concurrency: cfg.PasswordHashConcurrency,
	})
	objects, webAttachments, err := openObjectStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	uses := app.New(app.Deps{
		Users: st, Addresses: st, OIDCLogins: st, Groups: st, Members: st, Bans: st, Messages: st,
		Revoker: revoker, Presence: presence,
		Sessions: session.New(st, signer, session.Config{
			AccessTTL: cfg.AccessTokenTTL, RefreshTTL: cfg.RefreshTokenTTL, MaxAge: cfg.SessionMaxAge,
		}),
		Hasher: hasher, GroupHasher: hasher.Secondary(),
		Limiter: ratelimit.New(st),
		Limits: app.Limits{
			PasscodePerIP: cfg.RatePasscodePerIP, PasscodePerGroup: cfg.RatePasscodePerGroup,
			PasscodeBackoffPerIP: cfg.BackoffPasscodePerIP, PasscodeBackoffPerGroup: cfg.BackoffPasscodePerGroup,
			LoginPerIP: cfg.RateLoginPerIP, LoginPerAccountAddress: cfg.RateLoginPerAccountAddress,
			LoginPerAccount: cfg.RateLoginPerAccount, OIDCStartPerIP: cfg.RateOIDCStartPerIP,
			GroupCreatePerAccount: cfg.RateGroupCreatePerAccount, PasscodeChangePerAccount: cfg.RatePasscodeChangePerAccount,
			MaxGroupsPerAccount: cfg.MaxGroupsPerAccount,
		},
		Tokens:           signer,
		MemberTokenTTL:   cfg.MemberTokenTTL,
		MembershipMaxAge: cfg.MembershipMaxAge,
		OIDC:             idp,
		Log:              log,
		// Files: nil objects when attachments are off.
		Objects: objects, AttachmentRecords: st, AttachmentSettings: cfg.attachmentSettings(),
	})
	health := ops.NewHealth(nil, ops.Check{Name: "postgres", Func: st.Ping})
	api := httpapi.NewServer(httpapi.Deps{
		App:           uses,
		Signer:        signer,
		ClientIP:      clientip.New(trusted),
		PostLoginURL:  cfg.OIDCPostLoginURL,
		SecureCookies: cfg.CookieSecure,
		Log:           log,
		RealtimeURL:   cfg.PublicRealtimeURL,
		MaxBodyBytes:  cfg.MaxBodyBytes,
		// Own origin only unless the operator names others.
		AllowedOrigins: cfg.AllowedOrigins,
		Attachments:    webAttachments,
	})
	opsSrv, err := ops.NewServer(cfg.OpsAddr, health, log)
	if err != nil {
		return err
	}
	ln, err := ops.Listen(cfg.Addr)
	if err != nil {
		return errors.Join(err, opsSrv.Stop(cfg.ShutdownGrace))
	}
	if ready != nil {
		ready <- ops.Addrs{Public: ln.Addr(), Ops: opsSrv.Addr()}
	}
	// The ops listener outlives the public one, so probes see "draining" until the end.
	opsSrv.Start()
	janitorDone := make(chan struct{})
	go func() {
		defer close(janitorDone)
		runJanitor(ctx, st, uses.Attachments, cfg.JanitorInterval, log)
	}()
	defer func() { <-janitorDone }()
	// Bounded reads free connections that trickle their headers or bodies.
	srv := &http.Server{
		Handler: api, ReadHeaderTimeout: cfg.ReadHeaderTimeout, ReadTimeout: cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout, IdleTimeout: cfg.IdleTimeout,
	}
	go func() {
		<-ctx.Done()
		health.SetDraining()
	}()
	err = ops.Serve(ctx, srv, ln, cfg.ShutdownGrace, log)
	return errors.Join(err, opsSrv.Stop(cfg.ShutdownGrace))
}

// postgresStartTimeout bounds the first connection to PostgreSQL at start.
const postgresStartTimeout = 30 * time.Second

// checkPostgres connects once at start: the pool connects lazily, and a wrong password, an
// untrusted certificate or a TLS mismatch must stop the start with the cause, not only
// show in /readyz. urlVar names the URL's variable in the hint.
func checkPostgres(ctx context.Context, st *store.Store, urlVar string) error {
	ctx, cancel := context.WithTimeout(ctx, postgresStartTimeout)
	defer cancel()
	err := st.Ping(ctx)
	if err == nil {
		return nil
	}
	names := tlsclient.Names{
		Enable: "sslmode in " + urlVar, CAFile: "sslrootcert in " + urlVar,
		ServerName: "the host in " + urlVar, ClientCert: "sslcert and sslkey in " + urlVar,
	}
	if hint := tlsclient.Explain(err, names); hint != "" {
		return fmt.Errorf("PostgreSQL: %s: %w", hint, err)
	}
	return fmt.Errorf("PostgreSQL: %w", err)
}

func migrate(ctx context.Context, cfg Config) error {
	st, err := store.Open(ctx, store.Config{URL: cfg.DatabaseURL, MaxConns: 2})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := checkPostgres(ctx, st, "GATEWAY_DATABASE_URL"); err != nil {
		return err
	}
	return st.Migrate(ctx)
}
