package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quickchat-go/quickchat/db"
	"github.com/quickchat-go/quickchat/db/dbgen"
	"github.com/quickchat-go/quickchat/pkg/apperr"
)

// Store reads and writes Quick Chat's data in PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	q    *dbgen.Queries
}

// Config says how to reach PostgreSQL.
type Config struct {
	// URL is a libpq-style connection URL.
	URL string
	// MaxConns caps the pool size (0 keeps pgx's default).
	MaxConns int32
}

// Open connects to PostgreSQL and checks the connection.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("store: parse database URL: %w", err)
	}
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	return &Store{pool: pool, q: dbgen.New(pool)}, nil
}

// Close releases every connection.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that PostgreSQL answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return apperr.Wrap(err, apperr.Unavailable, "database unavailable")
	}
	return nil
}

// Migrate applies the schema migrations.
func (s *Store) Migrate(ctx context.Context) error { return db.Migrate(ctx, s.pool) }

// inTx runs fn in one transaction, committing only if fn succeeds.
func (s *Store) inTx(ctx context.Context, fn func(q *dbgen.Queries) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(s.q.WithTx(tx)) })
}

// translate maps driver errors to apperr codes at the boundary; what names the failed
// operation in the error message.
func translate(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return apperr.Wrap(err, apperr.NotFound, "%s not found", what)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return apperr.Wrap(err, apperr.Conflict, "%s already exists", what)
		case "23503": // foreign_key_violation
			return apperr.Wrap(err, apperr.NotFound, "%s refers to something that does not exist", what)
		case "23514", "22001", "22P02", "22021": // check, too long, bad text repr, bad encoding
			return apperr.Wrap(err, apperr.Invalid, "%s is invalid", what)
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return apperr.Wrap(err, apperr.Unavailable, "%s: timed out", what)
	}
	if pgconn.SafeToRetry(err) || isConnError(err) {
		return apperr.Wrap(err, apperr.Unavailable, "database unavailable")
	}
	return apperr.Wrap(err, apperr.Internal, "%s failed", what)
}

func isConnError(err error) bool {
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return true
	}
	var pgErr *pgconn.PgError
	// Class 08 is connection exceptions; 57P0x is the server shutting down.
	if errors.As(err, &pgErr) {
		return pgErr.Code[:2] == "08" || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	// Anything without a server error code after the pool dialed is a network failure.
	return !errors.As(err, &pgErr)
}
