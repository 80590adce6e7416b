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

// sinkStep is one InsertMessages call and its expected outcome.
type sinkStep struct {
	batch []store.Message
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
				n, err := sink.InsertMessages(ctx, s.batch)
				if msg := checkStep(s, n, err); msg != "" {
					t.Errorf("call %d of %d (%d messages): %s", i+1, len(steps), len(s.batch), msg)
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
		a.ClientMsgID == b.ClientMsgID && a.Body == b.Body && a.CreatedAt.Equal(b.CreatedAt)
}
