package node

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/event"
	"github.com/quickchat-go/quickchat/pkg/wire"
	"github.com/quickchat-go/quickchat/services/realtime/internal/hub"
	"github.com/quickchat-go/quickchat/services/realtime/internal/metrics"
	"github.com/quickchat-go/quickchat/services/realtime/internal/protocol"
)

// gapFillTimeout bounds reading a room's history to fill a gap; the shard's reader waits
// for it.
const gapFillTimeout = 2 * time.Second

// Dispatch implements Dispatcher: it encodes each entry once and hands the same
// bytes to every local subscriber of the room. Entries of one room arrive from one
// goroutine, in order.
func (n *Node) Dispatch(e Entry) {
	switch e.Kind {
	case KindMessage:
		start := time.Now()
		if !e.Added.IsZero() {
			n.hops.stream.Observe(start.Sub(e.Added).Seconds())
		}
		n.dispatchMessage(e)
		n.hops.dispatch.Observe(time.Since(start).Seconds())
	case KindPresenceJoin, KindPresenceLeave:
		subs := n.hub.Subscribers(e.Room)
		if subs == 0 || (n.cfg.PresenceEventsMaxRoom > 0 && subs > n.cfg.PresenceEventsMaxRoom) {
			return
		}
		typ := wire.TypePresenceJoin
		if e.Kind == KindPresenceLeave {
			typ = wire.TypePresenceLeave
		}
		n.hub.Broadcast(e.Room, &hub.Frame{Data: protocol.PresenceEvent(typ, e.Room, e.Data)})
	case KindRevoke:
		n.dispatchRevoke(e)
	case KindTyping:
		if !n.hub.HasSubscribers(e.Room) {
			return
		}
		from, client := splitTyping(e.Data)
		n.hub.Broadcast(e.Room, &hub.Frame{Data: protocol.Typing(e.Room, client, n.cfg.TypingTTL.Milliseconds()), From: from})
	}
}

// dispatchRevoke hands a removed frame to the local subscribers of the revoked members,
// which leave the room on it (the transport does the rest: presence leave, and closing a
// socket left in no room).
func (n *Node) dispatchRevoke(e Entry) {
	if len(e.Members) == 0 || !n.hub.HasSubscribers(e.Room) {
		return
	}
	members := make(map[string]bool, len(e.Members))
	for _, m := range e.Members {
		members[m] = true
	}
	reason := e.Reason
	if !wire.KnownReason(reason) {
		reason = wire.ReasonRemoved // whoever wrote it, clients only get documented reasons
	}
	n.hub.Broadcast(e.Room, &hub.Frame{Data: protocol.Removed(e.Room, reason), Revoked: members, Reason: reason})
}

func (n *Node) dispatchMessage(e Entry) {
	verdict, last := n.hub.Check(e.Room, e.Pos.Epoch, e.Pos.Offset)
	switch verdict {
	case hub.NoSubscribers, hub.Duplicate:
		return
	case hub.Gap:
		// Entries of this room went missing from the shard stream (trimmed while we
		// lagged, or lost in a failover). Fill from the room's history; what cannot be
		// filled the subscribers see as a gap and are told to reload.
		n.fillGap(e.Room, wire.Position{Epoch: e.Pos.Epoch, Offset: last}, e.Pos.Offset)
	}
	n.deliver(e, true)
}

func (n *Node) fillGap(room string, after wire.Position, before uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), gapFillTimeout)
	defer cancel()
	// A gap fill serves every local subscriber of the room at once and is nobody's
	// request, so only the message bound applies.
	rec, err := n.broker.Recover(ctx, room, &after, RecoverLimits{Messages: n.cfg.RecoverLimit, Bytes: math.MaxInt64})
	if err != nil {
		n.log.Warn("gap fill failed", zap.String("room", room), zap.Error(err))
		return
	}
	filled := false
	for _, h := range rec.Entries {
		if h.Pos.Offset >= before {
			break
		}
		n.deliver(h, false)
		filled = true
	}
	if filled {
		n.metrics.GapFills.Inc()
	}
}

// deliver encodes a message entry and broadcasts it to the room.
func (n *Node) deliver(e Entry, live bool) {
	frame, m, err := messageFrame(e)
	if err != nil {
		n.log.Error("undecodable message skipped", zap.String("room", e.Room), zap.Uint64("offset", e.Pos.Offset), zap.Error(err))
		return
	}
	n.hub.Broadcast(e.Room, &hub.Frame{Data: frame, Epoch: e.Pos.Epoch, Offset: e.Pos.Offset})
	if live {
		n.metrics.DeliverSeconds.Observe(time.Since(time.UnixMilli(m.GetCreatedAtUnixMs())).Seconds())
	}
}

// messageFrame encodes a message entry as the frame clients get: a message, or
// message_deleted for a deletion.
func messageFrame(e Entry) ([]byte, *event.Message, error) {
	// Stream entries were validated by Send before they were published; skipping
	// event.Validate here saves its work once per message per instance.
	m := &event.Message{}
	if err := proto.Unmarshal(e.Data, m); err != nil {
		return nil, nil, fmt.Errorf("node: decode stream entry: %w", err)
	}
	return encodeFrame(e.Pos, m), m, nil
}

