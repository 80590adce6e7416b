package consumer_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/services/persister/internal/consumer"
)

// sinkUnderTest is a Sink with a view of what it holds, for the contract suite to check.
type sinkUnderTest struct {
	consumer.Sink
	// stored returns every message the sink holds, by id.
	stored func(t *testing.T) map[uuid.UUID]store.Message
}

// newSinkFunc returns an empty sink in which exactly the given chat groups exist.
type newSinkFunc func(t *testing.T, groups ...uuid.UUID) sinkUnderTest

// transient stands for "an error the Writer retries": any code but apperr.Invalid and
// apperr.NotFound.
const transient apperr.Code = "any transient code"

// maxBatch is the largest batch the persister's configuration allows (PERSISTER_BATCH_SIZE).
const maxBatch = 50000

// sinkStep is one ApplyEvents call and its expected outcome.
type sinkStep struct {
	// batch is a batch of messages only; events, when set, is the batch instead.
	batch  []store.Message
	events []store.Event
	// ended runs the call under a context that has already ended.
	ended bool
	// rows is how many new rows the call must report when it succeeds.
	rows int64
	// code is the code the call must fail with, transient for any retryable one, or ""
	// when it must succeed.
	code apperr.Code
}

// sinkFixture is what each case builds its steps from.
type sinkFixture struct {
	group, other uuid.UUID // groups that exist
	gone         uuid.UUID // a group that does not exist
}

// msg returns a new, valid message in group with a time-ordered id, a sender and a client
// id of its own, and a timestamp PostgreSQL stores exactly (whole microseconds).
func (f sinkFixture) msg(t *testing.T, group uuid.UUID, body string) store.Message {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return store.Message{
		ID: id, GroupID: group, SenderID: uuid.New(), SenderName: "ann",
		ClientMsgID: uuid.NewString(), Body: body, CreatedAt: time.Now().UTC().Truncate(time.Microsecond),
	}
}

// del returns a new deletion of m by member by, made in m's group.
func (f sinkFixture) del(t *testing.T, m store.Message, by uuid.UUID) store.Deletion {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return store.Deletion{EventID: id, MessageID: m.ID, GroupID: m.GroupID, DeletedBy: by,
		DeletedAt: time.Now().UTC().Truncate(time.Microsecond)}
}

// deletedBy is m as d leaves it: no body, deleted at d's time by d's member.
func deletedBy(m store.Message, d store.Deletion) store.Message {
	at := d.DeletedAt
	m.Body, m.DeletedAt, m.DeletedBy = "", &at, uuid.NullUUID{UUID: d.DeletedBy, Valid: true}
	return m
}

// evs turns messages and deletions into one batch of events, in the order given.
func evs(items ...any) []store.Event {
	out := make([]store.Event, len(items))
	for i, it := range items {
		switch v := it.(type) {
		case store.Message:
			out[i] = store.Event{Message: v}
		case store.Deletion:
			out[i] = store.Event{Deletion: &v}
		default:
			panic(fmt.Sprintf("evs: %T is neither a message nor a deletion", it))
		}
	}
	return out
}

// retryOf is m sent again by its sender under a new id: same group, sender and client id.
func (f sinkFixture) retryOf(t *testing.T, m store.Message, body string) store.Message {
	t.Helper()
	r := f.msg(t, m.GroupID, body)
	r.SenderID, r.ClientMsgID = m.SenderID, m.ClientMsgID
	return r
}

