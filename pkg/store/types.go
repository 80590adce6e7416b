package store

import (
	"time"

	"github.com/google/uuid"
)

// User is an account.
type User struct {
	ID           uuid.UUID
	Email        string
	Name         string
	PasswordHash string // empty when the account signs in only through OIDC
	OIDCIssuer   string
	OIDCSubject  string
	CreatedAt    time.Time
}

// Group is a chat group (room).
type Group struct {
	ID           uuid.UUID
	OwnerID      uuid.UUID
	Title        string
	PasscodeHash string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Member is a person who joined a group, with (UserID set) or without an account (a
// guest).
type Member struct {
	ID          uuid.UUID
	GroupID     uuid.UUID
	UserID      uuid.NullUUID
	DisplayName string
	// NameKey is DisplayName folded for comparison; no two members of a group share one.
	// Empty leaves the name out of the comparison (members stored before names were
	// compared).
	NameKey string
	// GuestKeyHash is the SHA-256 of the guest's key, nil for accounts (and for guests
	// who joined before guest keys existed).
	GuestKeyHash []byte
	// CreatedAt is when the member joined; LastSeenAt its last join or token renewal;
	// PasscodeAt its last join with the passcode.
	CreatedAt  time.Time
	LastSeenAt time.Time
	PasscodeAt time.Time
}

// Guest reports whether the member joined without an account.
func (m Member) Guest() bool { return !m.UserID.Valid }

// Ban holds an account (UserID) or a guest (GuestKeyHash) out of a group; MemberID and
// DisplayName are those of the membership the ban ended.
type Ban struct {
	ID           uuid.UUID
	GroupID      uuid.UUID
	MemberID     uuid.UUID
	UserID       uuid.NullUUID
	GuestKeyHash []byte
	DisplayName  string
	CreatedAt    time.Time
}

// Guest reports whether the ban holds out a guest.
func (b Ban) Guest() bool { return !b.UserID.Valid }

// Message is a stored chat message.
type Message struct {
	ID          uuid.UUID
	GroupID     uuid.UUID
	SenderID    uuid.UUID
	SenderName  string
	ClientMsgID string
	Body        string
	CreatedAt   time.Time
	// SenderGuest is true when the sender was a guest.
	SenderGuest bool
	// DeletedAt is when the message was deleted, nil while it is not; a deleted message's
	// Body is empty (the text is cleared in storage).
	DeletedAt *time.Time
	// DeletedBy is the member who deleted the message, set exactly when DeletedAt is.
	DeletedBy uuid.NullUUID
	// Attachments are the files the message carries, in order. The persister needs only
	// their ids; history reads give the completed attachments of messages not deleted.
	Attachments []Attachment
}

// Deletion is the deletion of one message of a group, as the persister stores it. It may
// be applied before the message it deletes is stored: the message is then stored deleted.
type Deletion struct {
	// EventID is the deletion event's own id.
	EventID uuid.UUID
	// MessageID is the message deleted; a message of another group is never touched.
	MessageID uuid.UUID
	// GroupID is the group the deletion was made in.
	GroupID uuid.UUID
	// DeletedBy is the member who deleted the message.
	DeletedBy uuid.UUID
	// DeletedAt is when the deletion was accepted.
	DeletedAt time.Time
}

// Event is one change the persister applies: a Message to store or, when Deletion is set,
// that deletion (Message is then unused). A value rather than an interface so a batch of
// plain messages costs no allocation per event.
type Event struct {
	// Message is the message to store when Deletion is nil.
	Message Message
	// Deletion, when set, makes the event a deletion.
	Deletion *Deletion
}
