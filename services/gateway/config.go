package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Config is the gateway's configuration, read from GATEWAY_* environment variables.
type Config struct {
	// Addr is the listen address of the HTTP server.
	Addr string `envconfig:"ADDR" default:":8080"`
	// DatabaseURL is the PostgreSQL connection URL.
	DatabaseURL string `envconfig:"DATABASE_URL" required:"true"`
	// DatabaseMaxConns caps the connection pool.
	DatabaseMaxConns int32 `envconfig:"DATABASE_MAX_CONNS" default:"20"`
	// MigrateOnStart applies migrations before serving (handy locally; in clusters run
	// `gateway migrate` as a one-shot job instead).
	MigrateOnStart bool `envconfig:"MIGRATE_ON_START" default:"false"`
	// SigningKeyFile is a PEM file of EC P-256 private keys; the first signs, all are
	// published in the JWKS. Empty generates an ephemeral key (single-instance dev only).
	SigningKeyFile string `envconfig:"SIGNING_KEY_FILE"`
	// AccessTokenTTL is the lifetime of account access tokens (at most 15m).
	AccessTokenTTL time.Duration `envconfig:"ACCESS_TOKEN_TTL" default:"15m"`
	// MemberTokenTTL is the lifetime of group member tokens used to join rooms (at most 15m;
	// clients fetch a new one from the gateway).
	MemberTokenTTL time.Duration `envconfig:"MEMBER_TOKEN_TTL" default:"15m"`
	// PublicRealtimeURL is the WebSocket URL clients are told to connect to.
	PublicRealtimeURL string `envconfig:"PUBLIC_REALTIME_URL" default:"ws://localhost:8081/ws"`
	// ShutdownGrace bounds graceful shutdown.
	ShutdownGrace time.Duration `envconfig:"SHUTDOWN_GRACE" default:"10s"`
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
	if c.AccessTokenTTL <= 0 || c.AccessTokenTTL > 15*time.Minute {
		errs = append(errs, errors.New("GATEWAY_ACCESS_TOKEN_TTL must be in (0, 15m]"))
	}
	if c.MemberTokenTTL <= 0 || c.MemberTokenTTL > 15*time.Minute {
		errs = append(errs, errors.New("GATEWAY_MEMBER_TOKEN_TTL must be in (0, 15m]"))
	}
	if c.DatabaseMaxConns <= 0 {
		errs = append(errs, errors.New("GATEWAY_DATABASE_MAX_CONNS must be positive"))
	}
	if c.ShutdownGrace <= 0 {
		errs = append(errs, errors.New("GATEWAY_SHUTDOWN_GRACE must be positive"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}
