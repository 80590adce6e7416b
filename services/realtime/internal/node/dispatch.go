package node

import (
	"context"
	"fmt"
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
		n.dispatchMessage(e)
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
	case KindTyping:
		if !n.hub.HasSubscribers(e.Room) {
			return
		}
		from, client := splitTyping(e.Data)
		n.hub.Broadcast(e.Room, &hub.Frame{Data: protocol.Typing(e.Room, client, n.cfg.TypingTTL.Milliseconds()), From: from})
	}
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
	rec, err := n.broker.Recover(ctx, room, &after, n.cfg.RecoverLimit)
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

func messageFrame(e Entry) ([]byte, *event.Message, error) {
	// Stream entries were validated by Send before they were published; skipping
	// event.Validate here saves its work once per message per instance.
	m := &event.Message{}
	if err := proto.Unmarshal(e.Data, m); err != nil {
		return nil, nil, fmt.Errorf("node: decode stream entry: %w", err)
	}
	return protocol.MessageFrame(e.Pos, &wire.Message{
		ID: m.GetId(), GroupID: m.GetGroupId(), SenderID: m.GetSenderId(), SenderName: m.GetSenderName(),
		ClientMsgID: m.GetClientMsgId(), Body: m.GetBody(), CreatedAt: wire.Time{Time: time.UnixMilli(m.GetCreatedAtUnixMs())},
	}), m, nil
}

// Recovered is the outcome of a join's recovery.
type Recovered struct {
	// Top is the room's position at the join: the client continues from it.
	Top wire.Position
	// Frames are the encoded messages the client missed, in order, when Complete.
	Frames [][]byte
	// Complete is true when Frames are exactly what the client missed.
	Complete bool
}

// Recover reads the room's position and, when since is not nil, encodes the messages
// after it. It counts the outcome of asked-for recoveries.
func (n *Node) Recover(ctx context.Context, room string, since *wire.Position) (Recovered, error) {
	rec, err := n.broker.Recover(ctx, room, since, n.cfg.RecoverLimit)
	if err != nil {
		if since != nil {
			n.metrics.Recoveries.WithLabelValues(metrics.RecoveryFailed).Inc()
		}
		return Recovered{}, err
	}
	out := Recovered{Top: rec.Top, Complete: rec.Complete}
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
		if !out.Complete {
			outcome = metrics.RecoveryIncomplete
		}
		n.metrics.Recoveries.WithLabelValues(outcome).Inc()
	}
	return out, nil
}
