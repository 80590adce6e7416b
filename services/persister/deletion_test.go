package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/event"
)

// deletionOf returns a deletion event of m by a member of m's group, accepted after it.
func deletionOf(tb testing.TB, m *event.Message) *event.Message {
	tb.Helper()
	id, err := event.NewID()
	if err != nil {
		tb.Fatal(err)
	}
	return &event.Message{
		Id: id.String(), GroupId: m.GetGroupId(), SenderId: uuid.NewString(), SenderName: "owner",
		ClientMsgId: uuid.NewString(), CreatedAtUnixMs: m.GetCreatedAtUnixMs() + 1000,
		Deletion: &event.Deletion{MessageId: m.GetId()},
	}
}

// storedState is what a message row says, as the tests compare it.
type storedState struct {
	body      string
	deletedAt time.Time // zero while not deleted
	deletedBy uuid.UUID // uuid.Nil while not deleted
}

// stateAfter computes the stored state events must leave, applied in order once each: the
// first deletion of a message wins whether it comes before or after the message, and a
// deletion is no message.
func stateAfter(events []*event.Message) map[uuid.UUID]storedState {
	want := map[uuid.UUID]storedState{}
	deletions := map[uuid.UUID]*event.Message{}
	seen := map[string]bool{}
	deleted := func(d *event.Message) storedState {
		return storedState{deletedAt: event.CreatedAt(d), deletedBy: uuid.MustParse(d.GetSenderId())}
	}
	for _, e := range events {
		if seen[e.GetId()] {
			continue
		}
		seen[e.GetId()] = true
		if event.IsDeletion(e) {
			target := uuid.MustParse(e.GetDeletion().GetMessageId())
			if deletions[target] != nil {
				continue
			}
			deletions[target] = e
			if _, ok := want[target]; ok {
				want[target] = deleted(e)
			}
			continue
		}
		id := uuid.MustParse(e.GetId())
		if d := deletions[id]; d != nil {
			want[id] = deleted(d)
			continue
		}
		want[id] = storedState{body: e.GetBody()}
	}
	return want
}