// testSinkContract is the contract of consumer.Sink, as the Writer relies on it and as
// store.Store implements it: every implementation (the in-memory fake included) must pass.
func testSinkContract(t *testing.T, newSink newSinkFunc) {
	tests := []struct {
		name string
		// steps returns the calls to make, in order, and the messages stored at the end.
		steps func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message)
	}{
		{
			name: "an empty batch stores nothing and reports no rows",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				return []sinkStep{{batch: nil, rows: 0}, {batch: []store.Message{}, rows: 0}}, nil
			},
		},
		{
			name: "every message of a new batch is stored as given and counted",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				a, b, c := f.msg(t, f.group, "a"), f.msg(t, f.other, "b"), f.msg(t, f.group, "c")
				c.SenderName, c.Body, c.SenderGuest = "", "ünïcödé ✓ and a\nnewline", true
				return []sinkStep{{batch: []store.Message{a, b, c}, rows: 3}}, []store.Message{a, b, c}
			},
		},
		{
			name: "created_at is kept to the microsecond",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				a := f.msg(t, f.group, "a")
				a.CreatedAt = time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.UTC)
				want := a
				want.CreatedAt = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
				return []sinkStep{{batch: []store.Message{a}, rows: 1}}, []store.Message{want}
			},
		},
		{
			name: "a batch as large as the largest configurable batch is stored in one call",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				batch := make([]store.Message, maxBatch)
				for i := range batch {
					batch[i] = f.msg(t, []uuid.UUID{f.group, f.other}[i%2], "m"+strconv.Itoa(i))
				}
				return []sinkStep{{batch: batch, rows: maxBatch}}, batch
			},
		},
		{
			name: "a batch stored again is skipped and reports no new rows",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				a, b := f.msg(t, f.group, "a"), f.msg(t, f.group, "b")
				batch := []store.Message{a, b}
				return []sinkStep{{batch: batch, rows: 2}, {batch: batch, rows: 0}}, batch
			},
		},
		{
			name: "a message stored again under the same id keeps its first version",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				a := f.msg(t, f.group, "first")
				again := a
				again.Body, again.SenderName, again.ClientMsgID = "second", "bob", uuid.NewString()
				return []sinkStep{
					{batch: []store.Message{a}, rows: 1},
					{batch: []store.Message{again}, rows: 0},
				}, []store.Message{a}
			},
		},
		{
			name: "an id repeated within one batch is stored once, as its first occurrence",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				a := f.msg(t, f.group, "first")
				again := a
				again.Body, again.ClientMsgID = "second", uuid.NewString()
				return []sinkStep{{batch: []store.Message{a, again}, rows: 1}}, []store.Message{a}
			},
		},
		{
			name: "a client retry under a new id is skipped, in the same batch or a later one",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				a := f.msg(t, f.group, "a")
				return []sinkStep{
					{batch: []store.Message{a, f.retryOf(t, a, "retry in the same batch")}, rows: 1},
					{batch: []store.Message{f.retryOf(t, a, "retry in a later batch")}, rows: 0},
				}, []store.Message{a}
			},
		},
		{
			name: "of two messages with one client key in a batch the earlier is stored, whatever their ids",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				older := f.msg(t, f.group, "older id, later in the batch")
				newer := f.retryOf(t, older, "newer id, earlier in the batch")
				return []sinkStep{{batch: []store.Message{newer, older}, rows: 1}}, []store.Message{newer}
			},
		},
		{
			name: "the same client id from another sender or in another group is another message",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				a := f.msg(t, f.group, "a")
				otherSender := f.msg(t, f.group, "b")
				otherSender.ClientMsgID = a.ClientMsgID
				otherGroup := f.retryOf(t, a, "c")
				otherGroup.GroupID = f.other
				batch := []store.Message{a, otherSender, otherGroup}
				return []sinkStep{{batch: batch, rows: 3}}, batch
			},
		},
		{
			name: "a batch mixing stored and new messages stores the new ones and counts only them",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				a, b, c := f.msg(t, f.group, "a"), f.msg(t, f.group, "b"), f.msg(t, f.other, "c")
				return []sinkStep{
					{batch: []store.Message{b}, rows: 1},
					{batch: []store.Message{a, b, c, f.retryOf(t, b, "b again")}, rows: 2},
				}, []store.Message{a, b, c}
			},
		},
		{
			name: "a message for a group that does not exist fails the whole batch as not found",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				a, b := f.msg(t, f.group, "a"), f.msg(t, f.other, "b")
				return []sinkStep{
					{batch: []store.Message{f.msg(t, f.gone, "first"), a, b}, code: apperr.NotFound},
					{batch: []store.Message{a, f.msg(t, f.gone, "middle"), b}, code: apperr.NotFound},
					{batch: []store.Message{a, b, f.msg(t, f.gone, "last")}, code: apperr.NotFound},
				}, nil
			},
		},
		{
			name: "a NUL byte in any text fails the whole batch as invalid",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				a := f.msg(t, f.group, "a")
				body, name, client := f.msg(t, f.group, "nul \x00 in the body"), f.msg(t, f.group, "b"), f.msg(t, f.group, "c")
				name.SenderName = "nul \x00 in the name"
				client.ClientMsgID = "nul \x00 in the client id"
				return []sinkStep{
					{batch: []store.Message{a, body}, code: apperr.Invalid},
					{batch: []store.Message{a, name}, code: apperr.Invalid},
					{batch: []store.Message{client, a}, code: apperr.Invalid},
				}, nil
			},
		},
		{
			name: "text that is not UTF-8 fails the whole batch as invalid",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				bad := f.msg(t, f.group, "latin-1 \xe9t\xe9")
				return []sinkStep{{batch: []store.Message{f.msg(t, f.group, "a"), bad}, code: apperr.Invalid}}, nil
			},
		},
		{
			name: "a timestamp PostgreSQL cannot hold fails the whole batch as invalid",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				bad := f.msg(t, f.group, "from before the Julian period")
				bad.CreatedAt = time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC)
				return []sinkStep{{batch: []store.Message{f.msg(t, f.group, "a"), bad}, code: apperr.Invalid}}, nil
			},
		},
		{
			name: "an invalid value is reported before a group that does not exist",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				both := f.msg(t, f.gone, "nul \x00 and no group")
				return []sinkStep{
					{batch: []store.Message{f.msg(t, f.gone, "a"), f.msg(t, f.group, "nul \x00")}, code: apperr.Invalid},
					{batch: []store.Message{both}, code: apperr.Invalid},
				}, nil
			},
		},
		{
			name: "a duplicate is skipped before its group is checked",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				a := f.msg(t, f.group, "a")
				sameID := a
				sameID.GroupID, sameID.ClientMsgID = f.gone, uuid.NewString()
				return []sinkStep{
					{batch: []store.Message{a}, rows: 1},
					{batch: []store.Message{sameID}, rows: 0},
				}, []store.Message{a}
			},
		},
		{
			name: "a failed batch changes nothing, and its good messages are stored once it is fixed",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				a, b := f.msg(t, f.group, "a"), f.msg(t, f.group, "b")
				return []sinkStep{
					{batch: []store.Message{a}, rows: 1},
					{batch: []store.Message{a, b, f.msg(t, f.gone, "c")}, code: apperr.NotFound},
					{batch: []store.Message{a, b, f.msg(t, f.group, "nul \x00")}, code: apperr.Invalid},
					{batch: []store.Message{a, b}, rows: 1},
				}, []store.Message{a, b}
			},
		},
		{
			name: "a batch under an ended context fails as transient and stores nothing",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				a := f.msg(t, f.group, "a")
				return []sinkStep{
					{batch: []store.Message{a}, ended: true, code: transient},
					{batch: []store.Message{f.msg(t, f.gone, "b")}, ended: true, code: transient},
				}, nil
			},
		},
		{
			name: "a deletion after its message clears the body and records who deleted it when",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				a, b := f.msg(t, f.group, "secret"), f.msg(t, f.group, "kept")
				d := f.del(t, a, uuid.New())
				return []sinkStep{
					{batch: []store.Message{a, b}, rows: 2},
					{events: evs(d), rows: 1},
				}, []store.Message{deletedBy(a, d), b}
			},
		},
		{
			name: "a deletion before its message is kept, and the message is stored already deleted",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				a := f.msg(t, f.group, "secret")
				d := f.del(t, a, uuid.New())
				return []sinkStep{
					{events: evs(d), rows: 1},
					{batch: []store.Message{a}, rows: 1},
				}, []store.Message{deletedBy(a, d)}
			},
		},
		{
			name: "a deletion and its message in one batch delete it in either order",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				a, b := f.msg(t, f.group, "message first"), f.msg(t, f.other, "deletion first")
				da, db := f.del(t, a, uuid.New()), f.del(t, b, uuid.New())
				return []sinkStep{{events: evs(a, da, db, b), rows: 4}}, []store.Message{deletedBy(a, da), deletedBy(b, db)}
			},
		},
		{
			name: "the same deletion applied twice changes nothing the second time",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				a := f.msg(t, f.group, "secret")
				d := f.del(t, a, uuid.New())
				return []sinkStep{
					{events: evs(a, d), rows: 2},
					{events: evs(d), rows: 0},
					{events: evs(a, d, d), rows: 0},
				}, []store.Message{deletedBy(a, d)}
			},
		},
		{
			name: "of two deletions of one message the first wins, before or after the message",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				a, b := f.msg(t, f.group, "a"), f.msg(t, f.group, "b")
				da1, da2 := f.del(t, a, uuid.New()), f.del(t, a, uuid.New())
				db1, db2 := f.del(t, b, uuid.New()), f.del(t, b, uuid.New())
				da2.DeletedAt = da2.DeletedAt.Add(time.Hour)
				db2.DeletedAt = db2.DeletedAt.Add(time.Hour)
				return []sinkStep{
					{events: evs(a, da1), rows: 2},
					{events: evs(da2), rows: 0},
					{events: evs(db1, db2), rows: 1},
					{batch: []store.Message{b}, rows: 1},
				}, []store.Message{deletedBy(a, da1), deletedBy(b, db1)}
			},
		},
		{
			name: "a deletion made in another group touches no message and blocks no deletion of it",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				a, b := f.msg(t, f.group, "a"), f.msg(t, f.group, "b")
				foreignA, foreignB := f.del(t, a, uuid.New()), f.del(t, b, uuid.New())
				foreignA.GroupID, foreignB.GroupID = f.other, f.other
				own := f.del(t, a, uuid.New())
				return []sinkStep{
					{events: evs(a, foreignA, foreignB), rows: 3},
					{batch: []store.Message{b}, rows: 1},
					{events: evs(own), rows: 1},
				}, []store.Message{deletedBy(a, own), b}
			},
		},
		{
			name: "a deletion is never stored as a message",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				never := f.msg(t, f.group, "never sent")
				return []sinkStep{{events: evs(f.del(t, never, uuid.New())), rows: 1}}, nil
			},
		},
		{
			name: "a deletion in a group that does not exist fails the whole batch as not found",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				a := f.msg(t, f.group, "a")
				gone, d := f.del(t, f.msg(t, f.gone, "x"), uuid.New()), f.del(t, a, uuid.New())
				return []sinkStep{
					{events: evs(a, gone), code: apperr.NotFound},
					{events: evs(gone, a), code: apperr.NotFound},
					{events: evs(a, d), rows: 2},
				}, []store.Message{deletedBy(a, d)}
			},
		},
		{
			name: "a batch with a deletion under an ended context fails as transient and changes nothing",
			steps: func(t *testing.T, f sinkFixture) ([]sinkStep, []store.Message) {
				a := f.msg(t, f.group, "a")
				return []sinkStep{
					{batch: []store.Message{a}, rows: 1},
					{events: evs(f.del(t, a, uuid.New())), ended: true, code: transient},
				}, []store.Message{a}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := sinkFixture{group: uuid.New(), other: uuid.New(), gone: uuid.New()}
			sink := newSink(t, f.group, f.other)
			steps, want := tt.steps(t, f)

			for i, s := range steps {
				ctx := context.Background()
				if s.ended {
					ended, cancel := context.WithCancel(ctx)
					cancel()
					ctx = ended
				}
				batch := s.events
				if batch == nil {
					batch = evs()
					for _, m := range s.batch {
						batch = append(batch, store.Event{Message: m})
					}
				}
				n, err := sink.ApplyEvents(ctx, batch)
				if msg := checkStep(s, n, err); msg != "" {
					t.Errorf("call %d of %d (%d events): %s", i+1, len(steps), len(batch), msg)
				}
			}
			assertStored(t, sink.stored(t), want)
		})
	}
}

