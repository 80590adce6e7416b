package app

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
)

// Page sizes of the member list.
const (
	// DefaultMembersLimit is the page size when the client names none.
	DefaultMembersLimit = 50
	// MaxMembersLimit is the largest page.
	MaxMembersLimit = 100
)

// MembersQuery picks a page of a group's members.
type MembersQuery struct {
	// Limit is the page size, 1 to MaxMembersLimit.
	Limit int
	// Cursor is the NextCursor of the previous page; empty for the first.
	Cursor string
}

// ListedMember is a member as the member list shows it.
type ListedMember struct {
	store.Member
	// Owner is true for the group owner's membership.
	Owner bool
	// Online and Messages are known only to the owner (see MemberPage.Private): whether
	// the member has a live connection to the room, and how many of its messages are
	// stored.
	Online   bool
	Messages int64
}

// MemberPage is one page of a group's members in joining order.
type MemberPage struct {
	Members []ListedMember
	// Private says the page carries the owner-only fields (LastSeenAt, Online,
	// Messages); for other members they are zero.
	Private bool
	// NextCursor continues the list; empty on the last page.
	NextCursor string
}

// List returns a page of a group's members in joining order, to its members. The owner
// also sees when each was last seen (joined or renewed its token), whether it is online
// and how many messages it sent.
func (m *Members) List(ctx context.Context, c Caller, groupID string, q MembersQuery) (MemberPage, error) {
	g, rel, err := m.access.visibleAs(ctx, c, groupID, accessMember)
	if err != nil {
		return MemberPage{}, err
	}
	private := rel == accessOwner
	if q.Limit < 1 || q.Limit > MaxMembersLimit {
		return MemberPage{}, apperr.New(apperr.Invalid, "limit must be an integer from 1 to %d", MaxMembersLimit)
	}
	after, err := parseMemberCursor(q.Cursor)
	if err != nil {
		return MemberPage{}, err
	}
	// One more than asked tells whether there are more.
	rows, err := m.access.members.MembersPage(ctx, g.ID, after, q.Limit+1)
	if err != nil {
		return MemberPage{}, err
	}
	page := MemberPage{Private: private}
	if len(rows) > q.Limit {
		rows = rows[:q.Limit]
		last := rows[len(rows)-1]
		page.NextCursor = memberCursor(store.MemberCursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	page.Members = make([]ListedMember, len(rows))
	for i, r := range rows {
		page.Members[i] = ListedMember{Member: r, Owner: isOwner(g, r)}
	}
	if !private {
		for i := range page.Members {
			page.Members[i].LastSeenAt = time.Time{}
		}
		return page, nil
	}
	online, err := m.presence.Online(ctx, g.ID.String())
	if err != nil {
		return MemberPage{}, apperr.Wrap(err, apperr.Unavailable, "who is online is unknown right now; try again")
	}
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	counts, err := m.messages.MessageCounts(ctx, g.ID, ids)
	if err != nil {
		return MemberPage{}, err
	}
	for i := range page.Members {
		lm := &page.Members[i]
		lm.Online, lm.Messages = online[lm.ID.String()], counts[lm.ID]
	}
	return page, nil
}

// memberCursor encodes a position in the joining order opaquely: clients only pass it
// back.
func memberCursor(c store.MemberCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + "." + c.ID.String()))
}

func parseMemberCursor(s string) (store.MemberCursor, error) {
	if s == "" {
		return store.MemberCursor{}, nil
	}
	bad := apperr.New(apperr.Invalid, "cursor must be the next_cursor of a previous page")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.MemberCursor{}, bad
	}
	micros, id, ok := strings.Cut(string(raw), ".")
	if !ok {
		return store.MemberCursor{}, bad
	}
	us, err := strconv.ParseInt(micros, 10, 64)
	if err != nil {
		return store.MemberCursor{}, bad
	}
	uid, err := uuid.Parse(id)
	if err != nil {
		return store.MemberCursor{}, bad
	}
	return store.MemberCursor{CreatedAt: time.UnixMicro(us).UTC(), ID: uid}, nil
}
