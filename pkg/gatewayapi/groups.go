package gatewayapi

// Group is a chat group as the API shows it; it never carries the passcode or its hash.
type Group struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	OwnerID   string `json:"owner_id"`
	CreatedAt Time   `json:"created_at"`
	UpdatedAt Time   `json:"updated_at"`
}

// GroupList is the answer to GET /api/chat-group: the groups the caller owns, newest
// first.
type GroupList struct {
	Groups []Group `json:"groups"`
}

// NewGroup is the body of POST /api/chat-group.
type NewGroup struct {
	Title    string `json:"title"`
	Passcode string `json:"passcode"`
}

// GroupChange is the body of PUT /api/chat-group/{id}; a nil field is left as it is.
type GroupChange struct {
	Title    *string `json:"title"`
	Passcode *string `json:"passcode"`
	// KeepMembers keeps the guests' memberships through a passcode change; by default
	// (false) a new passcode ends every guest membership.
	KeepMembers bool `json:"keep_members,omitempty"`
}

// JoinRequest is the body of POST /api/chat-group/{id}/join.
type JoinRequest struct {
	// Name is the display name the member will have in the group.
	Name     string `json:"name"`
	Passcode string `json:"passcode"`
	// GuestKey is the guest_key of an earlier join as a guest, if the client kept one:
	// the guest then gets its membership back, and a banned guest is refused.
	GuestKey string `json:"guest_key,omitempty"`
}

// Member is a person who joined a group.
type Member struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	// IsGuest is true for a member who joined without an account.
	IsGuest  bool `json:"is_guest"`
	JoinedAt Time `json:"joined_at"`
}

// GroupMember is a member as GET /api/chat-group/{id}/members lists it. LastSeenAt,
// Online and MessageCount are shown to the group's owner only and omitted for others.
type GroupMember struct {
	MemberID string `json:"member_id"`
	Name     string `json:"name"`
	// Guest is true for a member without an account; Owner for the group owner's
	// membership.
	Guest    bool `json:"guest"`
	Owner    bool `json:"owner"`
	JoinedAt Time `json:"joined_at"`
	// LastSeenAt is the member's last join or member token renewal.
	LastSeenAt *Time `json:"last_seen_at,omitempty"`
	// Online says the member has a live connection to the group's room.
	Online *bool `json:"online,omitempty"`
	// MessageCount is how many of the member's messages are stored.
	MessageCount *int64 `json:"message_count,omitempty"`
}

// MemberList is the answer to GET /api/chat-group/{id}/members: a page of the members
// in joining order.
type MemberList struct {
	Members []GroupMember `json:"members"`
	// NextCursor continues the list (pass it as ?cursor=); omitted on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// NewBan is the body of POST /api/chat-group/{id}/bans.
type NewBan struct {
	MemberID string `json:"member_id"`
}

// Ban holds a former member out of a group: its account, or its guest key.
type Ban struct {
	BanID string `json:"ban_id"`
	// Name is the display name the member had.
	Name string `json:"name"`
	// Guest is true for a ban of a guest.
	Guest     bool `json:"guest"`
	CreatedAt Time `json:"created_at"`
}

// BanList is the answer to GET /api/chat-group/{id}/bans, oldest first.
type BanList struct {
	Bans []Ban `json:"bans"`
}

// Membership is the answer to joining a group and to renewing a member token: the token
// the realtime service needs to join the group's room.
type Membership struct {
	Group  Group  `json:"group"`
	Member Member `json:"member"`
	// Token is a member JWT scoped to Group, valid for ExpiresIn seconds.
	Token     string `json:"token"`
	ExpiresIn int    `json:"expires_in"`
	// RealtimeURL is the realtime service's WebSocket URL, or a comma-separated list of
	// them to try in turn.
	RealtimeURL string `json:"realtime_url"`
	// Guest is true for a membership without an account.
	Guest bool `json:"guest"`
	// GuestKey is the guest's key, only in the answer to a guest's join: the client keeps
	// it (it is a secret, like the token) and sends it with later joins of this group.
	GuestKey string `json:"guest_key,omitempty"`
}
