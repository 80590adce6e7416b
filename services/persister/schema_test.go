package main

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
)

// The messages → chat_groups reference is kept by statement-level triggers rather than a
// foreign key (migration 00003) because they are much cheaper for batch inserts. These
// tests hold them to what the foreign key guaranteed.

func TestMessagesOfADeletedGroupAreDeletedWithIt(t *testing.T) {
	b := setupDB(t, "")
	ctx := context.Background()
	st := openStore(t, b.dbURL)
	keep, drop := b.groups[0], b.groups[1]
	msgs := append(storeMessages(t, keep, 3), storeMessages(t, drop, 4)...)
	if n, err := st.InsertMessages(ctx, msgs); err != nil || n != 7 {
		t.Fatalf("InsertMessages = %d, %v; want 7 rows", n, err)
	}

	if err := st.DeleteGroup(ctx, drop); err != nil {
		t.Fatal(err)
	}

	for group, want := range map[uuid.UUID]int64{keep: 3, drop: 0} {
		if n, err := st.CountMessages(ctx, group); err != nil || n != want {
			t.Errorf("CountMessages(%v) = %d, %v; want %d", group, n, err, want)
		}
	}
	assertNoOrphans(t, b)
}

func TestMessagesOfADeletedOwnersGroupsAreDeletedWithThem(t *testing.T) {
	b := setupDB(t, "")
	ctx := context.Background()
	st := openStore(t, b.dbURL)
	if _, err := st.InsertMessages(ctx, storeMessages(t, b.groups[0], 5)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.pool.Exec(ctx, "DELETE FROM users"); err != nil {
		t.Fatal(err)
	}
	if n, err := b.rowCount(ctx); err != nil || n != 0 {
		t.Fatalf("%d messages left after their owner's account was deleted (err %v), want 0", n, err)
	}
}

func TestABatchWithAMessageForAMissingGroupIsRejectedWhole(t *testing.T) {
	b := setupDB(t, "")
	ctx := context.Background()
	st := openStore(t, b.dbURL)
	msgs := append(storeMessages(t, b.groups[0], 3), storeMessages(t, uuid.New(), 1)...)

	_, err := st.InsertMessages(ctx, msgs)

	if !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("InsertMessages error = %v, want code %s", err, apperr.NotFound)
	}
	if n, err := b.rowCount(ctx); err != nil || n != 0 {
		t.Fatalf("%d messages stored (err %v), want none", n, err)
	}
}

func TestAGroupDeletedWhileItsMessagesAreInsertedLeavesNoOrphans(t *testing.T) {
	t.Run("when the insert locks the group first, the delete waits and then removes the new messages", func(t *testing.T) {
		b := setupDB(t, "")
		ctx := context.Background()
		group := b.groups[0]
		insert := beginTx(t, b)
		insertMessagesTx(t, insert, storeMessages(t, group, 10))

		deleted := make(chan error, 1)
		go func() {
			_, err := b.pool.Exec(ctx, "DELETE FROM chat_groups WHERE id = $1", group)
			deleted <- err
		}()
		waitForLockWait(t, b)
		if err := insert.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-deleted; err != nil {
			t.Fatal(err)
		}
		if n, err := b.rowCount(ctx); err != nil || n != 0 {
			t.Fatalf("%d messages left (err %v), want 0", n, err)
		}
		assertNoOrphans(t, b)
	})

	t.Run("when the delete locks the group first, the insert waits and then fails as a missing group", func(t *testing.T) {
		b := setupDB(t, "")
		ctx := context.Background()
		group := b.groups[0]
		del := beginTx(t, b)
		if _, err := del.Exec(ctx, "DELETE FROM chat_groups WHERE id = $1", group); err != nil {
			t.Fatal(err)
		}

		inserted := make(chan error, 1)
		st, msgs := openStore(t, b.dbURL), storeMessages(t, group, 10)
		go func() {
			_, err := st.InsertMessages(ctx, msgs)
			inserted <- err
		}()
		waitForLockWait(t, b)
		if err := del.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-inserted; !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("InsertMessages error = %v, want code %s", err, apperr.NotFound)
		}
		assertNoOrphans(t, b)
	})
}

func openStore(t *testing.T, url string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{URL: url, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

func storeMessages(t *testing.T, group uuid.UUID, n int) []store.Message {
	t.Helper()
	out := make([]store.Message, n)
	for i := range out {
		id, err := uuid.NewV7()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = store.Message{ID: id, GroupID: group, SenderID: uuid.New(), SenderName: "ann",
			ClientMsgID: uuid.NewString(), Body: "hello", CreatedAt: time.Now().UTC()}
	}
	return out
}

func beginTx(t *testing.T, b *bundle) pgx.Tx {
	t.Helper()
	tx, err := b.pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}

func insertMessagesTx(t *testing.T, tx pgx.Tx, msgs []store.Message) {
	t.Helper()
	for _, m := range msgs {
		_, err := tx.Exec(context.Background(),
			"INSERT INTO messages (id, group_id, sender_id, sender_name, client_msg_id, body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
			m.ID.String(), m.GroupID.String(), m.SenderID.String(), m.SenderName, m.ClientMsgID, m.Body, m.CreatedAt)
		if err != nil {
			t.Fatalf("insert: %v", err)
		}
	}
}

// waitForLockWait waits until some session of b's database is blocked on a lock.
func waitForLockWait(t *testing.T, b *bundle) {
	t.Helper()
	waitFor(t, "a session to wait for a lock", func() bool {
		var n int
		err := b.pool.QueryRow(context.Background(),
			"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'").Scan(&n)
		return err == nil && n > 0
	})
}

func assertNoOrphans(t *testing.T, b *bundle) {
	t.Helper()
	var n int
	err := b.pool.QueryRow(context.Background(),
		"SELECT count(*) FROM messages m WHERE NOT EXISTS (SELECT 1 FROM chat_groups g WHERE g.id = m.group_id)").Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d messages refer to groups that do not exist", n)
	}
}
