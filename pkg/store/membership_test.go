package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
)

// account is user as a member's UserID.
func account(u store.User) uuid.NullUUID { return uuid.NullUUID{UUID: u.ID, Valid: true} }

// keyHash is the hash of a guest key named s.
func keyHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func TestMembershipRules(t *testing.T) {
	t.Run("a name key is unique in a group among current members", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		g, other := newGroup(t, st, newUser(t, st).ID), newGroup(t, st, newUser(t, st).ID)
		first, err := st.CreateMember(ctx, store.Member{ID: uuid.New(), GroupID: g.ID, DisplayName: "Ann", NameKey: "ann"})
		if err != nil || first.NameKey != "ann" {
			t.Fatalf("CreateMember = %+v, %v", first, err)
		}
		_, err = st.CreateMember(ctx, store.Member{ID: uuid.New(), GroupID: g.ID, DisplayName: "ANN", NameKey: "ann"})
		if !errors.Is(err, store.ErrNameTaken) {
			t.Fatalf("a taken name key: %v, want ErrNameTaken", err)
		}
		if _, err := st.CreateMember(ctx, store.Member{ID: uuid.New(), GroupID: other.ID, DisplayName: "Ann", NameKey: "ann"}); err != nil {
			t.Fatalf("the same name in another group: %v", err)
		}
		for range 2 {
			if _, err := st.CreateMember(ctx, store.Member{ID: uuid.New(), GroupID: g.ID, DisplayName: "Legacy"}); err != nil {
				t.Fatalf("members without a name key never collide: %v", err)
			}
		}
		if _, err := st.DeleteMember(ctx, g.ID, first.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateMember(ctx, store.Member{ID: uuid.New(), GroupID: g.ID, DisplayName: "ann", NameKey: "ann"}); err != nil {
			t.Fatalf("a name whose member left: %v", err)
		}
	})

	t.Run("an account or guest key that is a member already is a conflict, not a taken name", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		u := newUser(t, st)
		g := newGroup(t, st, u.ID)
		if _, err := st.CreateMember(ctx, store.Member{ID: uuid.New(), GroupID: g.ID, UserID: account(u), DisplayName: "A", NameKey: "a"}); err != nil {
			t.Fatal(err)
		}
		_, err := st.CreateMember(ctx, store.Member{ID: uuid.New(), GroupID: g.ID, UserID: account(u), DisplayName: "B", NameKey: "b"})
		if errors.Is(err, store.ErrNameTaken) || !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("the account again: %v, want a conflict", err)
		}
		guest, err := st.CreateMember(ctx, store.Member{ID: uuid.New(), GroupID: g.ID, DisplayName: "G", NameKey: "g", GuestKeyHash: keyHash("k")})
		if err != nil {
			t.Fatal(err)
		}
		_, err = st.CreateMember(ctx, store.Member{ID: uuid.New(), GroupID: g.ID, DisplayName: "H", NameKey: "h", GuestKeyHash: keyHash("k")})
		if errors.Is(err, store.ErrNameTaken) || !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("the guest key again: %v, want a conflict", err)
		}
		found, err := st.MemberByGuestKey(ctx, g.ID, keyHash("k"))
		if err != nil || found.ID != guest.ID {
			t.Fatalf("MemberByGuestKey = %+v, %v", found, err)
		}
	})

	t.Run("a join only counts while the passcode it checked is the group's", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		g := newGroup(t, st, newUser(t, st).ID)
		m, err := st.CreateMemberWithPasscode(ctx, store.Member{ID: uuid.New(), GroupID: g.ID, DisplayName: "A", NameKey: "a"}, g.PasscodeHash)
		if err != nil {
			t.Fatal(err)
		}
		recent(t, "LastSeenAt", m.LastSeenAt)
		recent(t, "PasscodeAt", m.PasscodeAt)
		_, err = st.CreateMemberWithPasscode(ctx, store.Member{ID: uuid.New(), GroupID: g.ID, DisplayName: "B", NameKey: "b"}, "an old hash")
		if !errors.Is(err, store.ErrPasscodeChanged) {
			t.Fatalf("a stale passcode hash: %v, want ErrPasscodeChanged", err)
		}
		_, err = st.CreateMemberWithPasscode(ctx, store.Member{ID: uuid.New(), GroupID: uuid.New(), DisplayName: "C", NameKey: "c"}, g.PasscodeHash)
		wantCode(t, "a join of a missing group", err, apperr.NotFound)
	})

	t.Run("touching a member records when it was seen, and a passcode join restarts its age", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		m := newMember(t, st, newGroup(t, st, newUser(t, st).ID).ID, uuid.NullUUID{})
		later := m.PasscodeAt.Add(time.Hour).Truncate(time.Microsecond)
		got, err := st.TouchMember(ctx, m.ID, later, false)
		if err != nil || !got.LastSeenAt.Equal(later) || !got.PasscodeAt.Equal(m.PasscodeAt) {
			t.Fatalf("a renewal: %+v, %v", got, err)
		}
		if got, err = st.TouchMember(ctx, m.ID, later, true); err != nil || !got.PasscodeAt.Equal(later) {
			t.Fatalf("a passcode join: %+v, %v", got, err)
		}
		_, err = st.TouchMember(ctx, uuid.New(), later, false)
		wantCode(t, "touching a missing member", err, apperr.NotFound)
	})

	t.Run("a passcode change with removal deletes exactly the guests", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		u := newUser(t, st)
		g, other := newGroup(t, st, u.ID), newGroup(t, st, u.ID)
		acct := newMember(t, st, g.ID, account(u))
		guests := []uuid.UUID{newMember(t, st, g.ID, uuid.NullUUID{}).ID, newMember(t, st, g.ID, uuid.NullUUID{}).ID}
		elsewhere := newMember(t, st, other.ID, uuid.NullUUID{})
		listed, err := st.GuestMemberIDs(ctx, g.ID)
		if err != nil || !sameIDs(listed, guests) {
			t.Fatalf("GuestMemberIDs = %v, %v; want %v", listed, err, guests)
		}
		updated, removed, err := st.UpdateGroupRemovingGuests(ctx, g.ID, store.GroupUpdate{PasscodeHash: "new hash"})
		if err != nil || updated.PasscodeHash != "new hash" || !sameIDs(removed, guests) {
			t.Fatalf("UpdateGroupRemovingGuests = %+v, %v, %v; want the guests %v", updated, removed, err, guests)
		}
		for _, id := range []uuid.UUID{acct.ID, elsewhere.ID} {
			if _, err := st.Member(ctx, id); err != nil {
				t.Fatalf("member %v is gone: %v", id, err)
			}
		}
		for _, id := range guests {
			_, err := st.Member(ctx, id)
			wantCode(t, "a removed guest", err, apperr.NotFound)
		}
		_, _, err = st.UpdateGroupRemovingGuests(ctx, uuid.New(), store.GroupUpdate{PasscodeHash: "x"})
		wantCode(t, "a missing group", err, apperr.NotFound)
	})

	t.Run("a ban ends the membership and holds out the account or the guest key", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		owner, u := newUser(t, st), newUser(t, st)
		g, other := newGroup(t, st, owner.ID), newGroup(t, st, owner.ID)
		acct, err := st.CreateMember(ctx, store.Member{ID: uuid.New(), GroupID: g.ID, UserID: account(u), DisplayName: "Acct", NameKey: "acct"})
		if err != nil {
			t.Fatal(err)
		}
		guest, err := st.CreateMember(ctx, store.Member{ID: uuid.New(), GroupID: g.ID, DisplayName: "Guest", NameKey: "guest", GuestKeyHash: keyHash("k")})
		if err != nil {
			t.Fatal(err)
		}
		var bans []store.Ban
		for _, m := range []store.Member{acct, guest} {
			b, err := st.BanMember(ctx, g.ID, m.ID, uuid.New())
			if err != nil || b.MemberID != m.ID || b.DisplayName != m.DisplayName || b.Guest() != m.Guest() {
				t.Fatalf("BanMember(%s) = %+v, %v", m.DisplayName, b, err)
			}
			recent(t, "ban CreatedAt", b.CreatedAt)
			_, err = st.Member(ctx, m.ID)
			wantCode(t, "a banned membership", err, apperr.NotFound)
			_, err = st.BanMember(ctx, g.ID, m.ID, uuid.New())
			wantCode(t, "banning an ended membership", err, apperr.NotFound)
			bans = append(bans, b)
		}
		checks := []struct {
			name  string
			group uuid.UUID
			user  uuid.NullUUID
			key   []byte
			want  bool
		}{
			{"the account is banned", g.ID, account(u), nil, true},
			{"the guest key is banned", g.ID, uuid.NullUUID{}, keyHash("k"), true},
			{"another guest key is not", g.ID, uuid.NullUUID{}, keyHash("other"), false},
			{"another account is not", g.ID, account(owner), nil, false},
			{"nobody is banned in another group", other.ID, account(u), keyHash("k"), false},
			{"a caller with neither is not", g.ID, uuid.NullUUID{}, nil, false},
		}
		for _, c := range checks {
			if got, err := st.Banned(ctx, c.group, c.user, c.key); err != nil || got != c.want {
				t.Errorf("%s: Banned = %v, %v", c.name, got, err)
			}
		}
		listed, err := st.Bans(ctx, g.ID)
		if err != nil || len(listed) != 2 || listed[0].ID != bans[0].ID || listed[1].ID != bans[1].ID {
			t.Fatalf("Bans = %+v, %v", listed, err)
		}
		wantCode(t, "lifting the ban in another group", st.DeleteBan(ctx, other.ID, bans[0].ID), apperr.NotFound)
		if err := st.DeleteBan(ctx, g.ID, bans[0].ID); err != nil {
			t.Fatal(err)
		}
		if banned, _ := st.Banned(ctx, g.ID, account(u), nil); banned {
			t.Fatal("the account is still banned after the ban was lifted")
		}
		if err := st.DeleteGroup(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
		if listed, err := st.Bans(ctx, g.ID); err != nil || len(listed) != 0 {
			t.Fatalf("bans of a deleted group: %+v, %v", listed, err)
		}
	})

	t.Run("members page in joining order, with their message counts", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		g := newGroup(t, st, newUser(t, st).ID)
		var all []uuid.UUID
		for range 5 {
			all = append(all, newMember(t, st, g.ID, uuid.NullUUID{}).ID)
		}
		var paged []uuid.UUID
		var after store.MemberCursor
		for {
			page, err := st.MembersPage(ctx, g.ID, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, m := range page {
				paged = append(paged, m.ID)
			}
			last := page[len(page)-1]
			after = store.MemberCursor{CreatedAt: last.CreatedAt, ID: last.ID}
		}
		if !slices.Equal(paged, all) {
			t.Fatalf("paged %v, want %v", paged, all)
		}
		msgs := []store.Message{
			{ID: uuid.Must(uuid.NewV7()), GroupID: g.ID, SenderID: all[0], SenderName: "a", SenderGuest: true, ClientMsgID: "1", Body: "x", CreatedAt: time.Now()},
			{ID: uuid.Must(uuid.NewV7()), GroupID: g.ID, SenderID: all[0], SenderName: "a", ClientMsgID: "2", Body: "y", CreatedAt: time.Now()},
			{ID: uuid.Must(uuid.NewV7()), GroupID: g.ID, SenderID: all[1], SenderName: "b", ClientMsgID: "3", Body: "z", CreatedAt: time.Now()},
		}
		if _, err := st.InsertMessages(ctx, msgs); err != nil {
			t.Fatal(err)
		}
		counts, err := st.MessageCounts(ctx, g.ID, all[:3])
		if err != nil || counts[all[0]] != 2 || counts[all[1]] != 1 || len(counts) != 2 {
			t.Fatalf("MessageCounts = %v, %v", counts, err)
		}
		stored, err := st.MessagesAfter(ctx, g.ID, uuid.Nil, 10)
		if err != nil || len(stored) != 3 || !stored[0].SenderGuest || stored[1].SenderGuest {
			t.Fatalf("sender_guest did not survive the round trip: %+v, %v", stored, err)
		}
	})
}

