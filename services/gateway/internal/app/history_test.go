package app

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
)

func TestHistoryPages(t *testing.T) {
	eachStore(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		_, owner := b.account(t, "Owner")
		g := b.group(t, owner, "Chatty")
		empty := b.group(t, owner, "Quiet")
		ids := make([]uuid.UUID, 7)
		batch := make([]store.Message, len(ids))
		for i := range ids {
			ids[i] = uuid.Must(uuid.NewV7())
			batch[i] = store.Message{ID: ids[i], GroupID: g.ID, SenderID: uuid.New(), SenderName: "S",
				ClientMsgID: fmt.Sprintf("c%d", i), Body: fmt.Sprintf("m%d", i), CreatedAt: time.Now()}
		}
		if _, err := b.st.InsertMessages(ctx, batch); err != nil {
			t.Fatal(err)
		}
		cursor := func(id uuid.UUID) uuid.NullUUID { return uuid.NullUUID{UUID: id, Valid: true} }
		tests := []struct {
			name     string
			groupID  string
			q        HistoryQuery
			want     []uuid.UUID
			wantMore bool
		}{
			{"without a cursor the newest page comes back oldest first", g.ID.String(), HistoryQuery{Limit: 3}, ids[4:], true},
			{"before pages back", g.ID.String(), HistoryQuery{Limit: 3, Before: cursor(ids[4])}, ids[1:4], true},
			{"the first page says there is nothing older", g.ID.String(), HistoryQuery{Limit: 3, Before: cursor(ids[3])}, ids[:3], false},
			{"after pages forward", g.ID.String(), HistoryQuery{Limit: 3, After: cursor(ids[1])}, ids[2:5], true},
			{"after the nil id starts at the beginning", g.ID.String(), HistoryQuery{Limit: 100, After: cursor(uuid.Nil)}, ids, false},
			{"an empty group has an empty page, not nil", empty.ID.String(), HistoryQuery{Limit: 10}, []uuid.UUID{}, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				msgs, more, err := b.History.Page(ctx, owner, tt.groupID, tt.q)
				if err != nil {
					t.Fatal(err)
				}
				got := make([]uuid.UUID, len(msgs))
				for i, m := range msgs {
					got[i] = m.ID
				}
				if msgs == nil || !slices.Equal(got, tt.want) || more != tt.wantMore {
					t.Fatalf("page = %v (more %v), want %v (more %v)", got, more, tt.want, tt.wantMore)
				}
			})
		}
		invalid := []struct {
			name string
			q    HistoryQuery
		}{
			{"a zero limit is invalid", HistoryQuery{}},
			{"a limit above the maximum is invalid", HistoryQuery{Limit: MaxHistoryLimit + 1}},
			{"both cursors at once are invalid", HistoryQuery{Limit: 3, Before: cursor(ids[5]), After: cursor(ids[1])}},
		}
		for _, tt := range invalid {
			t.Run(tt.name, func(t *testing.T) {
				_, _, err := b.History.Page(ctx, owner, g.ID.String(), tt.q)
				wantCode(t, err, apperr.Invalid)
			})
		}
	})
}
