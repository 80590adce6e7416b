package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/gatewayapi"
	"github.com/quickchat-go/quickchat/pkg/store"
)

func TestHistoryShowsADeletedMessageAsATombstone(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner := e.register(t, "Owner")
	g := e.createGroup(t, owner, "Moderated")
	ownerMember := e.join(t, g, "Owner", owner.access)
	guest := e.join(t, g, "Guest", "")
	ids := seedMessages(t, e.st, g.ID, 3)
	deletedAt := time.Date(2026, 11, 27, 18, 0, 0, 123_000_000, time.UTC)
	// The persister applies a deletion of the middle message, made by the owner's member.
	if _, err := e.st.ApplyEvents(context.Background(), []store.Event{{Deletion: &store.Deletion{
		EventID: uuid.Must(uuid.NewV7()), MessageID: ids[1], GroupID: g.ID,
		DeletedBy: ownerMember.Member.ID, DeletedAt: deletedAt,
	}}}); err != nil {
		t.Fatal(err)
	}

	r := e.do(t, req{method: "GET", path: "/api/chats/" + g.ID.String(), bearer: guest.Token})
	want(t, r, http.StatusOK)
	var page gatewayapi.HistoryPage
	r.decode(t, &page)
	var raw struct {
		Messages []map[string]json.RawMessage `json:"messages"`
	}
	r.decode(t, &raw)
	if len(page.Messages) != 3 || len(raw.Messages) != 3 {
		t.Fatalf("history holds %d messages, want 3 (the tombstone included): %s", len(page.Messages), r.body)
	}
	tests := []struct {
		name    string
		i       int
		deleted bool
	}{
		{"a message before the deleted one is shown as sent, without deletion fields", 0, false},
		{"the deleted message has an empty body and says when and by whom", 1, true},
		{"a message after the deleted one is shown as sent, without deletion fields", 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, fields := page.Messages[tt.i], raw.Messages[tt.i]
			if m.ID != ids[tt.i].String() {
				t.Fatalf("message %d is %s, want %s", tt.i, m.ID, ids[tt.i])
			}
			_, hasAt := fields["deleted_at"]
			_, hasBy := fields["deleted_by"]
			if !tt.deleted {
				if m.Body == "" || hasAt || hasBy {
					t.Fatalf("an undeleted message came as %s", r.body)
				}
				return
			}
			if _, ok := fields["body"]; !ok || m.Body != "" {
				t.Fatalf("the deleted message's body is %q (present %v), want \"\"", m.Body, ok)
			}
			if m.DeletedAt == nil || !m.DeletedAt.Equal(deletedAt) || m.DeletedBy != ownerMember.Member.ID.String() {
				t.Fatalf("deleted_at %v, deleted_by %q; want %v by %s", m.DeletedAt, m.DeletedBy, deletedAt, ownerMember.Member.ID)
			}
			if got := string(fields["deleted_at"]); got != `"2026-11-27T18:00:00.123Z"` {
				t.Fatalf("deleted_at is %s, want RFC 3339 with milliseconds", got)
			}
		})
	}
}

func TestOnlyTheOwnersMemberTokenCarriesTheOwnerClaim(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner := e.register(t, "Owner")
	member := e.register(t, "Member")
	g := e.createGroup(t, owner, "Moderated")
	tests := []struct {
		name      string
		join      func() joinBody
		wantOwner bool
	}{
		{"the owner's member token says owner", func() joinBody { return e.join(t, g, "Owner", owner.access) }, true},
		{"another account's member token does not", func() joinBody { return e.join(t, g, "Member", member.access) }, false},
		{"a guest's member token does not", func() joinBody { return e.join(t, g, "Guest", "") }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := tt.join()
			if c := e.verify(t, j.Token); c.Owner != tt.wantOwner || c.Subject != j.Member.ID.String() {
				t.Fatalf("claims %+v of member %s, want owner=%v", c, j.Member.ID, tt.wantOwner)
			}
		})
	}
}
