package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/event"
	"github.com/quickchat-go/quickchat/pkg/store"
)

type historyBody struct {
	Messages []struct {
		ID         uuid.UUID `json:"id"`
		GroupID    uuid.UUID `json:"group_id"`
		SenderName string    `json:"sender_name"`
		Body       string    `json:"body"`
	} `json:"messages"`
	HasMore bool `json:"has_more"`
}

// seedMessages stores n messages in group g as the persister would, returning their ids in
// time order.
func seedMessages(t testing.TB, st *store.Store, g uuid.UUID, n int) []uuid.UUID {
	t.Helper()
	ids := make([]uuid.UUID, n)
	batch := make([]store.Message, n)
	sender := uuid.New()
	for i := range n {
		id, err := event.NewID()
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
		batch[i] = store.Message{
			ID: id, GroupID: g, SenderID: sender, SenderName: "Sender",
			ClientMsgID: fmt.Sprintf("c%d", i), Body: fmt.Sprintf("message %d", i), CreatedAt: time.Now(),
		}
	}
	// Insert in shuffled chunks: the order of insertion must not matter, only the ids.
	for _, chunk := range [][]store.Message{batch[n/2:], batch[:n/2]} {
		if _, err := st.InsertMessages(context.Background(), chunk); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func TestHistoryPagination(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner := e.register(t, "Owner")
	g := e.createGroup(t, owner, "Chatty")
	other := e.createGroup(t, owner, "Quiet")
	guest := e.join(t, g, "Guest", "")
	ids := seedMessages(t, e.st, g.ID, 250)
	seedMessages(t, e.st, other.ID, 5)
	path := "/api/chats/" + g.ID.String()
	page := func(query string) historyBody {
		t.Helper()
		r := e.do(t, req{method: "GET", path: path + query, bearer: guest.Token})
		want(t, r, http.StatusOK)
		var b historyBody
		r.decode(t, &b)
		for i, m := range b.Messages {
			if m.GroupID != g.ID {
				t.Fatalf("message %s of group %s leaked into this history", m.ID, m.GroupID)
			}
			if i > 0 && m.ID.String() <= b.Messages[i-1].ID.String() {
				t.Fatalf("page not in ascending id order at %d", i)
			}
		}
		return b
	}
	idsOf := func(b historyBody) []uuid.UUID {
		out := make([]uuid.UUID, len(b.Messages))
		for i, m := range b.Messages {
			out[i] = m.ID
		}
		return out
	}

	t.Run("without a cursor the newest page comes back, oldest first", func(t *testing.T) {
		b := page("")
		if len(b.Messages) != 50 || !b.HasMore || !slices.Equal(idsOf(b), ids[200:]) {
			t.Fatalf("got %d messages, has_more %v", len(b.Messages), b.HasMore)
		}
	})
	t.Run("paging back with before visits every message once", func(t *testing.T) {
		var got []uuid.UUID
		query := "?limit=100"
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			b := page(query)
			got = append(idsOf(b), got...)
			if !b.HasMore {
				break
			}
			query = "?limit=100&before=" + b.Messages[0].ID.String()
		}
		if !slices.Equal(got, ids) {
			t.Fatalf("paged %d ids, want all %d in order", len(got), len(ids))
		}
	})
	t.Run("paging forward with after visits every message once", func(t *testing.T) {
		var got []uuid.UUID
		query := "?limit=100&after=" + uuid.Nil.String()
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			b := page(query)
			got = append(got, idsOf(b)...)
			if !b.HasMore {
				break
			}
			query = "?limit=100&after=" + b.Messages[len(b.Messages)-1].ID.String()
		}
		if !slices.Equal(got, ids) {
			t.Fatalf("paged %d ids, want all %d in order", len(got), len(ids))
		}
	})
	t.Run("a page right after a cursor starts at the next message", func(t *testing.T) {
		b := page("?limit=3&after=" + ids[10].String())
		if !slices.Equal(idsOf(b), ids[11:14]) || !b.HasMore {
			t.Fatalf("after page = %v", idsOf(b))
		}
	})
	bad := []struct{ name, query string }{
		{"a limit above 100 is refused", "?limit=101"},
		{"a zero limit is refused", "?limit=0"},
		{"a non-numeric limit is refused", "?limit=ten"},
		{"before and after together are refused", "?before=" + ids[5].String() + "&after=" + ids[1].String()},
		{"a malformed cursor is refused", "?before=yesterday"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, req{method: "GET", path: path + tt.query, bearer: guest.Token})
			want(t, r, http.StatusBadRequest)
			if r.errorCode(t) != "invalid" {
				t.Fatalf("body = %s", r.body)
			}
		})
	}
	t.Run("an empty group has an empty history", func(t *testing.T) {
		fresh := e.createGroup(t, owner, "Empty")
		r := e.do(t, req{method: "GET", path: "/api/chats/" + fresh.ID.String(), bearer: owner.access})
		want(t, r, http.StatusOK)
		var b historyBody
		r.decode(t, &b)
		if len(b.Messages) != 0 || b.HasMore || b.Messages == nil {
			t.Fatalf("body = %s", r.body)
		}
	})
}
