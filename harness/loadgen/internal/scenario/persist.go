package scenario

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Persistence is how the messages of a window reached PostgreSQL.
type Persistence struct {
	// Stored counts the window's messages found in PostgreSQL, of Expected.
	Stored   int64 `json:"stored"`
	Expected int64 `json:"expected"`
	// AllStoredAfter is the time from the end of sending until the last message of the
	// scenario's rooms was in PostgreSQL (0 if it never was within the wait).
	AllStoredAfter time.Duration `json:"all_stored_after_ns"`
	// Lag is the time from acceptance (the message id's timestamp, just before the Kafka
	// produce) to the commit of the transaction that stored it, from PostgreSQL's commit
	// timestamps; empty when track_commit_timestamp is off.
	LagP50 time.Duration `json:"lag_p50_ns"`
	LagP99 time.Duration `json:"lag_p99_ns"`
	LagMax time.Duration `json:"lag_max_ns"`
	// Note explains missing figures.
	Note string `json:"note,omitempty"`
}

// measurePersistence waits until every published message of rooms (total: the sum of
// their last offsets) is stored, then reads the storage lag of those created in
// [from, to).
func measurePersistence(ctx context.Context, dbURL string, rooms []string, total int64, sendEnd, from, to time.Time, wait time.Duration) (Persistence, error) {
	p := Persistence{}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return p, fmt.Errorf("scenario: connect to PostgreSQL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	deadline := time.Now().Add(wait)
	for {
		var n int64
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM messages WHERE group_id = ANY($1::uuid[])`, rooms).Scan(&n); err != nil {
			return p, fmt.Errorf("scenario: count stored messages: %w", err)
		}
		if n >= total {
			p.AllStoredAfter = max(time.Since(sendEnd), 0)
			break
		}
		if time.Now().After(deadline) {
			p.Note = fmt.Sprintf("only %d of %d messages stored %v after sending ended", n, total, wait)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM messages WHERE group_id = ANY($1::uuid[]) AND created_at >= $2 AND created_at < $3`,
		rooms, from, to).Scan(&p.Stored); err != nil {
		return p, fmt.Errorf("scenario: count the window's stored messages: %w", err)
	}
	var on string
	if err := conn.QueryRow(ctx, `SHOW track_commit_timestamp`).Scan(&on); err != nil || on != "on" {
		p.Note = join(p.Note, "track_commit_timestamp is off: no storage lag percentiles")
		return p, nil
	}
	var p50, p99, pmax *float64
	err = conn.QueryRow(ctx, `
		SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY lag),
		       percentile_disc(0.99) WITHIN GROUP (ORDER BY lag),
		       max(lag)
		FROM (SELECT extract(epoch FROM pg_xact_commit_timestamp(xmin) - created_at)::float8 AS lag
		      FROM messages
		      WHERE group_id = ANY($1::uuid[]) AND created_at >= $2 AND created_at < $3) s`,
		rooms, from, to).Scan(&p50, &p99, &pmax)
	if err != nil {
		return p, fmt.Errorf("scenario: storage lag: %w", err)
	}
	sec := func(v *float64) time.Duration {
		if v == nil {
			return 0
		}
		return time.Duration(*v * float64(time.Second))
	}
	p.LagP50, p.LagP99, p.LagMax = sec(p50), sec(p99), sec(pmax)
	return p, nil
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
