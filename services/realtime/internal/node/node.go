package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/event"
	"github.com/quickchat-go/quickchat/pkg/wire"
	"github.com/quickchat-go/quickchat/services/realtime/internal/hub"
	"github.com/quickchat-go/quickchat/services/realtime/internal/metrics"
)

// Producer makes a record durable before anyone sees it.
type Producer interface {
	// Produce writes value keyed by key and returns once it is durable.
	Produce(ctx context.Context, key string, value []byte) error
}

// Config tunes a Node.
type Config struct {
	// DedupTTL is how long a client message id is remembered.
	DedupTTL time.Duration
	// SendTimeout bounds producing and publishing one message; it is also the lease an
	// attempt holds on its client message id.
	SendTimeout time.Duration
	// RecoverLimit caps how many missed messages one join replays.
	RecoverLimit int
	// RecoverMaxBytes caps the bytes of message frames one join replays; a larger gap is
	// not replayed and the client reloads history instead.
	RecoverMaxBytes int64
	// ReplayRate and ReplayBurst are each member's replay budget, shared by all
	// instances: bytes of replayed message frames per second, and at once. A join the
	// budget cannot pay replays nothing and the client reloads history instead.
	ReplayRate, ReplayBurst float64
	// SendRate and SendBurst limit each member's new messages across its connections and
	// all instances: per second, and at once (0 rate: no limit).
	SendRate, SendBurst float64
	// TypingInterval is the least time between two typing events of one member in one
	// room across its connections and all instances (0: no limit).
	TypingInterval time.Duration
	// PresenceTTL is how long a presence entry outlives its last refresh.
	PresenceTTL time.Duration
	// PresenceLimit caps the clients one presence reply lists.
	PresenceLimit int
	// TypingTTL is how long clients show a typing indicator after the last typing event.
	TypingTTL time.Duration
	// PresenceEventsMaxRoom is the most local members a room may have to get presence
	// join and leave events (0: no limit).
	PresenceEventsMaxRoom int
}

// Node ties the hub, the broker and the producer together.
type Node struct {
	hub      *hub.Hub
	broker   Broker
	presence PresenceStore
	producer Producer
	cfg      Config
	metrics  *metrics.Metrics
	log      *zap.Logger
	hops     hops

	local localPresence
}

// hops are the hop histograms this package observes, looked up once.
type hops struct {
	reserve, produce, publish, stream, dispatch prometheus.Observer
}

// New returns a Node.
func New(h *hub.Hub, b Broker, ps PresenceStore, p Producer, cfg Config, m *metrics.Metrics, log *zap.Logger) *Node {
	return &Node{hub: h, broker: b, presence: ps, producer: p, cfg: cfg, metrics: m, log: log,
		hops: hops{
			reserve: m.Hops.WithLabelValues(metrics.HopReserve), produce: m.Hops.WithLabelValues(metrics.HopProduce),
			publish: m.Hops.WithLabelValues(metrics.HopPublish), stream: m.Hops.WithLabelValues(metrics.HopStream),
			dispatch: m.Hops.WithLabelValues(metrics.HopDispatch),
		},
		local: localPresence{rooms: make(map[string]map[string][]byte)}}
}

// Subscribe adds s to the room on this instance, so it gets the room's frames. It reports
// whether s was not subscribed before.
func (n *Node) Subscribe(room string, s hub.Subscriber) bool { return n.hub.Subscribe(room, s) }

// Unsubscribe removes s from the room on this instance. It reports whether s was
// subscribed.
func (n *Node) Unsubscribe(room string, s hub.Subscriber) bool { return n.hub.Unsubscribe(room, s) }

// Sender identifies who sends, from a verified member token.
type Sender struct {
	MemberID string
	Name     string
	GroupID  string
	// Guest is true for a member without an account; its messages say so.
	Guest bool
	// Owner is true for the group's owner, who may delete any message of the room.
	Owner bool
}