// assertState checks that the stored messages are exactly want, field by field.
func (b *bundle) assertState(tb testing.TB, want map[uuid.UUID]storedState) {
	tb.Helper()
	rows, err := b.pool.Query(context.Background(), "SELECT id, body, deleted_at, deleted_by FROM messages")
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	got := map[uuid.UUID]storedState{}
	n := 0
	for rows.Next() {
		var (
			id  uuid.UUID
			s   storedState
			at  *time.Time
			by  uuid.NullUUID
			err = rows.Scan(&id, &s.body, &at, &by)
		)
		if err != nil {
			tb.Fatal(err)
		}
		if at != nil {
			s.deletedAt = at.UTC()
		}
		s.deletedBy = by.UUID
		got[id] = s
		n++
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	if n != len(want) {
		tb.Errorf("stored %d messages, want %d", n, len(want))
	}
	wrong := 0
	for id, w := range want {
		g, ok := got[id]
		if !ok || g.body != w.body || !g.deletedAt.Equal(w.deletedAt) || g.deletedBy != w.deletedBy {
			wrong++
			if wrong <= 5 {
				tb.Errorf("message %v: stored %+v (present %v), want %+v", id, g, ok, w)
			}
		}
	}
	if wrong > 5 {
		tb.Errorf("and %d more messages differ", wrong-5)
	}
}

// deletionCount returns how many deletions are recorded.
func (b *bundle) deletionCount(tb testing.TB) int {
	tb.Helper()
	var n int
	if err := b.pool.QueryRow(context.Background(), "SELECT count(*) FROM message_deletions").Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestDeletionsAreAppliedInAnyOrderOnceEach(t *testing.T) {
	const partitions = 2
	b := setup(t, partitions, "")
	msgs := messages(t, b.groups, 50)
	after, before, twice, adjacent := msgs[0:10], msgs[10:20], msgs[20:30], msgs[30:40]
	dels := map[string]*event.Message{}
	for _, m := range msgs[:40] {
		dels[m.GetId()] = deletionOf(t, m)
	}
	del := func(ms []*event.Message) []*event.Message {
		out := make([]*event.Message, len(ms))
		for i, m := range ms {
			out[i] = dels[m.GetId()]
		}
		return out
	}

	// First round: deletions of messages not consumed yet, every other message, and each
	// of the adjacent ones right before or right after its deletion.
	var first []*event.Message
	first = append(first, del(before)...)
	first = append(first, after...)
	first = append(first, twice...)
	first = append(first, msgs[40:]...)
	for i, m := range adjacent {
		if i%2 == 0 {
			first = append(first, m, dels[m.GetId()])
		} else {
			first = append(first, dels[m.GetId()], m)
		}
	}
	// Second round, once the first is stored and committed: the deleted messages arrive,
	// the late deletions, the same deletions again, and a redelivery of everything.
	second := slices.Concat(before, del(after), del(twice), del(twice))
	second = append(second, first...)

	addr := startInProcess(t, b.config())
	produceMessages(t, b, first)
	b.waitCommitted(t, partitions, int64(len(first)))
	produceMessages(t, b, second)
	b.waitCommitted(t, partitions, int64(len(first)+len(second)))

	all := slices.Concat(first, second)
	want := stateAfter(all)
	if len(want) != len(msgs) {
		t.Fatalf("the expected state holds %d messages, want %d", len(want), len(msgs))
	}
	for _, m := range msgs[:40] {
		if w := want[uuid.MustParse(m.GetId())]; w.body != "" || w.deletedBy == uuid.Nil {
			t.Fatalf("the expected state keeps message %s undeleted", m.GetId())
		}
	}
	b.assertState(t, want)
	if got := b.deletionCount(t); got != 40 {
		t.Errorf("%d deletions recorded, want 40", got)
	}
	if dl := b.deadLetters(t); len(dl) != 0 {
		t.Errorf("%d dead letters, want none", len(dl))
	}
	// Every event is counted once as new; the rest were duplicates.
	if got := metric(t, addr, "persister_rows_written_total"); got != 90 {
		t.Errorf("persister_rows_written_total = %v, want 90 (50 messages and 40 deletions)", got)
	}
}

func TestPersisterKilledMidBacklogOfMessagesAndDeletionsEndsInTheStateOfTheEvents(t *testing.T) {
	const n, partitions = 20000, 4
	b := setup(t, partitions, "")
	msgs := messages(t, b.groups, n)
	// Every fifth message is deleted: its deletion comes right after it, or (every tenth)
	// just before it, so both orders straddle batches and the kill.
	var events []*event.Message
	for i, m := range msgs {
		switch {
		case i%10 == 0:
			events = append(events, deletionOf(t, m), m)
		case i%5 == 0:
			events = append(events, m, deletionOf(t, m))
		default:
			events = append(events, m)
		}
	}
	produceMessages(t, b, events)
	bin := buildPersister(t)
	cfg := b.config()
	cfg.BatchSize, cfg.DatabaseMaxConns = 100, 1

	first := startProc(t, bin, cfg)
	b.waitRows(t, n/10)
	first.kill(t)
	atKill, err := b.rowCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if atKill >= n {
		t.Fatalf("the backlog was fully stored (%d rows) before the kill; the test proves nothing", atKill)
	}
	t.Logf("killed with %d of %d messages stored", atKill, n)

	cfg.BatchSize, cfg.DatabaseMaxConns = 2000, 4
	startProc(t, bin, cfg)
	b.waitCommitted(t, partitions, int64(len(events)))
	b.assertState(t, stateAfter(events))
	if got, want := b.deletionCount(t), n/5; got != want {
		t.Errorf("%d deletions recorded, want %d", got, want)
	}
}
