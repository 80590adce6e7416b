package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
)

// TestMain stops the servers testenv may have started for this process.
func TestMain(m *testing.M) { testenv.Main(m) }

// setup returns a Store on a migrated database of its own, dropped when t ends.
func setup(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{URL: testenv.PostgresURL(t), MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// newUser stores an account with a password and an email of its own.
func newUser(t *testing.T, st *store.Store) store.User {
	t.Helper()
	id := uuid.New()
	u, err := st.CreateUser(context.Background(), store.User{
		ID: id, Email: id.String() + "@example.com", Name: "Ann", PasswordHash: "hash",
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// newGroup stores a group owned by owner, without members.
func newGroup(t *testing.T, st *store.Store, owner uuid.UUID) store.Group {
	t.Helper()
	g, err := st.CreateGroup(context.Background(), store.Group{ID: uuid.New(), OwnerID: owner, Title: "room", PasscodeHash: "pass"})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// wantCode fails t unless err carries code ("" for no error).
func wantCode(t *testing.T, what string, err error, code apperr.Code) {
	t.Helper()
	if got := apperr.CodeOf(err); got != code {
		t.Fatalf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

// recent fails t unless at was set by the server in the last minute.
func recent(t *testing.T, what string, at time.Time) {
	t.Helper()
	if d := time.Since(at); d < -time.Minute || d > time.Minute {
		t.Errorf("%s = %v, want about now", what, at)
	}
}

func TestOpen(t *testing.T) {
	t.Run("a malformed URL is refused", func(t *testing.T) {
		if _, err := store.Open(context.Background(), store.Config{URL: "postgres://%zz"}); err == nil {
			t.Fatal("Open accepted a malformed URL")
		}
	})

	// Port 1 on the loopback refuses connections at once, so these need no server.
	unreachable := func(t *testing.T) *store.Store {
		t.Helper()
		st, err := store.Open(context.Background(), store.Config{URL: "postgres://qc@127.0.0.1:1/qc?connect_timeout=5"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		return st
	}
	t.Run("a server that cannot be reached fails Ping as unavailable", func(t *testing.T) {
		wantCode(t, "Ping", unreachable(t).Ping(context.Background()), apperr.Unavailable)
	})
	t.Run("a server that cannot be reached fails every query as unavailable", func(t *testing.T) {
		st := unreachable(t)
		_, err := st.UserByID(context.Background(), uuid.New())
		wantCode(t, "UserByID", err, apperr.Unavailable)
		_, err = st.InsertMessages(context.Background(), []store.Message{{ID: uuid.New(), GroupID: uuid.New()}})
		wantCode(t, "InsertMessages", err, apperr.Unavailable)
	})

	t.Run("a reachable server answers Ping and migrating twice changes nothing", func(t *testing.T) {
		st := setup(t)
		if err := st.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := st.Migrate(context.Background()); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
	})

	t.Run("a call under an ended context fails as unavailable", func(t *testing.T) {
		st := setup(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := st.UserByID(ctx, uuid.New())
		wantCode(t, "UserByID", err, apperr.Unavailable)
		if !strings.Contains(err.Error(), context.Canceled.Error()) {
			t.Errorf("error %v does not keep its cause", err)
		}
	})
}