// sameIDs reports whether a and b hold the same ids in any order.
func sameIDs(a, b []uuid.UUID) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	cmp := func(x, y uuid.UUID) int { return slices.Compare(x[:], y[:]) }
	slices.SortFunc(a, cmp)
	slices.SortFunc(b, cmp)
	return slices.Equal(a, b)
}

// TestMembershipMigrationKeepsExistingMembers applies migration 00005 to a database with
// members already in it, some sharing a name: every member stays as it was, the earliest
// of each name keeps it reserved, and the seen times start at the join.
func TestMembershipMigrationKeepsExistingMembers(t *testing.T) {
	ctx := context.Background()
	url := testenv.PostgresURL(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	sqlDB := stdlib.OpenDBFromPool(pool)
	t.Cleanup(func() { _ = sqlDB.Close() })
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, os.DirFS("../../db/migrations"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.UpTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	owner, group := uuid.New(), uuid.New()
	ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO users (id, email, name) VALUES ($1, 'o@example.com', 'Owner')", []any{owner}},
		{"INSERT INTO chat_groups (id, owner_id, title, passcode_hash) VALUES ($1, $2, 't', 'h')", []any{group, owner}},
		{"INSERT INTO group_members (id, group_id, display_name, created_at) VALUES ($1, $2, 'Ann', now() - interval '2 hours')", []any{ids[0], group}},
		{"INSERT INTO group_members (id, group_id, display_name, created_at) VALUES ($1, $2, 'ANN', now() - interval '1 hour')", []any{ids[1], group}},
		{"INSERT INTO group_members (id, group_id, display_name, created_at) VALUES ($1, $2, 'Bob', now())", []any{ids[2], group}},
	} {
		if _, err := pool.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := provider.Up(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, store.Config{URL: url, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	wantKeys := []string{"ann", "", "bob"}
	for i, id := range ids {
		m, err := st.Member(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.NameKey != wantKeys[i] || !m.LastSeenAt.Equal(m.CreatedAt) || !m.PasscodeAt.Equal(m.CreatedAt) || m.GuestKeyHash != nil {
			t.Errorf("member %d after the migration: %+v; want name key %q", i, m, wantKeys[i])
		}
	}
	_, err = st.CreateMember(ctx, store.Member{ID: uuid.New(), GroupID: group, DisplayName: "ann", NameKey: "ann"})
	if !errors.Is(err, store.ErrNameTaken) {
		t.Fatalf("the earliest Ann's name is not reserved: %v", err)
	}
}
