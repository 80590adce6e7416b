package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/quickchat-go/quickchat/pkg/clientip"
	"github.com/quickchat-go/quickchat/pkg/redisconn"
	"github.com/quickchat-go/quickchat/pkg/roomredis"
	"github.com/quickchat-go/quickchat/services/gateway/internal/httpapi"
	"github.com/quickchat-go/quickchat/services/gateway/internal/ratelimit"
)

// Config is the gateway's configuration, read from GATEWAY_* environment variables.
type Config struct {
	// Addr is the listen address of the public HTTP server: API, UI and JWKS.
	Addr string `envconfig:"ADDR" default:":8080"`
	// OpsAddr is the listen address of the ops endpoints (/healthz, /readyz, /metrics), for
	// probes and Prometheus only: no Ingress or proxy routes it. It must differ from Addr.
	OpsAddr string `envconfig:"OPS_ADDR" default:":8090"`
	// DatabaseURL is the PostgreSQL connection URL.
	DatabaseURL string `envconfig:"DATABASE_URL" required:"true"`
	// DatabaseMaxConns caps the connection pool.
	DatabaseMaxConns int32 `envconfig:"DATABASE_MAX_CONNS" default:"20"`
	// MigrateOnStart applies migrations before serving (handy locally; in clusters run
	// `gateway migrate` as a one-shot job instead).
	MigrateOnStart bool `envconfig:"MIGRATE_ON_START" default:"false"`
	// SigningKeyFile is a PEM file of EC P-256 private keys; the first signs, all are
	// published in the JWKS. To rotate, put the new key first and keep the old one second
	// for at least the longest token TTL. `gateway keygen` writes a fresh key. Empty
	// generates an ephemeral key (single-instance dev only). A key committed to the Quick
	// Chat repository is refused (see InsecureDevKey).
	SigningKeyFile string `envconfig:"SIGNING_KEY_FILE"`
	// InsecureDevKey lets the gateway sign with a key committed to the Quick Chat repository,
	// which anyone can use to forge tokens (default false: such a key stops the gateway).
	// Only for a throwaway stack nobody else can reach.
	InsecureDevKey bool `envconfig:"INSECURE_DEV_KEY" default:"false"`
	// AccessTokenTTL is the lifetime of account access tokens (at most 15m).
	AccessTokenTTL time.Duration `envconfig:"ACCESS_TOKEN_TTL" default:"15m"`
	// RefreshTokenTTL is the lifetime of each refresh token; every refresh starts a new one,
	// so a session unused this long ends.
	RefreshTokenTTL time.Duration `envconfig:"REFRESH_TOKEN_TTL" default:"720h"`
	// SessionMaxAge is the absolute lifetime of a session, from sign-in: however often its
	// refresh token rotates, the session ends then and the person signs in again.
	SessionMaxAge time.Duration `envconfig:"SESSION_MAX_AGE" default:"720h"`
	// MemberTokenTTL is the lifetime of group member tokens used to join rooms (at most 15m;
	// clients renew them at POST /api/chat-group/{id}/token).
	MemberTokenTTL time.Duration `envconfig:"MEMBER_TOKEN_TTL" default:"15m"`
	// MembershipMaxAge caps a guest's membership from its last join with the passcode:
	// member token renewals stop then and the guest joins again with the passcode (so a
	// leaked member token is not renewable forever). Members with accounts are not capped.
	MembershipMaxAge time.Duration `envconfig:"MEMBERSHIP_MAX_AGE" default:"720h"`
	// RedisAddr is the Redis address (or comma-separated Redis Cluster seeds) of the
	// realtime service, where memberships are revoked and presence is read.
	RedisAddr []string `envconfig:"REDIS_ADDR" default:"127.0.0.1:6379"`
	// Redis is how that Redis is reached besides its addresses: ACL user and password,
	// TLS (GATEWAY_REDIS_USERNAME, GATEWAY_REDIS_TLS, ...; see pkg/redisconn.Settings).
	Redis redisconn.Settings `envconfig:"REDIS"`
	// RedisPrefix starts every Redis key; it must equal REALTIME_REDIS_PREFIX.
	RedisPrefix string `envconfig:"REDIS_PREFIX" default:"qc:"`
	// RedisShards is the number of shard streams rooms are spread over; it must equal
	// REALTIME_STREAM_SHARDS.
	RedisShards int `envconfig:"REDIS_SHARDS" default:"16"`
	// PasswordHashMemoryKiB is argon2id's memory cost per password or passcode hash.
	PasswordHashMemoryKiB uint32 `envconfig:"PASSWORD_HASH_MEMORY_KIB" default:"19456"`
	// PasswordHashIterations is argon2id's time cost.
	PasswordHashIterations uint32 `envconfig:"PASSWORD_HASH_ITERATIONS" default:"2"`
	// PasswordHashParallelism is argon2id's lane count; 0 uses the CPU count, at most 4.
	PasswordHashParallelism uint8 `envconfig:"PASSWORD_HASH_PARALLELISM" default:"0"`
	// PasswordHashConcurrency is the most password or passcode hashes computed at once; 0
	// uses the CPU count, at least 2. Requests beyond it wait (up to 10s, then 503), so a
	// burst of sign-ins or joins takes at most this many times the memory cost. Group
	// creations and passcode changes may hold at most half of the slots, so sign-ins and
	// joins always keep the rest.
	PasswordHashConcurrency int `envconfig:"PASSWORD_HASH_CONCURRENCY" default:"0"`

	// RatePasscodePerIP limits join (passcode) attempts per client address, as N/duration
	// or "off".
	RatePasscodePerIP ratelimit.Rule `envconfig:"RATE_PASSCODE_PER_IP" default:"10/1m"`
	// RatePasscodePerGroup limits join attempts per group, whoever makes them.
	RatePasscodePerGroup ratelimit.Rule `envconfig:"RATE_PASSCODE_PER_GROUP" default:"30/1m"`
	// RateLoginPerIP limits sign-in and registration attempts per client address.
	RateLoginPerIP ratelimit.Rule `envconfig:"RATE_LOGIN_PER_IP" default:"20/1m"`
	// RateLoginPerAccountAddress limits password sign-in attempts per email address from
	// one client address.
	RateLoginPerAccountAddress ratelimit.Rule `envconfig:"RATE_LOGIN_PER_ACCOUNT_ADDRESS" default:"5/5m"`
	// RateLoginPerAccount limits password sign-in attempts per email address from all the
	// client addresses the account has not signed in from in the last 30 days together;
	// addresses it has are spared it, so nobody can lock the owner out.
	RateLoginPerAccount ratelimit.Rule `envconfig:"RATE_LOGIN_PER_ACCOUNT" default:"10/10m"`
	// RateOIDCStartPerIP limits OIDC sign-ins started (each stores a pending sign-in) per
	// client address.
	RateOIDCStartPerIP ratelimit.Rule `envconfig:"RATE_OIDC_START_PER_IP" default:"10/1m"`
	// BackoffPasscodePerIP makes wrong passcodes from one client address cost waits, as
	// "N:base..max": N free failures, then base doubling up to max; failures are
	// forgotten after a day without one. "off" disables it.
	BackoffPasscodePerIP ratelimit.Backoff `envconfig:"BACKOFF_PASSCODE_PER_IP" default:"5:1s..15m"`
	// BackoffPasscodePerGroup makes wrong passcodes for one group cost waits, whoever
	// sends them; a right passcode forgets the group's failures.
	BackoffPasscodePerGroup ratelimit.Backoff `envconfig:"BACKOFF_PASSCODE_PER_GROUP" default:"10:1s..15m"`
	// RateGroupCreatePerAccount limits group creations (each hashes a passcode) per
	// account.
	RateGroupCreatePerAccount ratelimit.Rule `envconfig:"RATE_GROUP_CREATE_PER_ACCOUNT" default:"10/1h"`
	// RatePasscodeChangePerAccount limits passcode changes (each hashes a passcode) per
	// account.
	RatePasscodeChangePerAccount ratelimit.Rule `envconfig:"RATE_PASSCODE_CHANGE_PER_ACCOUNT" default:"10/1h"`
	// MaxGroupsPerAccount caps the groups one account owns (409 beyond it); 0 means no cap.
	MaxGroupsPerAccount int `envconfig:"MAX_GROUPS_PER_ACCOUNT" default:"100"`
	// TrustedProxies lists addresses or CIDR prefixes of reverse proxies whose
	// X-Forwarded-For is believed; empty trusts no header and uses the TCP peer.
	TrustedProxies []string `envconfig:"TRUSTED_PROXIES"`
	// MaxBodyBytes bounds every request body.
	MaxBodyBytes int64 `envconfig:"MAX_BODY_BYTES" default:"65536"`
	// AllowedOrigins lists browser origins (scheme://host[:port]) besides the gateway's own
	// that may call the session routes (/api/auth/*); empty allows only the gateway's own.
	AllowedOrigins []string `envconfig:"ALLOWED_ORIGINS"`
	// CookieSecure marks cookies Secure; turn off only for plain-HTTP development on a
	// host other than localhost.
	CookieSecure bool `envconfig:"COOKIE_SECURE" default:"true"`
	// JanitorInterval is how often expired rate-limit, back-off, sign-in, sign-in address
	// and refresh-token rows are deleted.
	JanitorInterval time.Duration `envconfig:"JANITOR_INTERVAL" default:"10m"`

	// S3Endpoint is the URL of the S3-compatible object store that keeps attachments
	// (https://s3.amazonaws.com, https://<account>.r2.cloudflarestorage.com,
	// https://storage.googleapis.com, http://127.0.0.1:8333 for SeaweedFS), without a
	// path. Empty turns attachments off; there is no local-disk fallback.
	S3Endpoint string `envconfig:"S3_ENDPOINT"`
	// S3PublicEndpoint is the URL browsers reach the store at, for which upload and
	// download URLs are signed (default S3Endpoint).
	S3PublicEndpoint string `envconfig:"S3_PUBLIC_ENDPOINT"`
	// S3Region is the bucket's region, which signatures name ("auto" for R2).
	S3Region string `envconfig:"S3_REGION" default:"us-east-1"`
	// S3Bucket is the bucket of attachments; it must exist, and allow the gateway's
	// origin in its CORS rules for browser uploads (docs/operations.md).
	S3Bucket string `envconfig:"S3_BUCKET" default:"quickchat-attachments"`
	// S3PathStyle addresses the bucket as endpoint/bucket/key instead of
	// bucket.endpoint/key; SeaweedFS and MinIO need it.
	S3PathStyle bool `envconfig:"S3_PATH_STYLE" default:"false"`
	// S3AccessKey and S3SecretKey sign the gateway's requests and URLs; required with
	// S3Endpoint. The key needs object read, write and delete in the bucket only.
	S3AccessKey string `envconfig:"S3_ACCESS_KEY"`
	S3SecretKey string `envconfig:"S3_SECRET_KEY"`
	// S3CAFile is a PEM file of certificate authorities trusted for an https S3Endpoint
	// instead of the system roots (default: the system roots).
	S3CAFile string `envconfig:"S3_CA_FILE"`
	// S3KeyPrefix starts every object key, so several deployments may share a bucket.
	S3KeyPrefix string `envconfig:"S3_KEY_PREFIX"`
	// AttachmentMaxBytes is the largest file a member may share (default 25 MiB).
	AttachmentMaxBytes int64 `envconfig:"ATTACHMENT_MAX_BYTES" default:"26214400"`
	// AttachmentTypes are the media types members may share; each must be one the file's
	// first bytes reveal (Go's http.DetectContentType), as the gateway checks them.
	AttachmentTypes []string `envconfig:"ATTACHMENT_TYPES" default:"image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,application/zip"`
	// AttachmentGroupQuotaBytes bounds the bytes of one group's files (default 1 GiB);
	// 0 means no bound.
	AttachmentGroupQuotaBytes int64 `envconfig:"ATTACHMENT_GROUP_QUOTA_BYTES" default:"1073741824"`
	// RateAttachmentPerMember limits upload requests per member, as N/duration or "off".
	RateAttachmentPerMember ratelimit.Rule `envconfig:"RATE_ATTACHMENT_PER_MEMBER" default:"30/10m"`
	// AttachmentUploadTTL is how long the store accepts an upload after it was asked for.
	AttachmentUploadTTL time.Duration `envconfig:"ATTACHMENT_UPLOAD_TTL" default:"5m"`
	// AttachmentRefTTL is how long the reference that attaches a checked file to a
	// message is accepted by realtime.
	AttachmentRefTTL time.Duration `envconfig:"ATTACHMENT_REF_TTL" default:"1h"`
	// AttachmentDownloadTTL is how long a signed download URL works.
	AttachmentDownloadTTL time.Duration `envconfig:"ATTACHMENT_DOWNLOAD_TTL" default:"5m"`
	// AttachmentOrphanAge is how long a file no message carries is kept after its upload
	// was asked for; the janitor deletes it then. It must exceed the upload and reference
	// lifetimes together.
	AttachmentOrphanAge time.Duration `envconfig:"ATTACHMENT_ORPHAN_AGE" default:"24h"`
	// AttachmentMaxPixels bounds an image's width × height; bigger images are refused
	// before they are decoded (a decoded pixel takes 4 bytes, two images at a time).
	AttachmentMaxPixels int64 `envconfig:"ATTACHMENT_MAX_PIXELS" default:"24000000"`

	// OIDCIssuer enables sign-in with an OpenID Connect provider (e.g.
	// https://accounts.google.com). Empty disables it.
	OIDCIssuer string `envconfig:"OIDC_ISSUER"`
	// OIDCClientID and OIDCClientSecret are this application's credentials there.
	OIDCClientID     string `envconfig:"OIDC_CLIENT_ID"`
	OIDCClientSecret string `envconfig:"OIDC_CLIENT_SECRET"`
	// OIDCRedirectURL is the public URL of GET /api/auth/oidc/callback as registered at
	// the provider.
	OIDCRedirectURL string `envconfig:"OIDC_REDIRECT_URL"`
	// OIDCScopes are requested besides openid.
	OIDCScopes []string `envconfig:"OIDC_SCOPES" default:"email,profile"`
	// OIDCPostLoginURL is where the browser lands after signing in (refresh cookie set).
	OIDCPostLoginURL string `envconfig:"OIDC_POST_LOGIN_URL" default:"/"`

	// PublicRealtimeURL is the WebSocket URL clients are told to connect to.
	PublicRealtimeURL string `envconfig:"PUBLIC_REALTIME_URL" default:"ws://localhost:8081/ws"`
	// ShutdownGrace bounds graceful shutdown.
	ShutdownGrace time.Duration `envconfig:"SHUTDOWN_GRACE" default:"10s"`
	// ReadHeaderTimeout bounds how long a client may take to send a request's headers.
	ReadHeaderTimeout time.Duration `envconfig:"READ_HEADER_TIMEOUT" default:"5s"`
	// ReadTimeout bounds how long a client may take to send a whole request, body
	// included, so trickled bodies cannot hold connections.
	ReadTimeout time.Duration `envconfig:"READ_TIMEOUT" default:"15s"`
	// WriteTimeout bounds a request from the end of its headers to the end of the answer;
	// it must exceed the 10s a request may wait for a hashing slot.
	WriteTimeout time.Duration `envconfig:"WRITE_TIMEOUT" default:"30s"`
	// IdleTimeout is how long a keep-alive connection may wait for its next request.
	IdleTimeout time.Duration `envconfig:"IDLE_TIMEOUT" default:"2m"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `envconfig:"LOG_LEVEL" default:"info"`
	// LogFormat is json or console.
	LogFormat string `envconfig:"LOG_FORMAT" default:"json"`
}

func loadConfig() (Config, error) {
	var c Config
	if err := envconfig.Process("GATEWAY", &c); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	return c, c.Validate()
}

// Validate checks values that envconfig cannot.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, msg string) {
		if !ok {
			errs = append(errs, errors.New(msg))
		}
	}
	check(c.AccessTokenTTL > 0 && c.AccessTokenTTL <= 15*time.Minute, "GATEWAY_ACCESS_TOKEN_TTL must be in (0, 15m]")
	check(c.MemberTokenTTL > 0 && c.MemberTokenTTL <= 15*time.Minute, "GATEWAY_MEMBER_TOKEN_TTL must be in (0, 15m]")
	check(c.RefreshTokenTTL >= c.AccessTokenTTL, "GATEWAY_REFRESH_TOKEN_TTL must be at least the access token TTL")
	check(c.MembershipMaxAge >= c.MemberTokenTTL, "GATEWAY_MEMBERSHIP_MAX_AGE must be at least the member token TTL")
	check(len(c.RedisAddr) > 0, "GATEWAY_REDIS_ADDR must name a Redis address")
	if err := c.Redis.Validate("GATEWAY_REDIS"); err != nil {
		errs = append(errs, err)
	}
	if err := c.roomLayout().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("GATEWAY_REDIS_PREFIX or GATEWAY_REDIS_SHARDS: %w", err))
	}
	check(c.DatabaseMaxConns > 0, "GATEWAY_DATABASE_MAX_CONNS must be positive")
	check(c.ShutdownGrace > 0, "GATEWAY_SHUTDOWN_GRACE must be positive")
	check(c.PasswordHashMemoryKiB >= 8, "GATEWAY_PASSWORD_HASH_MEMORY_KIB must be at least 8")
	check(c.PasswordHashConcurrency >= 0, "GATEWAY_PASSWORD_HASH_CONCURRENCY must not be negative")
	check(c.PasswordHashIterations >= 1, "GATEWAY_PASSWORD_HASH_ITERATIONS must be at least 1")
	check(c.MaxBodyBytes >= 1024, "GATEWAY_MAX_BODY_BYTES must be at least 1024")
	check(c.JanitorInterval > 0, "GATEWAY_JANITOR_INTERVAL must be positive")
	errs = append(errs, c.validateAttachments()...)
	check(c.SessionMaxAge >= c.AccessTokenTTL, "GATEWAY_SESSION_MAX_AGE must be at least the access token TTL")
	check(c.MaxGroupsPerAccount >= 0, "GATEWAY_MAX_GROUPS_PER_ACCOUNT must not be negative")
	check(c.ReadHeaderTimeout > 0 && c.ReadTimeout >= c.ReadHeaderTimeout,
		"GATEWAY_READ_HEADER_TIMEOUT must be positive and GATEWAY_READ_TIMEOUT at least as long")
	check(c.WriteTimeout > 10*time.Second, "GATEWAY_WRITE_TIMEOUT must exceed 10s, the longest wait for a hashing slot")
	check(c.IdleTimeout > 0, "GATEWAY_IDLE_TIMEOUT must be positive")
	if err := httpapi.CheckAllowedOrigins(c.AllowedOrigins); err != nil {
		errs = append(errs, fmt.Errorf("GATEWAY_ALLOWED_ORIGINS: %w", err))
	}
	// ":0" (tests) picks a fresh port for each listener, so only fixed ports can clash.
	check(c.OpsAddr != "" && (c.OpsAddr != c.Addr || strings.HasSuffix(c.Addr, ":0")), "GATEWAY_OPS_ADDR must be set and differ from GATEWAY_ADDR")
	if _, err := clientip.ParsePrefixes(c.TrustedProxies); err != nil {
		errs = append(errs, fmt.Errorf("GATEWAY_TRUSTED_PROXIES: %w", err))
	}
	if c.OIDCIssuer != "" {
		check(c.OIDCClientID != "", "GATEWAY_OIDC_CLIENT_ID is required with GATEWAY_OIDC_ISSUER")
		u, err := url.Parse(c.OIDCRedirectURL)
		check(err == nil && u.IsAbs(), "GATEWAY_OIDC_REDIRECT_URL must be an absolute URL with GATEWAY_OIDC_ISSUER")
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// roomLayout is where realtime keeps its rooms in Redis.
func (c Config) roomLayout() roomredis.Layout {
	return roomredis.Layout{Prefix: c.RedisPrefix, Shards: c.RedisShards}
}
