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

// Member is a person who joined a group, with (UserID set) or without an account.
type Member struct {
	ID          uuid.UUID
	GroupID     uuid.UUID
	UserID      uuid.NullUUID
	DisplayName string
	CreatedAt   time.Time
}

// Message is a stored chat message.
type Message struct {
	ID          uuid.UUID
	GroupID     uuid.UUID
	SenderID    uuid.UUID
	SenderName  string
	ClientMsgID string
	Body        string
	CreatedAt   time.Time
}
