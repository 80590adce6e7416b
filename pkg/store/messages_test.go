package store_test

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
)

// messages returns n new messages of group in id order, as the realtime service makes
// them: time-ordered ids, each with a sender and client id of its own.
func messages(t *testing.T, group uuid.UUID, n int) []store.Message {
	t.Helper()
	out := make([]store.Message, n)
	for i := range out {
		id, err := uuid.NewV7()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = store.Message{
			ID: id, GroupID: group, SenderID: uuid.New(), SenderName: "ann", ClientMsgID: uuid.NewString(),
			Body: "message " + strconv.Itoa(i), CreatedAt: time.Now().UTC().Truncate(time.Microsecond),
		}
	}
	slices.SortFunc(out, func(a, b store.Message) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return out
}

// ids returns the ids of msgs, in order.
func ids(msgs []store.Message) []uuid.UUID {
	out := make([]uuid.UUID, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// reversed returns a reversed copy of s.
func reversed[T any](s []T) []T {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// The persister's conformance suite (services/persister/internal/consumer) holds
// ApplyEvents to the whole Sink contract; these tests cover the rest of the messages API
// and the codes that come back from real PostgreSQL.

func TestInsertMessages(t *testing.T) {
	t.Run("a batch is stored once and a redelivery reports no new rows", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		g := newGroup(t, st, newUser(t, st).ID)
		batch := messages(t, g.ID, 5)

		if n, err := st.InsertMessages(ctx, batch); err != nil || n != 5 {
			t.Fatalf("InsertMessages = %d, %v; want 5 new rows", n, err)
		}
		if n, err := st.InsertMessages(ctx, batch); err != nil || n != 0 {
			t.Fatalf("InsertMessages again = %d, %v; want no new rows", n, err)
		}
		got, err := st.MessagesAfter(ctx, g.ID, uuid.Nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(batch) {
			t.Fatalf("%d messages stored, want %d", len(got), len(batch))
		}
		for i, m := range got {
			w := batch[i]
			if m.ID != w.ID || m.GroupID != w.GroupID || m.SenderID != w.SenderID || m.SenderName != w.SenderName ||
				m.ClientMsgID != w.ClientMsgID || m.Body != w.Body || !m.CreatedAt.Equal(w.CreatedAt) {
				t.Errorf("message %d stored as %+v, want %+v", i, m, w)
			}
		}
	})

	tests := []struct {
		name  string
		batch func(t *testing.T, group uuid.UUID) []store.Message
		want  apperr.Code
	}{
		{
			name: "a batch with a message of an unknown group is not found and stores nothing",
			batch: func(t *testing.T, group uuid.UUID) []store.Message {
				return append(messages(t, group, 3), messages(t, uuid.New(), 1)...)
			},
			want: apperr.NotFound,
		},
		{
			name: "a batch with a NUL byte in a body is invalid and stores nothing",
			batch: func(t *testing.T, group uuid.UUID) []store.Message {
				b := messages(t, group, 3)
				b[1].Body = "nul \x00"
				return b
			},
			want: apperr.Invalid,
		},
		{
			name: "a batch with a timestamp PostgreSQL cannot hold is invalid and stores nothing",
			batch: func(t *testing.T, group uuid.UUID) []store.Message {
				b := messages(t, group, 3)
				b[2].CreatedAt = time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC)
				return b
			},
			want: apperr.Invalid,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := setup(t)
			ctx := context.Background()
			g := newGroup(t, st, newUser(t, st).ID)

			n, err := st.InsertMessages(ctx, tt.batch(t, g.ID))

			if n != 0 {
				t.Errorf("InsertMessages reported %d new rows, want 0", n)
			}
			wantCode(t, "InsertMessages", err, tt.want)
			if c, err := st.CountMessages(ctx, g.ID); err != nil || c != 0 {
				t.Errorf("CountMessages = %d, %v; want 0", c, err)
			}
		})
	}
}

func TestInsertMessage(t *testing.T) {
	t.Run("a message is stored once and reported new only the first time", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		g := newGroup(t, st, newUser(t, st).ID)
		m := messages(t, g.ID, 1)[0]
		retry := messages(t, g.ID, 1)[0]
		retry.SenderID, retry.ClientMsgID = m.SenderID, m.ClientMsgID

		for i, tc := range []struct {
			msg  store.Message
			want bool
		}{{m, true}, {m, false}, {retry, false}} {
			if got, err := st.InsertMessage(ctx, tc.msg); err != nil || got != tc.want {
				t.Errorf("InsertMessage %d = %v, %v; want %v", i, got, err, tc.want)
			}
		}
		if n, err := st.CountMessages(ctx, g.ID); err != nil || n != 1 {
			t.Errorf("CountMessages = %d, %v; want 1", n, err)
		}
	})

	t.Run("a message of an unknown group is not found", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		_, err := st.InsertMessage(context.Background(), messages(t, uuid.New(), 1)[0])
		wantCode(t, "InsertMessage", err, apperr.NotFound)
	})
}

