package store

import (
	"context"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/db/dbgen"
)

// CreateMember adds a member to a group.
func (s *Store) CreateMember(ctx context.Context, m Member) (Member, error) {
	row, err := s.q.CreateMember(ctx, dbgen.CreateMemberParams{
		ID: m.ID, GroupID: m.GroupID, UserID: m.UserID, DisplayName: m.DisplayName,
	})
	if err != nil {
		return Member{}, translate(err, "member")
	}
	return Member(row), nil
}

// Member returns a member by id.
func (s *Store) Member(ctx context.Context, id uuid.UUID) (Member, error) {
	row, err := s.q.GetMember(ctx, id)
	if err != nil {
		return Member{}, translate(err, "member")
	}
	return Member(row), nil
}

// MemberByUser returns the membership of an account in a group.
func (s *Store) MemberByUser(ctx context.Context, group, user uuid.UUID) (Member, error) {
	row, err := s.q.GetMemberByUser(ctx, dbgen.GetMemberByUserParams{
		GroupID: group, UserID: uuid.NullUUID{UUID: user, Valid: true},
	})
	if err != nil {
		return Member{}, translate(err, "member")
	}
	return Member(row), nil
}

// Members lists a group's members in joining order.
func (s *Store) Members(ctx context.Context, group uuid.UUID) ([]Member, error) {
	rows, err := s.q.ListMembers(ctx, group)
	if err != nil {
		return nil, translate(err, "members")
	}
	out := make([]Member, len(rows))
	for i, r := range rows {
		out[i] = Member(r)
	}
	return out, nil
}
