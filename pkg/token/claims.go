package token

import (
	"time"
)

// Kind says what a token proves.
type Kind string

const (
	// KindAccess proves a signed-in account; Subject is the user id.
	KindAccess Kind = "access"
	// KindMember proves membership of GroupID; Subject is the member id.
	KindMember Kind = "member"
	// KindAttachment proves that the gateway checked an uploaded file of GroupID (File
	// says what it found); Subject is the attachment id. A message references the file
	// with it, and realtime trusts its metadata without asking the gateway.
	KindAttachment Kind = "attachment"
)

// Issuer is the "iss" claim of every token the gateway signs.
const Issuer = "quickchat-gateway"

// The "aud" claim of each kind of token. Every token carries exactly the audience of its
// kind, and every verifier is told which kinds it accepts, so a token of one kind can never
// pass as the other even where all other claims line up.
const (
	// AudienceAccess is the audience of access tokens: the gateway's account routes.
	AudienceAccess = "quickchat:access"
	// AudienceMember is the audience of member tokens: joining a room, and the gateway's
	// member routes.
	AudienceMember = "quickchat:member"
	// AudienceAttachment is the audience of attachment references: sending a message
	// that carries the file.
	AudienceAttachment = "quickchat:attachment"
)

// Audience returns the "aud" claim of tokens of kind k, or "" for an unknown kind.
func (k Kind) Audience() string {
	switch k {
	case KindAccess:
		return AudienceAccess
	case KindMember:
		return AudienceMember
	case KindAttachment:
		return AudienceAttachment
	}
	return ""
}

// kinds are every kind of token, in no particular order.
var kinds = []Kind{KindAccess, KindMember, KindAttachment}

// kindOfAudience returns the kind whose audience is aud.
func kindOfAudience(aud string) (Kind, bool) {
	for _, k := range kinds {
		if k.Audience() == aud {
			return k, true
		}
	}
	return "", false
}

// Claims is what a verified token tells its reader.
type Claims struct {
	// Subject is the user id (access tokens) or member id (member tokens).
	Subject string
	// Kind is what the token proves.
	Kind Kind
	// GroupID is the group a member token is scoped to; empty for access tokens.
	GroupID string
	// UserID is the account behind a member token, empty for guests.
	UserID string
	// Name is the display name of the user or member.
	Name string
	// Guest is true for a member token of a member without an account. Realtime marks the
	// member's presence and messages with it so nobody can pass as an account holder.
	Guest bool
	// Owner is true for a member token of the group's owner. Realtime lets only the owner
	// moderate the room (delete any message), so the claim is written only when true and a
	// token without it is an ordinary member's.
	Owner bool
	// IssuedAt and Expiry bound the token's validity.
	IssuedAt time.Time
	Expiry   time.Time
	// ID is the unique token id ("jti").
	ID string
	// File is what the gateway found when it checked an attachment; set exactly for
	// attachment tokens.
	File *File
}

// File is the metadata of a checked attachment, as an attachment token carries it.
type File struct {
	// Uploader is the member id of who uploaded the file; only that member may send it.
	Uploader string `json:"upl"`
	// Name is the file name, ContentType the sniffed media type, Size the object's bytes.
	Name        string `json:"n"`
	ContentType string `json:"t"`
	Size        int64  `json:"s"`
	// Width and Height are an image's dimensions; 0 for other files.
	Width  int32 `json:"w,omitempty"`
	Height int32 `json:"h,omitempty"`
	// ThumbWidth and ThumbHeight are those of the image's thumbnail; 0 without one.
	ThumbWidth  int32 `json:"tw,omitempty"`
	ThumbHeight int32 `json:"th,omitempty"`
}

const (
	claimKind    = "knd"
	claimGroupID = "grp"
	claimUserID  = "uid"
	claimName    = "name"
	claimGuest   = "gst"
	claimOwner   = "own"
	claimFile    = "att"
)
