package store

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/quickchat-go/quickchat/db/dbgen"
	"github.com/quickchat-go/quickchat/pkg/apperr"
)

// ErrNameTaken is the error of creating a member whose NameKey another member of the
// group has.
var ErrNameTaken = apperr.New(apperr.Conflict, "another member of the group has this name")

// ErrPasscodeChanged is the error of CreateMemberWithPasscode when the group's passcode
// changed since it was checked.
var ErrPasscodeChanged = apperr.New(apperr.Forbidden, "the group's passcode changed; ask for the new one")

// CreateMember adds a member to a group. A taken name fails with ErrNameTaken; an account
// or guest key that is a member already with apperr.Conflict; a missing group or account
// with apperr.NotFound.
func (s *Store) CreateMember(ctx context.Context, m Member) (Member, error) {
	row, err := s.q.CreateMember(ctx, dbgen.CreateMemberParams{
		ID: m.ID, GroupID: m.GroupID, UserID: m.UserID, DisplayName: m.DisplayName,
		NameKey: m.NameKey, GuestKeyHash: m.GuestKeyHash,
	})
	if err != nil {
		return Member{}, translateMember(err)
	}
	return memberFrom(row), nil
}

// CreateMemberWithPasscode is CreateMember for someone who proved the group's passcode,
// whose hash was passcodeHash: when the passcode changed in between (and the change
// removed the guests) nothing is stored and the error is ErrPasscodeChanged, so nobody
// joins with a passcode that no longer works. A group that is gone is apperr.NotFound.
func (s *Store) CreateMemberWithPasscode(ctx context.Context, m Member, passcodeHash string) (Member, error) {
	row, err := s.q.CreateMemberWithPasscode(ctx, dbgen.CreateMemberWithPasscodeParams{
		ID: m.ID, GroupID: m.GroupID, UserID: m.UserID, DisplayName: m.DisplayName,
		NameKey: m.NameKey, GuestKeyHash: m.GuestKeyHash, PasscodeHash: passcodeHash,
	})
	if err == nil {
		return memberFrom(row), nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		// No row: the group is gone, or its passcode is not the one checked.
		if _, gerr := s.q.GetGroup(ctx, m.GroupID); gerr != nil {
			return Member{}, translate(gerr, "group")
		}
		return Member{}, ErrPasscodeChanged
	}
	return Member{}, translateMember(err)
}

// translateMember is translate for member writes, telling a taken name apart from an
// account or guest that is a member already.
func translateMember(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "group_members_name_key" {
		return ErrNameTaken
	}
	return translate(err, "member")
}

// Member returns a member by id.
func (s *Store) Member(ctx context.Context, id uuid.UUID) (Member, error) {
	row, err := s.q.GetMember(ctx, id)
	if err != nil {
		return Member{}, translate(err, "member")
	}
	return memberFrom(row), nil
}

// MemberByUser returns the membership of an account in a group.
func (s *Store) MemberByUser(ctx context.Context, group, user uuid.UUID) (Member, error) {
	row, err := s.q.GetMemberByUser(ctx, dbgen.GetMemberByUserParams{
		GroupID: group, UserID: uuid.NullUUID{UUID: user, Valid: true},
	})
	if err != nil {
		return Member{}, translate(err, "member")
	}
	return memberFrom(row), nil
}

// MemberByGuestKey returns the membership of the guest whose key hashes to keyHash.
func (s *Store) MemberByGuestKey(ctx context.Context, group uuid.UUID, keyHash []byte) (Member, error) {
	row, err := s.q.GetMemberByGuestKey(ctx, dbgen.GetMemberByGuestKeyParams{GroupID: group, GuestKeyHash: keyHash})
	if err != nil {
		return Member{}, translate(err, "member")
	}
	return memberFrom(row), nil
}

// Members lists a group's members in joining order.
func (s *Store) Members(ctx context.Context, group uuid.UUID) ([]Member, error) {
	rows, err := s.q.ListMembers(ctx, group)
	if err != nil {
		return nil, translate(err, "members")
	}
	return membersFrom(rows), nil
}

// MemberCursor is a position in a group's joining order: the member that joined at
// CreatedAt with ID. The zero cursor is the start.
type MemberCursor struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

// MembersPage returns up to limit members of a group in joining order, after the cursor.
func (s *Store) MembersPage(ctx context.Context, group uuid.UUID, after MemberCursor, limit int) ([]Member, error) {
	if after.CreatedAt.IsZero() {
		// Before any row PostgreSQL can store.
		after.CreatedAt = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	rows, err := s.q.ListMembersAfter(ctx, dbgen.ListMembersAfterParams{
		GroupID: group, AfterCreatedAt: after.CreatedAt, AfterID: after.ID, MaxRows: int32(limit),
	})
	if err != nil {
		return nil, translate(err, "members")
	}
	return membersFrom(rows), nil
}

// TouchMember records that the member was seen at now (it joined or renewed its token);
// passcode says it proved the passcode, which restarts its membership age.
func (s *Store) TouchMember(ctx context.Context, id uuid.UUID, now time.Time, passcode bool) (Member, error) {
	row, err := s.q.TouchMember(ctx, dbgen.TouchMemberParams{ID: id, Now: now, Passcode: passcode})
	if err != nil {
		return Member{}, translate(err, "member")
	}
	return memberFrom(row), nil
}

// DeleteMember ends a membership of a group and returns it; apperr.NotFound when there is
// none (it ended already).
func (s *Store) DeleteMember(ctx context.Context, group, id uuid.UUID) (Member, error) {
	row, err := s.q.DeleteMember(ctx, dbgen.DeleteMemberParams{GroupID: group, ID: id})
	if err != nil {
		return Member{}, translate(err, "member")
	}
	return memberFrom(row), nil
}

// GuestMemberIDs lists the ids of a group's guest members.
func (s *Store) GuestMemberIDs(ctx context.Context, group uuid.UUID) ([]uuid.UUID, error) {
	ids, err := s.q.ListGuestMemberIDs(ctx, group)
	if err != nil {
		return nil, translate(err, "members")
	}
	return ids, nil
}

// MessageCounts returns how many stored messages each of the senders has in the group;
// senders without messages are absent.
func (s *Store) MessageCounts(ctx context.Context, group uuid.UUID, senders []uuid.UUID) (map[uuid.UUID]int64, error) {
	out := make(map[uuid.UUID]int64, len(senders))
	if len(senders) == 0 {
		return out, nil
	}
	rows, err := s.q.CountMessagesBySender(ctx, dbgen.CountMessagesBySenderParams{GroupID: group, SenderIds: senders})
	if err != nil {
		return nil, translate(err, "message counts")
	}
	for _, r := range rows {
		out[r.SenderID] = r.Messages
	}
	return out, nil
}

func memberFrom(r dbgen.GroupMember) Member {
	m := Member{
		ID: r.ID, GroupID: r.GroupID, UserID: r.UserID, DisplayName: r.DisplayName, GuestKeyHash: r.GuestKeyHash,
		CreatedAt: r.CreatedAt, LastSeenAt: r.LastSeenAt, PasscodeAt: r.PasscodeAt,
	}
	if r.NameKey != nil {
		m.NameKey = *r.NameKey
	}
	return m
}

func membersFrom(rows []dbgen.GroupMember) []Member {
	out := make([]Member, len(rows))
	for i, r := range rows {
		out[i] = memberFrom(r)
	}
	return out
}