// Accepted describes an accepted message or deletion.
type Accepted struct {
	ID  string
	Pos wire.Position
	// Duplicate is true when an earlier attempt with the same client message id had
	// already published the message; nothing new was sent.
	Duplicate bool
}

// ErrUnavailable marks failures of Kafka or Redis; the client should retry with the same
// client message id.
var ErrUnavailable = errors.New("node: message not accepted, retry")

// ErrRevoked refuses a message because its sender's membership of the room was revoked;
// nothing was sent or claimed.
var ErrRevoked = errors.New("node: the sender's membership of the room was revoked")

// ErrForbidden refuses a deletion by a member who may not delete the message; nothing was
// sent or claimed.
var ErrForbidden = errors.New("node: only the room's owner may delete messages")

// LimitedError refuses a message because its sender is over the member send quota;
// nothing was sent or claimed, so the client may send it again later with the same id.
type LimitedError struct {
	// RetryAfter is when the quota could pay for it.
	RetryAfter time.Duration
}

func (e *LimitedError) Error() string {
	return fmt.Sprintf("node: the member's send quota is spent; retry in %v", e.RetryAfter)
}

// quota returns the member's quota of the given name as the config sets it.
func (n *Node) quota(name, member string) Quota {
	q := Quota{Name: name, Member: member}
	switch name {
	case QuotaSend:
		q.Rate, q.Burst = n.cfg.SendRate, n.cfg.SendBurst
	case QuotaTyping:
		if n.cfg.TypingInterval > 0 {
			q.Rate, q.Burst = 1/n.cfg.TypingInterval.Seconds(), 1
		}
	case QuotaReplay:
		q.Rate, q.Burst = n.cfg.ReplayRate, n.cfg.ReplayBurst
	}
	return q
}

// Send accepts body from s once it is durable in Kafka and published to the room. A retry
// with the same clientMsgID, on any instance, returns the original id and position and
// publishes nothing; a retry while another attempt is in flight waits for it. A new
// message over the member's send quota is refused with a *LimitedError, and any message
// of a member whose membership was revoked with ErrRevoked, before anything is written.
// attachments are the files the message carries, as the gateway checked them: the caller
// has verified their references.
func (n *Node) Send(ctx context.Context, s Sender, clientMsgID, body string, attachments ...*event.Attachment) (Accepted, error) {
	return n.accept(ctx, s, clientMsgID, func(id string) *event.Message {
		return &event.Message{
			Id: id, GroupId: s.GroupID, SenderId: s.MemberID, SenderName: s.Name,
			ClientMsgId: clientMsgID, Body: body, CreatedAtUnixMs: createdAt(id), SenderGuest: s.Guest,
			Attachments: attachments,
		}
	})
}

// Delete accepts the deletion of the room's message messageID by s, the room's owner, the
// way Send accepts a message: the deletion is an event of its own, durable in Kafka and
// published at a position of the room before it is acknowledged, deduplicated by
// clientMsgID and paid from the same send quota. A deleter who is not the owner is refused
// with ErrForbidden before anything is written. The message is not looked up: deleting an
// unknown or already deleted id is a harmless event that the persister and clients ignore.
func (n *Node) Delete(ctx context.Context, s Sender, clientMsgID, messageID string) (Accepted, error) {
	if !s.Owner {
		n.metrics.Sends.WithLabelValues("forbidden").Inc()
		return Accepted{}, ErrForbidden
	}
	return n.accept(ctx, s, clientMsgID, func(id string) *event.Message {
		return &event.Message{
			Id: id, GroupId: s.GroupID, SenderId: s.MemberID, SenderName: s.Name,
			ClientMsgId: clientMsgID, CreatedAtUnixMs: createdAt(id), SenderGuest: s.Guest,
			Deletion: &event.Deletion{MessageId: messageID},
		}
	})
}

