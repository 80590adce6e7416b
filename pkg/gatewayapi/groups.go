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
}

// JoinRequest is the body of POST /api/chat-group/{id}/join.
type JoinRequest struct {
	// Name is the display name the member will have in the group.
	Name     string `json:"name"`
	Passcode string `json:"passcode"`
}

// Member is a person who joined a group.
type Member struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	// IsGuest is true for a member who joined without an account.
	IsGuest  bool `json:"is_guest"`
	JoinedAt Time `json:"joined_at"`
}

// MemberList is the answer to GET /api/chat-group/{id}/members, in joining order.
type MemberList struct {
	Members []Member `json:"members"`
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
}
