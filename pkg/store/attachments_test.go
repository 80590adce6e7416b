package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
)

// newAttachment stores a pending attachment of group, asked for at createdAt.
func newAttachment(t *testing.T, st *store.Store, group uuid.UUID, createdAt time.Time) store.Attachment {
	t.Helper()
	a := store.Attachment{
		ID: uuid.New(), GroupID: group, UploaderID: uuid.New(), Name: "cat.png", ContentType: "image/png",
		Size: 1234, CreatedAt: createdAt.UTC().Truncate(time.Microsecond),
	}
	a.ObjectKey = "groups/" + group.String() + "/" + a.ID.String()
	if err := st.CreateAttachment(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAttachmentsAreCompletedOnceAndCountedAgainstTheGroup(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	g := newGroup(t, st, newUser(t, st).ID)
	a := newAttachment(t, st, g.ID, time.Now())
	newAttachment(t, st, g.ID, time.Now())
	if n, err := st.GroupAttachmentBytes(ctx, g.ID); err != nil || n != 2*1234 {
		t.Fatalf("GroupAttachmentBytes = %d, %v; want pending uploads counted", n, err)
	}
	got, err := st.Attachment(ctx, a.ID)
	if err != nil || got.CompletedAt != nil || got.ObjectKey != a.ObjectKey {
		t.Fatalf("Attachment = %+v, %v; want the pending row", got, err)
	}
	check := store.AttachmentCheck{CompletedAt: time.Now().UTC().Truncate(time.Microsecond), Width: 640, Height: 480,
		ThumbKey: a.ObjectKey + ".thumb", ThumbWidth: 320, ThumbHeight: 240}
	done, err := st.CompleteAttachment(ctx, a.ID, check)
	if err != nil || done.CompletedAt == nil || done.ThumbKey != check.ThumbKey || done.Width != 640 || done.ThumbHeight != 240 {
		t.Fatalf("CompleteAttachment = %+v, %v", done, err)
	}
	_, err = st.CompleteAttachment(ctx, a.ID, check)
	wantCode(t, "completing twice", err, apperr.NotFound)
	_, err = st.Attachment(ctx, uuid.New())
	wantCode(t, "an unknown attachment", err, apperr.NotFound)
}

func TestMessagesCarryTheirAttachmentsIntoHistoryUntilDeleted(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	g := newGroup(t, st, newUser(t, st).ID)
	other := newGroup(t, st, newUser(t, st).ID)
	first, second := newAttachment(t, st, g.ID, time.Now()), newAttachment(t, st, g.ID, time.Now())
	foreign := newAttachment(t, st, other.ID, time.Now())
	pending := newAttachment(t, st, g.ID, time.Now())
	for _, a := range []store.Attachment{first, second, foreign} {
		if _, err := st.CompleteAttachment(ctx, a.ID, store.AttachmentCheck{CompletedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	msgs := messages(t, g.ID, 3)
	msgs[0].Attachments = []store.Attachment{{ID: second.ID}, {ID: first.ID}}
	// A message may name another group's attachment or one never checked: neither shows.
	msgs[1].Attachments = []store.Attachment{{ID: foreign.ID}, {ID: pending.ID}}
	events := []store.Event{{Message: msgs[0]}, {Message: msgs[1]}, {Message: msgs[2]}}
	if n, err := st.ApplyEvents(ctx, events); err != nil || n != 3 {
		t.Fatalf("ApplyEvents = %d, %v", n, err)
	}
	if n, err := st.ApplyEvents(ctx, events); err != nil || n != 0 {
		t.Fatalf("ApplyEvents again = %d, %v; want nothing new", n, err)
	}
	page, err := st.MessagesAfter(ctx, g.ID, uuid.Nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 3 || len(page[0].Attachments) != 2 || len(page[1].Attachments) != 0 || len(page[2].Attachments) != 0 {
		t.Fatalf("page = %+v; want two attachments on the first message only", page)
	}
	if page[0].Attachments[0].ID != second.ID || page[0].Attachments[1].ID != first.ID || page[0].Attachments[0].Name != "cat.png" {
		t.Fatalf("attachments = %+v; want the message's order and metadata", page[0].Attachments)
	}
	if use, err := st.AttachmentUse(ctx, first.ID); err != nil || !use.Carried || !use.Shown {
		t.Fatalf("AttachmentUse = %+v, %v; want carried and shown", use, err)
	}

	del := store.Event{Deletion: &store.Deletion{EventID: uuid.Must(uuid.NewV7()), MessageID: msgs[0].ID, GroupID: g.ID,
		DeletedBy: uuid.New(), DeletedAt: time.Now()}}
	if _, err := st.ApplyEvents(ctx, []store.Event{del}); err != nil {
		t.Fatal(err)
	}
	page, err = st.MessagesBefore(ctx, g.ID, uuid.Max, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page {
		if len(m.Attachments) != 0 {
			t.Fatalf("after the deletion message %v still shows %+v", m.ID, m.Attachments)
		}
	}
	if use, err := st.AttachmentUse(ctx, first.ID); err != nil || !use.Carried || use.Shown {
		t.Fatalf("AttachmentUse = %+v, %v; want carried by a deleted message only", use, err)
	}
}

func TestDisposableAttachments(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	owner := newUser(t, st)
	g, gone := newGroup(t, st, owner.ID), newGroup(t, st, owner.ID)
	now := time.Now()
	old := newAttachment(t, st, g.ID, now.Add(-2*time.Hour))
	fresh := newAttachment(t, st, g.ID, now)
	carried := newAttachment(t, st, g.ID, now.Add(-2*time.Hour))
	deleted := newAttachment(t, st, g.ID, now.Add(-2*time.Hour))
	orphaned := newAttachment(t, st, gone.ID, now)
	msgs := messages(t, g.ID, 2)
	msgs[0].Attachments = []store.Attachment{{ID: carried.ID}}
	msgs[1].Attachments = []store.Attachment{{ID: deleted.ID}}
	events := []store.Event{{Message: msgs[0]}, {Message: msgs[1]}, {Deletion: &store.Deletion{
		EventID: uuid.Must(uuid.NewV7()), MessageID: msgs[1].ID, GroupID: g.ID, DeletedBy: uuid.New(), DeletedAt: now}}}
	if _, err := st.ApplyEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteGroup(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	got, err := st.DisposableAttachments(ctx, now.Add(-time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uuid.UUID]string{old.ID: "never sent", deleted.ID: "carried by a deleted message", orphaned.ID: "of a deleted group"}
	if len(got) != len(want) {
		t.Errorf("got %d disposable attachments, want %d", len(got), len(want))
	}
	for _, a := range got {
		if _, ok := want[a.ID]; !ok {
			t.Errorf("attachment %v is disposable; fresh %v and carried %v are not", a.ID, fresh.ID, carried.ID)
		}
		delete(want, a.ID)
	}
	for id, why := range want {
		t.Errorf("attachment %v (%s) is not disposable", id, why)
	}
	if err := st.DeleteAttachment(ctx, deleted.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Attachment(ctx, deleted.ID); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("a deleted attachment reads back: %v", err)
	}
	if use, err := st.AttachmentUse(ctx, deleted.ID); err != nil || use.Carried {
		t.Fatalf("a deleted attachment keeps its links: %+v, %v", use, err)
	}
	if as, err := st.GroupAttachments(ctx, gone.ID, 10); err != nil || len(as) != 1 || as[0].ID != orphaned.ID {
		t.Fatalf("GroupAttachments of a deleted group = %+v, %v", as, err)
	}
}
