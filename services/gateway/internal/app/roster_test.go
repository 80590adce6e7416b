package app

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
)

func TestMemberList(t *testing.T) {
	eachStore(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		_, owner := b.account(t, "Owner")
		g := b.group(t, owner, "Club")
		gid := g.ID.String()
		var guests []store.Member
		var guestCaller Caller
		for i := range 4 {
			m, c := b.guest(t, g, fmt.Sprintf("Guest %d", i))
			guests, guestCaller = append(guests, m), c
		}
		chatty := guests[0]
		if _, err := b.st.InsertMessages(ctx, []store.Message{
			{ID: uuid.Must(uuid.NewV7()), GroupID: g.ID, SenderID: chatty.ID, SenderName: "Guest 0", SenderGuest: true, ClientMsgID: "a", Body: "one", CreatedAt: time.Now()},
			{ID: uuid.Must(uuid.NewV7()), GroupID: g.ID, SenderID: chatty.ID, SenderName: "Guest 0", SenderGuest: true, ClientMsgID: "b", Body: "two", CreatedAt: time.Now()},
		}); err != nil {
			t.Fatal(err)
		}
		b.presence.online = map[string]bool{chatty.ID.String(): true}

		t.Run("pages follow the joining order and end without a cursor", func(t *testing.T) {
			var names []string
			cursor := ""
			for pages := 0; ; pages++ {
				p, err := b.Members.List(ctx, owner, gid, MembersQuery{Limit: 2, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range p.Members {
					names = append(names, m.DisplayName)
				}
				if cursor = p.NextCursor; cursor == "" {
					break
				}
				if pages > 3 {
					t.Fatal("the list does not end")
				}
			}
			want := fmt.Sprint([]string{"Owner", "Guest 0", "Guest 1", "Guest 2", "Guest 3"})
			if fmt.Sprint(names) != want {
				t.Fatalf("names %v, want %v", names, want)
			}
		})
		t.Run("the owner sees who is online, when each was seen and how much each wrote", func(t *testing.T) {
			p, err := b.Members.List(ctx, owner, gid, MembersQuery{Limit: 10})
			if err != nil || !p.Private {
				t.Fatalf("page %+v, %v", p, err)
			}
			for _, m := range p.Members {
				wantOnline, wantCount := m.ID == chatty.ID, int64(0)
				if wantOnline {
					wantCount = 2
				}
				if m.Online != wantOnline || m.Messages != wantCount || m.LastSeenAt.IsZero() || m.Owner != (m.DisplayName == "Owner") || m.Guest() == m.Owner {
					t.Fatalf("member %+v", m)
				}
			}
		})
		t.Run("other members see the list without the owner's fields", func(t *testing.T) {
			p, err := b.Members.List(ctx, guestCaller, gid, MembersQuery{Limit: 10})
			if err != nil || p.Private || len(p.Members) != 5 {
				t.Fatalf("page %+v, %v", p, err)
			}
			for _, m := range p.Members {
				if m.Online || m.Messages != 0 || !m.LastSeenAt.IsZero() {
					t.Fatalf("a member saw private fields: %+v", m)
				}
			}
		})
		t.Run("presence that cannot be read is unavailable", func(t *testing.T) {
			b.presence.fail = true
			defer func() { b.presence.fail = false }()
			_, err := b.Members.List(ctx, owner, gid, MembersQuery{Limit: 10})
			wantCode(t, err, apperr.Unavailable)
		})
		bad := []struct {
			name string
			q    MembersQuery
		}{
			{"a zero limit", MembersQuery{}},
			{"a limit over the maximum", MembersQuery{Limit: MaxMembersLimit + 1}},
			{"a cursor that is not base64", MembersQuery{Limit: 1, Cursor: "%%%"}},
			{"a cursor of the wrong shape", MembersQuery{Limit: 1, Cursor: "bm9wZQ"}},
		}
		for _, tt := range bad {
			t.Run(tt.name+" is invalid", func(t *testing.T) {
				_, err := b.Members.List(ctx, owner, gid, tt.q)
				wantCode(t, err, apperr.Invalid)
			})
		}
	})
}
