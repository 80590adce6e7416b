package consumer_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
	"github.com/quickchat-go/quickchat/pkg/store"
)

// TestMain stops the servers testenv may have started for the PostgreSQL-backed sink.
func TestMain(m *testing.M) { testenv.Main(m) }

func TestMemSinkKeepsTheSinkContract(t *testing.T) {
	testSinkContract(t, func(t *testing.T, groups ...uuid.UUID) sinkUnderTest {
		s := newMemSink(groups...)
		return sinkUnderTest{Sink: s, stored: func(*testing.T) map[uuid.UUID]store.Message { return s.stored() }}
	})
}

func TestStoreKeepsTheSinkContract(t *testing.T) {
	testSinkContract(t, newStoreSink)
}

// newStoreSink is the production sink on a migrated database of its own, in which exactly
// groups exist (owned by one account).
func newStoreSink(t *testing.T, groups ...uuid.UUID) sinkUnderTest {
	t.Helper()
	url := testenv.PostgresURL(t)
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{URL: url, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	owner, err := st.CreateUser(ctx, store.User{ID: uuid.New(), Email: "owner@example.com", Name: "Owner", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if _, err := st.CreateGroup(ctx, store.Group{ID: g, OwnerID: owner.ID, Title: "room", PasscodeHash: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	// Read the table itself rather than through the store, so nothing is hidden by a query.
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return sinkUnderTest{Sink: st, stored: func(t *testing.T) map[uuid.UUID]store.Message {
		t.Helper()
		rows, err := pool.Query(ctx,
			"SELECT id, group_id, sender_id, sender_name, client_msg_id, body, created_at, sender_guest, deleted_at, deleted_by FROM messages")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[uuid.UUID]store.Message{}
		for rows.Next() {
			var m store.Message
			if err := rows.Scan(&m.ID, &m.GroupID, &m.SenderID, &m.SenderName, &m.ClientMsgID, &m.Body, &m.CreatedAt, &m.SenderGuest, &m.DeletedAt, &m.DeletedBy); err != nil {
				t.Fatal(err)
			}
			out[m.ID] = m
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}}
}
