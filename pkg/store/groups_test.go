package store_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
)

func TestGroups(t *testing.T) {
	t.Run("a group is found again as it was created", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		owner := newUser(t, st)
		in := store.Group{ID: uuid.New(), OwnerID: owner.ID, Title: "Book club", PasscodeHash: "$argon2id$pass"}

		created, err := st.CreateGroup(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		recent(t, "CreatedAt", created.CreatedAt)
		got, err := st.Group(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != in.ID || got.OwnerID != in.OwnerID || got.Title != in.Title || got.PasscodeHash != in.PasscodeHash ||
			!got.CreatedAt.Equal(created.CreatedAt) || !got.UpdatedAt.Equal(created.CreatedAt) {
			t.Errorf("Group = %+v, want %+v as created: %+v", got, in, created)
		}
	})

	t.Run("a group created with its owner has the owner as its first member", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		owner := newUser(t, st)
		g := store.Group{ID: uuid.New(), OwnerID: owner.ID, Title: "room", PasscodeHash: "pass"}

		gotGroup, gotMember, err := st.CreateGroupWithOwner(ctx, g, store.Member{ID: uuid.New(), DisplayName: "Ann (owner)"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if gotGroup.ID != g.ID || gotGroup.OwnerID != owner.ID {
			t.Errorf("group = %+v, want %+v", gotGroup, g)
		}
		if gotMember.GroupID != g.ID || gotMember.UserID != (uuid.NullUUID{UUID: owner.ID, Valid: true}) || gotMember.DisplayName != "Ann (owner)" {
			t.Errorf("member = %+v, want the owner %v in group %v", gotMember, owner.ID, g.ID)
		}
		byUser, err := st.MemberByUser(ctx, g.ID, owner.ID)
		if err != nil || byUser.ID != gotMember.ID {
			t.Errorf("MemberByUser = %+v, %v; want member %v", byUser, err, gotMember.ID)
		}
	})

	t.Run("a group created with its owner is not created when its member cannot be", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		owner := newUser(t, st)
		_, taken, err := st.CreateGroupWithOwner(ctx, store.Group{ID: uuid.New(), OwnerID: owner.ID, Title: "first", PasscodeHash: "x"},
			store.Member{ID: uuid.New(), DisplayName: "Ann"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		second := store.Group{ID: uuid.New(), OwnerID: owner.ID, Title: "second", PasscodeHash: "x"}

		_, _, err = st.CreateGroupWithOwner(ctx, second, store.Member{ID: taken.ID, DisplayName: "Ann"}, 0)

		wantCode(t, "CreateGroupWithOwner with a member id in use", err, apperr.Conflict)
		_, err = st.Group(ctx, second.ID)
		wantCode(t, "Group of the rolled-back group", err, apperr.NotFound)
	})

	t.Run("an owner's groups are listed newest first and nobody else's are", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		owner, other := newUser(t, st), newUser(t, st)
		var want []uuid.UUID
		for range 3 {
			want = append([]uuid.UUID{newGroup(t, st, owner.ID).ID}, want...)
		}
		newGroup(t, st, other.ID)

		got, err := st.GroupsByOwner(ctx, owner.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("GroupsByOwner returned %d groups, want %d", len(got), len(want))
		}
		for i := range got {
			if got[i].ID != want[i] {
				t.Errorf("group %d is %v, want %v (newest first)", i, got[i].ID, want[i])
			}
		}
		none, err := st.GroupsByOwner(ctx, newUser(t, st).ID)
		if err != nil || len(none) != 0 {
			t.Errorf("GroupsByOwner of an account without groups = %v, %v; want none", none, err)
		}
	})

	updates := []struct {
		name      string
		update    store.GroupUpdate
		wantTitle string
		wantHash  string
	}{
		{"an update of the title keeps the passcode", store.GroupUpdate{Title: "new title"}, "new title", "old hash"},
		{"an update of the passcode keeps the title", store.GroupUpdate{PasscodeHash: "new hash"}, "old title", "new hash"},
		{"an update of both changes both", store.GroupUpdate{Title: "new title", PasscodeHash: "new hash"}, "new title", "new hash"},
		{"an empty update changes only the update time", store.GroupUpdate{}, "old title", "old hash"},
	}
	for _, tt := range updates {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := setup(t)
			ctx := context.Background()
			g, err := st.CreateGroup(ctx, store.Group{ID: uuid.New(), OwnerID: newUser(t, st).ID, Title: "old title", PasscodeHash: "old hash"})
			if err != nil {
				t.Fatal(err)
			}

			got, err := st.UpdateGroup(ctx, g.ID, tt.update)

			if err != nil {
				t.Fatal(err)
			}
			if got.Title != tt.wantTitle || got.PasscodeHash != tt.wantHash {
				t.Errorf("UpdateGroup = title %q hash %q, want %q %q", got.Title, got.PasscodeHash, tt.wantTitle, tt.wantHash)
			}
			if !got.UpdatedAt.After(g.UpdatedAt) || !got.CreatedAt.Equal(g.CreatedAt) {
				t.Errorf("UpdateGroup times: created %v updated %v; want created %v and updated after it", got.CreatedAt, got.UpdatedAt, g.CreatedAt)
			}
			if again, err := st.Group(ctx, g.ID); err != nil || again.Title != tt.wantTitle || again.PasscodeHash != tt.wantHash {
				t.Errorf("Group after the update = %+v, %v", again, err)
			}
		})
	}

	t.Run("deleting a group deletes its members and messages and no other group's", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		owner := newUser(t, st)
		drop, keep := newGroup(t, st, owner.ID), newGroup(t, st, owner.ID)
		dropMember := newMember(t, st, drop.ID, uuid.NullUUID{})
		keepMember := newMember(t, st, keep.ID, uuid.NullUUID{})
		if _, err := st.InsertMessages(ctx, append(messages(t, drop.ID, 3), messages(t, keep.ID, 2)...)); err != nil {
			t.Fatal(err)
		}

		if err := st.DeleteGroup(ctx, drop.ID); err != nil {
			t.Fatal(err)
		}

		_, err := st.Group(ctx, drop.ID)
		wantCode(t, "Group of the deleted group", err, apperr.NotFound)
		_, err = st.Member(ctx, dropMember.ID)
		wantCode(t, "Member of the deleted group", err, apperr.NotFound)
		if n, err := st.CountMessages(ctx, drop.ID); err != nil || n != 0 {
			t.Errorf("CountMessages of the deleted group = %d, %v; want 0", n, err)
		}
		if _, err := st.Member(ctx, keepMember.ID); err != nil {
			t.Errorf("Member of the other group: %v", err)
		}
		if n, err := st.CountMessages(ctx, keep.ID); err != nil || n != 2 {
			t.Errorf("CountMessages of the other group = %d, %v; want 2", n, err)
		}
	})

	tests := []struct {
		name string
		call func(st *store.Store, owner store.User, existing store.Group) error
		want apperr.Code
	}{
		{
			name: "a group of an unknown owner is not found",
			call: func(st *store.Store, _ store.User, _ store.Group) error {
				_, err := st.CreateGroup(context.Background(), store.Group{ID: uuid.New(), OwnerID: uuid.New(), Title: "t", PasscodeHash: "x"})
				return err
			},
			want: apperr.NotFound,
		},
		{
			name: "a group created with an unknown owner is not found",
			call: func(st *store.Store, _ store.User, _ store.Group) error {
				_, _, err := st.CreateGroupWithOwner(context.Background(), store.Group{ID: uuid.New(), OwnerID: uuid.New(), Title: "t", PasscodeHash: "x"},
					store.Member{ID: uuid.New(), DisplayName: "Ann"}, 0)
				return err
			},
			want: apperr.NotFound,
		},
		{
			name: "a group id already in use is a conflict",
			call: func(st *store.Store, owner store.User, existing store.Group) error {
				_, err := st.CreateGroup(context.Background(), store.Group{ID: existing.ID, OwnerID: owner.ID, Title: "t", PasscodeHash: "x"})
				return err
			},
			want: apperr.Conflict,
		},
		{
			name: "a group id already in use is a conflict when created with its owner too",
			call: func(st *store.Store, owner store.User, existing store.Group) error {
				_, _, err := st.CreateGroupWithOwner(context.Background(), store.Group{ID: existing.ID, OwnerID: owner.ID, Title: "t", PasscodeHash: "x"},
					store.Member{ID: uuid.New(), DisplayName: "Ann"}, 0)
				return err
			},
			want: apperr.Conflict,
		},
		{
			name: "an unknown group is not found",
			call: func(st *store.Store, _ store.User, _ store.Group) error {
				_, err := st.Group(context.Background(), uuid.New())
				return err
			},
			want: apperr.NotFound,
		},
		{
			name: "an update of an unknown group is not found",
			call: func(st *store.Store, _ store.User, _ store.Group) error {
				_, err := st.UpdateGroup(context.Background(), uuid.New(), store.GroupUpdate{Title: "t"})
				return err
			},
			want: apperr.NotFound,
		},
		{
			name: "a title with a NUL byte is invalid",
			call: func(st *store.Store, _ store.User, existing store.Group) error {
				_, err := st.UpdateGroup(context.Background(), existing.ID, store.GroupUpdate{Title: "nul \x00"})
				return err
			},
			want: apperr.Invalid,
		},
		{
			name: "deleting an unknown group is not found",
			call: func(st *store.Store, _ store.User, _ store.Group) error {
				return st.DeleteGroup(context.Background(), uuid.New())
			},
			want: apperr.NotFound,
		},
		{
			name: "deleting a group twice is not found the second time",
			call: func(st *store.Store, _ store.User, existing store.Group) error {
				if err := st.DeleteGroup(context.Background(), existing.ID); err != nil {
					return err
				}
				return st.DeleteGroup(context.Background(), existing.ID)
			},
			want: apperr.NotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := setup(t)
			owner := newUser(t, st)
			wantCode(t, "the call", tt.call(st, owner, newGroup(t, st, owner.ID)), tt.want)
		})
	}
}