func TestMessagePages(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	owner := newUser(t, st)
	g, other, empty := newGroup(t, st, owner.ID), newGroup(t, st, owner.ID), newGroup(t, st, owner.ID)
	all := messages(t, g.ID, 7) // oldest first
	if _, err := st.InsertMessages(ctx, all); err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertMessages(ctx, messages(t, other.ID, 3)); err != nil {
		t.Fatal(err)
	}
	newest := reversed(all)

	tests := []struct {
		name   string
		page   func() ([]store.Message, error)
		wantID []uuid.UUID
	}{
		{
			name:   "the latest page holds the newest messages, newest first",
			page:   func() ([]store.Message, error) { return st.MessagesBefore(ctx, g.ID, uuid.Max, 3) },
			wantID: ids(newest[:3]),
		},
		{
			name:   "the page before a cursor starts strictly older than it",
			page:   func() ([]store.Message, error) { return st.MessagesBefore(ctx, g.ID, newest[2].ID, 3) },
			wantID: ids(newest[3:6]),
		},
		{
			name:   "the last page before a cursor holds what is left",
			page:   func() ([]store.Message, error) { return st.MessagesBefore(ctx, g.ID, newest[5].ID, 3) },
			wantID: ids(newest[6:]),
		},
		{
			name:   "nothing is before the oldest message",
			page:   func() ([]store.Message, error) { return st.MessagesBefore(ctx, g.ID, all[0].ID, 3) },
			wantID: nil,
		},
		{
			name:   "the first page after the start holds the oldest messages, oldest first",
			page:   func() ([]store.Message, error) { return st.MessagesAfter(ctx, g.ID, uuid.Nil, 3) },
			wantID: ids(all[:3]),
		},
		{
			name:   "the page after a cursor starts strictly newer than it",
			page:   func() ([]store.Message, error) { return st.MessagesAfter(ctx, g.ID, all[2].ID, 3) },
			wantID: ids(all[3:6]),
		},
		{
			name:   "the page after a cursor holds what is left",
			page:   func() ([]store.Message, error) { return st.MessagesAfter(ctx, g.ID, all[5].ID, 3) },
			wantID: ids(all[6:]),
		},
		{
			name:   "nothing is after the newest message",
			page:   func() ([]store.Message, error) { return st.MessagesAfter(ctx, g.ID, all[6].ID, 3) },
			wantID: nil,
		},
		{
			name:   "a limit above the count returns every message",
			page:   func() ([]store.Message, error) { return st.MessagesBefore(ctx, g.ID, uuid.Max, 100) },
			wantID: ids(newest),
		},
		{
			name:   "a group without messages has an empty page",
			page:   func() ([]store.Message, error) { return st.MessagesBefore(ctx, empty.ID, uuid.Max, 3) },
			wantID: nil,
		},
		{
			name:   "an unknown group has an empty page rather than not found",
			page:   func() ([]store.Message, error) { return st.MessagesAfter(ctx, uuid.New(), uuid.Nil, 3) },
			wantID: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.page()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), tt.wantID) {
				t.Errorf("page = %v, want %v", ids(got), tt.wantID)
			}
			for _, m := range got {
				if m.GroupID != g.ID {
					t.Errorf("message %v of group %v is on group %v's page", m.ID, m.GroupID, g.ID)
				}
			}
		})
	}

	t.Run("messages are counted per group", func(t *testing.T) {
		for group, want := range map[uuid.UUID]int64{g.ID: 7, other.ID: 3, empty.ID: 0, uuid.New(): 0} {
			if n, err := st.CountMessages(ctx, group); err != nil || n != want {
				t.Errorf("CountMessages(%v) = %d, %v; want %d", group, n, err, want)
			}
		}
	})
}

func TestDeletedMessagesArePagedAsTombstones(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	owner := newUser(t, st)
	g := newGroup(t, st, owner.ID)
	all := messages(t, g.ID, 3)
	by := uuid.New()
	at := time.Date(2026, 11, 27, 18, 0, 0, 123456000, time.UTC)
	del := func(m store.Message) store.Event {
		return store.Event{Deletion: &store.Deletion{EventID: uuid.Must(uuid.NewV7()), MessageID: m.ID, GroupID: g.ID, DeletedBy: by, DeletedAt: at}}
	}
	// all[0] is deleted after it is stored, all[2] before: both read back the same way.
	events := []store.Event{{Message: all[0]}, {Message: all[1]}, del(all[0]), del(all[2]), {Message: all[2]}}
	if n, err := st.ApplyEvents(ctx, events); err != nil || n != 5 {
		t.Fatalf("ApplyEvents = %d, %v; want 5 new", n, err)
	}
	if n, err := st.ApplyEvents(ctx, events); err != nil || n != 0 {
		t.Fatalf("ApplyEvents again = %d, %v; want nothing new", n, err)
	}
	page, err := st.MessagesAfter(ctx, g.ID, uuid.Nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 3 {
		t.Fatalf("page holds %d messages, want 3", len(page))
	}
	for i, m := range page {
		deleted := i != 1
		switch {
		case deleted && (m.Body != "" || m.DeletedAt == nil || !m.DeletedAt.Equal(at) || m.DeletedBy != uuid.NullUUID{UUID: by, Valid: true}):
			t.Errorf("deleted message %d reads back as %+v", i, m)
		case !deleted && (m.Body != all[i].Body || m.DeletedAt != nil || m.DeletedBy.Valid):
			t.Errorf("kept message %d reads back as %+v", i, m)
		}
	}
}
