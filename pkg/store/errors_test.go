package store

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/quickchat-go/quickchat/pkg/apperr"
)

// These tests hold the translation of driver errors to apperr codes to its table without a
// server; the tests beside them show the same codes coming back from real PostgreSQL.

func pgError(code string) error {
	return fmt.Errorf("query: %w", &pgconn.PgError{Code: code, Message: "from the server"})
}

func TestTranslate(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want apperr.Code
	}{
		{"no error stays no error", nil, ""},
		{"no rows is not found", fmt.Errorf("scan: %w", pgx.ErrNoRows), apperr.NotFound},
		{"a unique violation is a conflict", pgError("23505"), apperr.Conflict},
		{"a foreign key violation is not found", pgError("23503"), apperr.NotFound},
		{"a check violation is invalid", pgError("23514"), apperr.Invalid},
		{"a value too long is invalid", pgError("22001"), apperr.Invalid},
		{"a malformed value is invalid", pgError("22P02"), apperr.Invalid},
		{"a byte sequence the encoding rejects is invalid", pgError("22021"), apperr.Invalid},
		{"a cancelled call is unavailable", fmt.Errorf("acquire: %w", context.Canceled), apperr.Unavailable},
		{"a timed-out call is unavailable", context.DeadlineExceeded, apperr.Unavailable},
		{"a connection exception is unavailable", pgError("08006"), apperr.Unavailable},
		{"a server shutting down is unavailable", pgError("57P01"), apperr.Unavailable},
		{"an error without a server code is a network failure, so unavailable", errors.New("read: connection reset by peer"), apperr.Unavailable},
		{"any other server error is internal", pgError("42P01"), apperr.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := translate(tt.err, "thing")
			if code := apperr.CodeOf(got); code != tt.want {
				t.Fatalf("translate(%v) = %v (code %q), want code %q", tt.err, got, code, tt.want)
			}
			if tt.err != nil && !errors.Is(got, tt.err) {
				t.Errorf("translate(%v) = %v, which no longer wraps the driver's error", tt.err, got)
			}
		})
	}
}

func TestTranslateWrite(t *testing.T) {
	// The persister dead-letters Invalid and NotFound and retries everything else.
	tests := []struct {
		name string
		err  error
		want apperr.Code
	}{
		{"a unique violation is still a conflict", pgError("23505"), apperr.Conflict},
		{"a foreign key violation is not found", pgError("23503"), apperr.NotFound},
		{"a not-null violation is invalid", pgError("23502"), apperr.Invalid},
		{"a check violation is invalid", pgError("23514"), apperr.Invalid},
		{"a timestamp out of range is invalid", pgError("22008"), apperr.Invalid},
		{"a NUL byte is invalid", pgError("22021"), apperr.Invalid},
		{"an index row too large is invalid", pgError("54000"), apperr.Invalid},
		{"a serialization failure is left to translate and so retried", pgError("40001"), apperr.Internal},
		{"a connection exception is unavailable", pgError("08006"), apperr.Unavailable},
		{"a timed-out call is unavailable", context.DeadlineExceeded, apperr.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := translateWrite(tt.err, "messages")
			if code := apperr.CodeOf(got); code != tt.want {
				t.Fatalf("translateWrite(%v) = %v (code %q), want code %q", tt.err, got, code, tt.want)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("translateWrite(%v) = %v, which no longer wraps the driver's error", tt.err, got)
			}
		})
	}
}