func encodeFrame(pos wire.Position, m *event.Message) []byte {
	if event.IsDeletion(m) {
		return protocol.Deleted(pos, m.GetGroupId(), m.GetId(), m.GetDeletion().GetMessageId(), m.GetSenderId(), event.CreatedAt(m))
	}
	return protocol.MessageFrame(pos, wireMessage(m))
}

func wireMessage(m *event.Message) *wire.Message {
	return &wire.Message{
		ID: m.GetId(), GroupID: m.GetGroupId(), SenderID: m.GetSenderId(), SenderName: m.GetSenderName(),
		ClientMsgID: m.GetClientMsgId(), Body: m.GetBody(), CreatedAt: wire.Time{Time: time.UnixMilli(m.GetCreatedAtUnixMs())},
		SenderGuest: m.GetSenderGuest(), Attachments: wireAttachments(m.GetAttachments()),
	}
}

// wireAttachments is the attachments' metadata as clients read it (nil for none, so the
// field is left out).
func wireAttachments(as []*event.Attachment) []wire.Attachment {
	if len(as) == 0 {
		return nil
	}
	out := make([]wire.Attachment, len(as))
	for i, a := range as {
		out[i] = wire.Attachment{
			ID: a.GetId(), Name: a.GetName(), ContentType: a.GetContentType(), Size: a.GetSizeBytes(),
			Width: int(a.GetWidth()), Height: int(a.GetHeight()),
		}
		if a.GetThumbWidth() > 0 && a.GetThumbHeight() > 0 {
			out[i].Thumbnail = &wire.Thumbnail{Width: int(a.GetThumbWidth()), Height: int(a.GetThumbHeight())}
		}
	}
	return out
}

// sizingPosition is at least as long as any position a message frame carries.
var sizingPosition = wire.Position{Epoch: strings.Repeat("z", protocol.MaxEpochBytes), Offset: math.MaxUint64}

// frameSize is the most bytes m's frame (message or message_deleted) can take: what
// replaying it costs. It is measured on the frame itself because JSON escaping can make
// a frame several times larger than the body it carries.
func frameSize(m *event.Message) int {
	return len(encodeFrame(sizingPosition, m))
}

// Budgets that can refuse a replay, the values of Recovered.Spent.
const (
	// BudgetMember is the member's replay quota, shared by all instances.
	BudgetMember = "member"
	// BudgetConnection is the joining connection's replay allowance.
	BudgetConnection = "connection"
)

// Recovered is the outcome of a join's recovery.
type Recovered struct {
	// Top is the room's position at the join: the client continues from it.
	Top wire.Position
	// Frames are the encoded messages the client missed, in order, when Complete.
	Frames [][]byte
	// Complete is true when Frames are exactly what the client missed.
	Complete bool
	// Bytes is what the replay costs: the size the missed messages were published with.
	// Set when Complete, and when a budget refused it.
	Bytes int64
	// Spent names the budget that refused a replay that was otherwise possible
	// (BudgetMember or BudgetConnection); empty when none did.
	Spent string
	// Revoked is true when the member's membership of the room was revoked: the join
	// must be refused. Nothing else is set then.
	Revoked bool
}

// Recover reads the room's position and, when since is not nil, encodes the messages
// member missed after it, unless member's membership was revoked (Revoked). A replay is bounded by RecoverLimit messages and
// RecoverMaxBytes bytes, and must be paid from the member's replay quota and from
// allowance, the bytes the joining connection may still replay; one that is refused
// replays nothing, so the client reloads history instead. It counts the outcome of
// asked-for recoveries.
func (n *Node) Recover(ctx context.Context, room, member string, since *wire.Position, allowance int64) (Recovered, error) {
	lim := RecoverLimits{Messages: n.cfg.RecoverLimit, Bytes: min(n.cfg.RecoverMaxBytes, max(allowance, 0)), Quota: n.quota(QuotaReplay, member), Member: member}
	rec, err := n.broker.Recover(ctx, room, since, lim)
	if err != nil {
		if since != nil {
			n.metrics.Recoveries.WithLabelValues(metrics.RecoveryFailed).Inc()
		}
		return Recovered{}, err
	}
	if rec.Revoked {
		return Recovered{Revoked: true}, nil
	}
	out := Recovered{Top: rec.Top, Complete: rec.Complete, Bytes: rec.Bytes}
	switch {
	case rec.Refused == RefusedQuota:
		out.Spent = BudgetMember
	case rec.Refused == RefusedTooLarge && rec.Bytes <= n.cfg.RecoverMaxBytes:
		// Within the bound for every join, so it was the connection's allowance.
		out.Spent = BudgetConnection
	}
	out.Frames = make([][]byte, 0, len(rec.Entries))
	for _, e := range rec.Entries {
		f, _, err := messageFrame(e)
		if err != nil {
			n.log.Error("undecodable message in history", zap.String("room", room), zap.Uint64("offset", e.Pos.Offset), zap.Error(err))
			out.Frames, out.Complete = nil, false
			break
		}
		out.Frames = append(out.Frames, f)
	}
	if since != nil {
		outcome := metrics.RecoveryComplete
		switch {
		case out.Spent != "":
			outcome = metrics.RecoveryLimited
		case !out.Complete:
			outcome = metrics.RecoveryIncomplete
		}
		n.metrics.Recoveries.WithLabelValues(outcome).Inc()
	}
	return out, nil
}
