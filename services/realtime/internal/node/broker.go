package node

import (
	"context"
	"time"

	"github.com/quickchat-go/quickchat/pkg/wire"
)

// Broker publishes messages to rooms across instances and reads back their history. Every
// instance reads what any instance publishes and hands it to its Dispatcher.
type Broker interface {
	// Reserve claims a client message id for a send whose new message id would be id,
	// holding a lease of the given length for owner; dedup is how long the id is
	// remembered. A Pending result means another attempt holds the lease: wait and
	// reserve again. A client message id the broker has not seen costs one unit of q (if
	// q is limited); when q cannot pay, nothing is claimed and the result is Limited.
	// Retries of a known id cost nothing.
	Reserve(ctx context.Context, k DedupKey, id, owner string, dedup, lease time.Duration, q Quota) (Reservation, error)
	// Release gives up owner's lease so a retry can take over at once.
	Release(ctx context.Context, k DedupKey, owner string) error
	// Publish appends the message (id, encoded data) to its room, unless an earlier
	// attempt already did: then nothing is appended, fresh is false and the earlier
	// position is returned. size is what replaying the message costs (its frame's
	// bytes); the broker keeps it so Recover knows a gap's size before reading it.
	Publish(ctx context.Context, k DedupKey, id string, data []byte, size int, dedup time.Duration) (pos wire.Position, fresh bool, err error)
	// Recover returns the room's current position and, when since is not nil, the
	// messages after it, within lim (see RecoverLimits and Recovery).
	Recover(ctx context.Context, room string, since *wire.Position, lim RecoverLimits) (Recovery, error)
	// PublishEvent hands an event without a position (typing) to every instance, unless
	// q is limited and cannot pay one unit: then it publishes nothing and sent is false.
	PublishEvent(ctx context.Context, room string, kind Kind, data []byte, q Quota) (sent bool, err error)
}

// Dispatcher receives every entry a broker reads, in order per room, from one goroutine
// per room at a time. Node implements it; the broker calls it.
type Dispatcher interface {
	Dispatch(e Entry)
}

var _ Dispatcher = (*Node)(nil)

// Kind says what an entry carries.
type Kind byte

// Entry kinds. The byte values are what brokers store.
const (
	KindMessage       Kind = 'm' // a chat event (event.Message protobuf: a message or a deletion); has a position
	KindPresenceJoin  Kind = 'j' // a client joined the room (encoded wire.Client)
	KindPresenceLeave Kind = 'l' // a client left or expired (encoded wire.Client)
	KindTyping        Kind = 't' // a client is typing (client id, '\n', encoded wire.Client)
	KindRevoke        Kind = 'r' // memberships of the room ended (Members, Reason); written by the gateway
)

// Entry is one item a broker read: a message of a room, or an event about it.
type Entry struct {
	Kind Kind
	Room string
	// Pos is set for messages.
	Pos  wire.Position
	Data []byte
	// Members and Reason are set for revocations: the member ids whose memberships of the
	// room ended, and why (a wire.Reason value).
	Members []string
	Reason  string
	// Added is when the entry was added to its shard stream, by the broker's clock at
	// millisecond resolution; zero when the broker does not say.
	Added time.Time
}

// DedupKey names one client message: who sent what into which room.
type DedupKey struct {
	Room, Sender, ClientMsgID string
}

// ReserveState says what a Reserve found.
type ReserveState int

const (
	// Owned: the caller sends the message (first attempt, or takes over a stale one).
	Owned ReserveState = iota
	// Pending: another attempt is sending it right now; wait and reserve again.
	Pending
	// Done: an earlier attempt published it at Pos; acknowledge again, send nothing.
	Done
	// Limited: the id is new and the sender's quota cannot pay for it now; nothing was
	// claimed. RetryAfter says when it could.
	Limited
	// Revoked: the sender's membership of the room was revoked; nothing was claimed, and
	// nothing from this member may be sent to the room again.
	Revoked
)

// Reservation is the outcome of Reserve.
type Reservation struct {
	State ReserveState
	// ID is the message id to use: the caller's, or the one an earlier attempt chose.
	ID string
	// Pos is the message's position when State is Done.
	Pos wire.Position
	// RetryAfter is when the quota could pay, when State is Limited.
	RetryAfter time.Duration
}

// RecoverLimits bound one recovery.
type RecoverLimits struct {
	// Messages is the most messages one recovery returns; a client further behind is
	// not recovered.
	Messages int
	// Bytes is the most bytes (the sum of the messages' sizes given to Publish) one
	// recovery returns; a larger gap is refused with RefusedTooLarge.
	Bytes int64
	// Quota, when limited, is charged the bytes a recovery returns; a recovery it
	// cannot pay is refused with RefusedQuota and charges nothing.
	Quota Quota
	// Member, when set, is the member the recovery is for (a join): if its membership
	// was revoked, the recovery returns only Revoked, checked in the same step.
	Member string
}

// Refusal says why messages that could have been recovered were not.
type Refusal int

const (
	// NotRefused: the recovery is complete, or cannot be (another epoch, trimmed
	// history, further behind than RecoverLimits.Messages, ahead of the room).
	NotRefused Refusal = iota
	// RefusedTooLarge: the missed messages are more bytes than RecoverLimits.Bytes.
	RefusedTooLarge
	// RefusedQuota: RecoverLimits.Quota cannot pay for the missed messages now.
	RefusedQuota
)

// Recovery is what a broker's Recover found.
type Recovery struct {
	// Top is the room's current position: the last message published (offset 0 when none
	// has been in this epoch).
	Top wire.Position
	// Entries are the messages after the since position up to Top, in order, when
	// Complete; otherwise empty.
	Entries []Entry
	// Complete is true when Entries are exactly the messages after since: since is in
	// the room's current epoch, within the limits behind Top and still in history.
	Complete bool
	// Bytes is the size of the messages after since, when the broker could tell: always
	// when Complete or refused.
	Bytes int64
	// Refused says why a recovery that was possible was refused.
	Refused Refusal
	// Revoked is true when RecoverLimits.Member's membership was revoked; nothing else
	// is set then.
	Revoked bool
}