// checkStep describes how the outcome of a call differs from s, or returns "".
func checkStep(s sinkStep, n int64, err error) string {
	got := apperr.CodeOf(err)
	switch {
	case s.code == "" && err != nil:
		return fmt.Sprintf("failed with %v, want %d new rows", err, s.rows)
	case s.code == "" && n != s.rows:
		return fmt.Sprintf("reported %d new rows, want %d", n, s.rows)
	case s.code == transient && (err == nil || got == apperr.Invalid || got == apperr.NotFound):
		return fmt.Sprintf("returned %d, %v; want a transient error", n, err)
	case s.code != "" && s.code != transient && got != s.code:
		return fmt.Sprintf("returned %d, %v; want code %s", n, err, s.code)
	}
	return ""
}

// assertStored checks that the sink holds exactly want, field by field.
func assertStored(t *testing.T, got map[uuid.UUID]store.Message, want []store.Message) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("the sink holds %d messages, want %d", len(got), len(want))
	}
	wrong := 0
	for _, w := range want {
		g, ok := got[w.ID]
		switch {
		case !ok:
			wrong++
			if wrong <= 5 {
				t.Errorf("message %v (%q) is not stored", w.ID, w.Body)
			}
		case !sameMessage(g, w):
			wrong++
			if wrong <= 5 {
				t.Errorf("message %v is stored as\n%+v\nwant\n%+v", w.ID, g, w)
			}
		}
	}
	if wrong > 5 {
		t.Errorf("and %d more messages are missing or differ", wrong-5)
	}
}

func sameMessage(a, b store.Message) bool {
	return a.ID == b.ID && a.GroupID == b.GroupID && a.SenderID == b.SenderID && a.SenderName == b.SenderName &&
		a.ClientMsgID == b.ClientMsgID && a.Body == b.Body && a.CreatedAt.Equal(b.CreatedAt) &&
		a.SenderGuest == b.SenderGuest && a.DeletedBy == b.DeletedBy &&
		(a.DeletedAt == nil) == (b.DeletedAt == nil) && (a.DeletedAt == nil || a.DeletedAt.Equal(*b.DeletedAt))
}
