// Package node is the core of one realtime instance: it accepts a message from a member,
// makes it durable in Kafka, publishes it to the room through the broker exactly once per
// client message id, and delivers what the broker reads to local subscribers.
package node

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/event"
	"github.com/quickchat-go/quickchat/services/realtime/internal/broker"
	"github.com/quickchat-go/quickchat/services/realtime/internal/hub"
	"github.com/quickchat-go/quickchat/services/realtime/internal/protocol"
)

// Producer makes a record durable.
type Producer interface {
	Produce(ctx context.Context, key string, value []byte) error
}

// Broker publishes to rooms across instances.
type Broker interface {
	Reserve(ctx context.Context, room, sender, clientMsgID, id string, ttl time.Duration) (broker.Reservation, error)
	Publish(ctx context.Context, room, sender, clientMsgID, id string, data []byte, ttl time.Duration) (pos string, fresh bool, err error)
	Since(ctx context.Context, room, pos string, limit int) ([]broker.Entry, bool, error)
}

// Config tunes a Node.
type Config struct {
	// DedupTTL is how long a client message id is remembered.
	DedupTTL time.Duration
	// SendTimeout bounds producing and publishing one message.
	SendTimeout time.Duration
}

// Node ties the hub, the broker and the producer together.
type Node struct {
	hub      *hub.Hub
	broker   Broker
	producer Producer
	cfg      Config
	log      *zap.Logger
}

// New returns a Node.
func New(h *hub.Hub, b Broker, p Producer, cfg Config, log *zap.Logger) *Node {
	return &Node{hub: h, broker: b, producer: p, cfg: cfg, log: log}
}

// Hub returns the local registry.
func (n *Node) Hub() *hub.Hub { return n.hub }

// Sender identifies who sends, from a verified member token.
type Sender struct {
	MemberID string
	Name     string
	GroupID  string
}

// ErrUnavailable wraps failures of Kafka or Redis; the client should retry with the same
// client message id.
var ErrUnavailable = errors.New("node: message not accepted, retry")

// Send accepts body from sender and returns the message id and its room position once the
// message is durable in Kafka and published. A retry with the same clientMsgID returns the
// original id and position without publishing again.
func (n *Node) Send(ctx context.Context, s Sender, clientMsgID, body string) (id, pos string, err error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.SendTimeout)
	defer cancel()
	newID, err := event.NewID()
	if err != nil {
		return "", "", err
	}
	res, err := n.broker.Reserve(ctx, s.GroupID, s.MemberID, clientMsgID, newID.String(), n.cfg.DedupTTL)
	if err != nil {
		return "", "", errors.Join(ErrUnavailable, err)
	}
	if res.Pos != "" {
		return res.ID, res.Pos, nil // already published by an earlier attempt
	}
	msg := &event.Message{
		Id: res.ID, GroupId: s.GroupID, SenderId: s.MemberID, SenderName: s.Name,
		ClientMsgId: clientMsgID, Body: body, CreatedAtUnixMs: createdAt(res.ID),
	}
	data, err := event.Encode(msg)
	if err != nil {
		return "", "", err
	}
	if err := n.producer.Produce(ctx, s.GroupID, data); err != nil {
		return "", "", errors.Join(ErrUnavailable, err)
	}
	pos, _, err = n.broker.Publish(ctx, s.GroupID, s.MemberID, clientMsgID, res.ID, data, n.cfg.DedupTTL)
	if err != nil {
		return "", "", errors.Join(ErrUnavailable, err)
	}
	return res.ID, pos, nil
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

// Dispatch implements broker.Dispatcher: it encodes the frame once and hands the same bytes
// to every local subscriber of the room.
func (n *Node) Dispatch(room, pos string, data []byte) {
	if !n.hub.HasSubscribers(room) {
		return
	}
	frame, err := messageFrame(pos, data)
	if err != nil {
		n.log.Error("undecodable stream entry skipped", zap.String("room", room), zap.String("pos", pos), zap.Error(err))
		return
	}
	n.hub.Broadcast(room, frame)
}

// Recover returns the frames of room after pos and whether nothing is missing.
func (n *Node) Recover(ctx context.Context, room, pos string, limit int) ([][]byte, bool, error) {
	entries, complete, err := n.broker.Since(ctx, room, pos, limit)
	if err != nil {
		return nil, false, errors.Join(ErrUnavailable, err)
	}
	frames := make([][]byte, 0, len(entries))
	for _, e := range entries {
		f, err := messageFrame(e.Pos, e.Data)
		if err != nil {
			complete = false
			continue
		}
		frames = append(frames, f)
	}
	return frames, complete, nil
}

func messageFrame(pos string, data []byte) ([]byte, error) {
	m, err := event.Decode(data)
	if err != nil {
		return nil, err
	}
	return protocol.Encode(protocol.ServerFrame{
		Type: protocol.TypeMessage, GroupID: m.GetGroupId(), Pos: pos,
		Message: &protocol.Message{
			ID: m.GetId(), GroupID: m.GetGroupId(), SenderID: m.GetSenderId(), SenderName: m.GetSenderName(),
			ClientMsgID: m.GetClientMsgId(), Body: m.GetBody(), CreatedAt: m.GetCreatedAtUnixMs(),
		},
	}), nil
}