// accept is the path every event of a room takes: reserve the client message id (dedup,
// quota, revocation), produce the event that build returns for the reserved id to Kafka,
// then publish it to the room at a position.
func (n *Node) accept(ctx context.Context, s Sender, clientMsgID string, build func(id string) *event.Message) (Accepted, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.SendTimeout)
	defer cancel()
	newID, err := event.NewID()
	if err != nil {
		return Accepted{}, err
	}
	owner := newID.String()
	k := DedupKey{Room: s.GroupID, Sender: s.MemberID, ClientMsgID: clientMsgID}
	start := time.Now()
	res, err := n.reserve(ctx, k, owner, n.quota(QuotaSend, s.MemberID))
	n.hops.reserve.Observe(time.Since(start).Seconds())
	if err != nil {
		n.metrics.Sends.WithLabelValues("failed").Inc()
		return Accepted{}, errors.Join(ErrUnavailable, err)
	}
	if res.State == Revoked {
		n.metrics.Sends.WithLabelValues("revoked").Inc()
		return Accepted{}, ErrRevoked
	}
	if res.State == Limited {
		n.metrics.Sends.WithLabelValues("limited").Inc()
		return Accepted{}, &LimitedError{RetryAfter: res.RetryAfter}
	}
	if res.State == Done {
		n.metrics.Sends.WithLabelValues("duplicate").Inc()
		return Accepted{ID: res.ID, Pos: res.Pos, Duplicate: true}, nil
	}
	msg := build(res.ID)
	data, err := event.Encode(msg)
	if err == nil {
		err = event.Validate(msg)
	}
	if err != nil {
		n.release(k, owner)
		n.metrics.Sends.WithLabelValues("failed").Inc()
		return Accepted{}, fmt.Errorf("node: event from %s: %w", s.MemberID, err)
	}
	start = time.Now()
	err = n.producer.Produce(ctx, s.GroupID, data)
	n.hops.produce.Observe(time.Since(start).Seconds())
	if err != nil {
		n.release(k, owner)
		n.metrics.Sends.WithLabelValues("failed").Inc()
		return Accepted{}, errors.Join(ErrUnavailable, err)
	}
	// Kafka has it now. If publishing fails the client retries with the same id: the
	// record is produced again with the same event id (the persister stores it once)
	// and published then.
	start = time.Now()
	pos, fresh, err := n.broker.Publish(ctx, k, res.ID, data, frameSize(msg), n.cfg.DedupTTL)
	n.hops.publish.Observe(time.Since(start).Seconds())
	if err != nil {
		n.release(k, owner)
		n.metrics.Sends.WithLabelValues("failed").Inc()
		return Accepted{}, errors.Join(ErrUnavailable, err)
	}
	if fresh {
		n.metrics.Sends.WithLabelValues("accepted").Inc()
	} else {
		n.metrics.Sends.WithLabelValues("duplicate").Inc()
	}
	return Accepted{ID: res.ID, Pos: pos, Duplicate: !fresh}, nil
}

// reserve claims the client message id, waiting while another attempt holds it.
func (n *Node) reserve(ctx context.Context, k DedupKey, owner string, q Quota) (Reservation, error) {
	wait := 5 * time.Millisecond
	for {
		res, err := n.broker.Reserve(ctx, k, owner, owner, n.cfg.DedupTTL, n.cfg.SendTimeout, q)
		if err != nil || res.State != Pending {
			return res, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return Reservation{}, fmt.Errorf("node: wait for the earlier attempt of %s: %w", k.ClientMsgID, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// release gives up the lease of a failed attempt; it must work even when the send's own
// context has run out.
func (n *Node) release(k DedupKey, owner string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := n.broker.Release(ctx, k, owner); err != nil {
		n.log.Warn("release of a failed send's lease failed; a retry waits for it to run out", zap.Error(err))
	}
}

// createdAt derives the acceptance time from the UUIDv7 so a retry that reuses an id also
// reuses its timestamp.
func createdAt(id string) int64 {
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 7 {
		return time.Now().UnixMilli()
	}
	sec, nsec := u.Time().UnixTime()
	return time.Unix(sec, nsec).UnixMilli()
}
