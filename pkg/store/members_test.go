package store_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
)

// newMember adds a member to group: a guest when user is not valid.
func newMember(t *testing.T, st *store.Store, group uuid.UUID, user uuid.NullUUID) store.Member {
	t.Helper()
	m, err := st.CreateMember(context.Background(), store.Member{ID: uuid.New(), GroupID: group, UserID: user, DisplayName: "Guest"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMembers(t *testing.T) {
	t.Run("a member with an account is found by id and by account", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		owner := newUser(t, st)
		g := newGroup(t, st, owner.ID)
		in := store.Member{ID: uuid.New(), GroupID: g.ID, UserID: uuid.NullUUID{UUID: owner.ID, Valid: true}, DisplayName: "Ann"}

		created, err := st.CreateMember(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		recent(t, "CreatedAt", created.CreatedAt)
		byID, err := st.Member(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		byUser, err := st.MemberByUser(ctx, g.ID, owner.ID)
		if err != nil {
			t.Fatal(err)
		}
		for name, got := range map[string]store.Member{"Member": byID, "MemberByUser": byUser} {
			if got.ID != in.ID || got.GroupID != in.GroupID || got.UserID != in.UserID || got.DisplayName != in.DisplayName ||
				!got.CreatedAt.Equal(created.CreatedAt) {
				t.Errorf("%s = %+v, want %+v", name, got, in)
			}
		}
	})

	t.Run("guests may join many times and have no account", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		owner := newUser(t, st)
		g := newGroup(t, st, owner.ID)
		a, b := newMember(t, st, g.ID, uuid.NullUUID{}), newMember(t, st, g.ID, uuid.NullUUID{})

		for _, m := range []store.Member{a, b} {
			got, err := st.Member(ctx, m.ID)
			if err != nil || got.UserID.Valid {
				t.Errorf("Member(%v) = %+v, %v; want a guest without an account", m.ID, got, err)
			}
		}
		_, err := st.MemberByUser(ctx, g.ID, owner.ID)
		wantCode(t, "MemberByUser of an account that has not joined", err, apperr.NotFound)
	})

	t.Run("a group's members are listed in joining order and nobody else's are", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		owner := newUser(t, st)
		g, other := newGroup(t, st, owner.ID), newGroup(t, st, owner.ID)
		want := []uuid.UUID{
			newMember(t, st, g.ID, uuid.NullUUID{}).ID,
			newMember(t, st, g.ID, uuid.NullUUID{UUID: owner.ID, Valid: true}).ID,
			newMember(t, st, g.ID, uuid.NullUUID{}).ID,
		}
		newMember(t, st, other.ID, uuid.NullUUID{})

		got, err := st.Members(ctx, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("Members returned %d members, want %d", len(got), len(want))
		}
		for i := range got {
			if got[i].ID != want[i] {
				t.Errorf("member %d is %v, want %v (joining order)", i, got[i].ID, want[i])
			}
		}
		none, err := st.Members(ctx, uuid.New())
		if err != nil || len(none) != 0 {
			t.Errorf("Members of an unknown group = %v, %v; want none", none, err)
		}
	})

	tests := []struct {
		name string
		// call makes the failing call on a store holding group g, owned by owner, who
		// has joined it.
		call func(st *store.Store, owner store.User, g store.Group) error
		want apperr.Code
	}{
		{
			name: "an account joining a group twice is a conflict",
			call: func(st *store.Store, owner store.User, g store.Group) error {
				_, err := st.CreateMember(context.Background(), store.Member{ID: uuid.New(), GroupID: g.ID, UserID: uuid.NullUUID{UUID: owner.ID, Valid: true}, DisplayName: "Ann again"})
				return err
			},
			want: apperr.Conflict,
		},
		{
			name: "a member of an unknown group is not found",
			call: func(st *store.Store, _ store.User, _ store.Group) error {
				_, err := st.CreateMember(context.Background(), store.Member{ID: uuid.New(), GroupID: uuid.New(), DisplayName: "Guest"})
				return err
			},
			want: apperr.NotFound,
		},
		{
			name: "a member with an unknown account is not found",
			call: func(st *store.Store, _ store.User, g store.Group) error {
				_, err := st.CreateMember(context.Background(), store.Member{ID: uuid.New(), GroupID: g.ID, UserID: uuid.NullUUID{UUID: uuid.New(), Valid: true}, DisplayName: "Ghost"})
				return err
			},
			want: apperr.NotFound,
		},
		{
			name: "an unknown member is not found",
			call: func(st *store.Store, _ store.User, _ store.Group) error {
				_, err := st.Member(context.Background(), uuid.New())
				return err
			},
			want: apperr.NotFound,
		},
		{
			name: "an account that joined another group only is not found in this one",
			call: func(st *store.Store, owner store.User, _ store.Group) error {
				other, err := st.CreateGroup(context.Background(), store.Group{ID: uuid.New(), OwnerID: owner.ID, Title: "other", PasscodeHash: "x"})
				if err != nil {
					return err
				}
				_, err = st.MemberByUser(context.Background(), other.ID, owner.ID)
				return err
			},
			want: apperr.NotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := setup(t)
			owner := newUser(t, st)
			g := newGroup(t, st, owner.ID)
			newMember(t, st, g.ID, uuid.NullUUID{UUID: owner.ID, Valid: true})
			wantCode(t, "the call", tt.call(st, owner, g), tt.want)
		})
	}
}
