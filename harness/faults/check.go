package faults

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quickchat-go/quickchat/harness/chatclient"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

// errTimeout reports a wait that ran out of time.
var errTimeout = errors.New("timed out")

// storedRow is a message row as PostgreSQL holds it.
type storedRow struct {
	id, groupID, clientMsgID, body string
}

// storedRows reads every message of the rooms straight from PostgreSQL, by client
// message id (a logical message stored twice would show up as two rows).
func storedRows(ctx context.Context, dbURL string, rooms []string) (map[string][]storedRow, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, fmt.Errorf("faults: connect to read messages: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT id::text, group_id::text, client_msg_id, body FROM messages WHERE group_id::text = ANY($1)`, rooms)
	if err != nil {
		return nil, fmt.Errorf("faults: read messages: %w", err)
	}
	out := map[string][]storedRow{}
	for rows.Next() {
		var r storedRow
		if err := rows.Scan(&r.id, &r.groupID, &r.clientMsgID, &r.body); err != nil {
			return nil, fmt.Errorf("faults: scan message: %w", err)
		}
		out[r.clientMsgID] = append(out[r.clientMsgID], r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("faults: read messages: %w", err)
	}
	return out, nil
}

// waitStored polls PostgreSQL until every client message id in want is stored. Failed
// reads (PostgreSQL may be restarting) are retried until timeout.
func waitStored(ctx context.Context, dbURL string, rooms []string, want map[string]bool, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var lastErr error
	missing := len(want)
	for {
		rows, err := storedRows(ctx, dbURL, rooms)
		if err == nil {
			missing = 0
			for cid := range want {
				if len(rows[cid]) == 0 {
					missing++
				}
			}
			if missing == 0 {
				return nil
			}
		} else {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w with %d of %d messages not stored (last error: %v)", errTimeout, missing, len(want), lastErr)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// memberRecord is what one member saw, copied out of it for evaluation.
type memberRecord struct {
	name, room string
	base       wire.Position
	got        map[string]int
	order      []string
	stats      memberStats
	// history holds the ids in the gateway's history, read only for members that were
	// told to reload it.
	history map[string]bool
}

func (m *member) record() memberRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := memberRecord{name: m.name, room: m.room.id, base: m.base, got: make(map[string]int, len(m.got)),
		order: append([]string(nil), m.order...), stats: m.stats}
	for id, n := range m.got {
		r.got[id] = n
	}
	r.stats.SendErrors = make(map[string]int, len(m.stats.SendErrors))
	for c, n := range m.stats.SendErrors {
		r.stats.SendErrors[c] = n
	}
	return r
}

// told reports whether the server told the member to reload history.
func (r memberRecord) told() bool { return r.stats.Resets+r.stats.Unrecovered > 0 }

// check gathers what was stored in PostgreSQL and, for members told to reload, the
// gateway's history, and evaluates the run into res.
func check(ctx context.Context, dbURL string, api *chatclient.API, rooms []*room, l *ledger, res *Result, storeTimeout time.Duration) error {
	msgs := l.snapshot()
	acked := map[string]bool{}
	for _, m := range msgs {
		if m.acked {
			acked[m.cid] = true
		}
	}
	// Waiting first gives the persisters every chance; what is still missing is lost.
	if err := waitStored(ctx, dbURL, roomIDs(rooms), acked, storeTimeout); err != nil {
		res.Problems = append(res.Problems, "storage: "+err.Error())
	}
	rows, err := storedRows(ctx, dbURL, roomIDs(rooms))
	if err != nil {
		return err
	}
	var members []memberRecord
	for _, r := range rooms {
		for _, mem := range r.members {
			rec := mem.record()
			if rec.told() {
				if rec.history, err = memberHistory(ctx, api, mem); err != nil {
					return err
				}
			}
			members = append(members, rec)
		}
	}
	evaluate(res, msgs, rows, members, l.conflictList())
	return nil
}

// evaluate counts what the run showed into res and judges it.
func evaluate(res *Result, msgs []sentMessage, rows map[string][]storedRow, members []memberRecord, conflicts []string) {
	for _, m := range msgs {
		res.Sent++
		if !m.acked {
			res.Unacked++
			continue
		}
		res.Acked++
		res.ResendsRecognised += m.resendsRecognised
		rs := rows[m.cid]
		switch {
		case len(rs) == 0:
			res.Lost++
			res.sample(&res.LostSamples, "%s (%s)", m.cid, m.id)
			continue
		case len(rs) > 1:
			res.DuplicatesStored += len(rs) - 1
		}
		res.Stored++
		if rs[0].id != m.id {
			res.IDMismatch++
		}
		if rs[0].body != m.body || rs[0].groupID != m.room {
			res.BodyMismatch++
		}
	}
	res.Conflicts = conflicts
	for _, rec := range members {
		evaluateMember(res, msgs, rec)
	}
	res.judge()
}

// evaluateMember compares what one member received with what was acknowledged in its
// room after it first joined.
func evaluateMember(res *Result, msgs []sentMessage, rec memberRecord) {
	st := rec.stats
	res.Members++
	res.Connects += st.Connects
	res.Rejoins += st.Rejoins
	res.RecoveredJoins += st.Recovered
	res.Replayed += st.Replayed
	res.Unrecovered += st.Unrecovered
	res.Resets += st.Resets
	res.LongestAckWait = max(res.LongestAckWait, st.MaxAckWait)
	for code, n := range st.SendErrors {
		if res.SendErrors == nil {
			res.SendErrors = map[string]int{}
		}
		res.SendErrors[code] += n
	}
	res.OrderViolations += len(rec.order)
	for _, o := range rec.order {
		res.sample(&res.OrderSamples, "%s: %s", rec.name, o)
	}
	for _, n := range rec.got {
		if n > 1 {
			res.DuplicateDeliveries += n - 1
		}
	}
	if rec.told() {
		res.DegradedMembers++
	}
	for _, m := range msgs {
		if !m.acked || m.room != rec.room || m.pos.Epoch == rec.base.Epoch && m.pos.Offset <= rec.base.Offset {
			continue
		}
		res.Deliveries++
		switch {
		case rec.got[m.id] > 0:
			res.Delivered++
		case rec.told() && rec.history[m.id]:
			res.FromHistory++
		default:
			res.Missing++
			res.sample(&res.MissingSamples, "%s missed %s at %s/%d", rec.name, m.id, m.pos.Epoch, m.pos.Offset)
		}
	}
}

// memberHistory reloads the room's history as the client does after a reset.
func memberHistory(ctx context.Context, api *chatclient.API, mem *member) (map[string]bool, error) {
	mem.renewToken(ctx)
	mem.mu.Lock()
	tok := mem.token
	mem.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	all, err := api.AllHistory(ctx, mem.room.id, tok)
	if err != nil {
		return nil, fmt.Errorf("faults: history of %s for %s: %w", mem.room.id, mem.name, err)
	}
	ids := make(map[string]bool, len(all))
	for _, m := range all {
		ids[m.ID] = true
	}
	return ids, nil
}

// sortedCodes lists error codes by count, most frequent first.
func sortedCodes(m map[string]int) []string {
	codes := make([]string, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool {
		if m[codes[i]] != m[codes[j]] {
			return m[codes[i]] > m[codes[j]]
		}
		return codes[i] < codes[j]
	})
	return codes
}
