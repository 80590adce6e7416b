package ws

import (
	"context"
	"errors"
	"math"
	"time"

	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/event"
	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/pkg/wire"
	"github.com/quickchat-go/quickchat/services/realtime/internal/metrics"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
	"github.com/quickchat-go/quickchat/services/realtime/internal/protocol"
)

func (c *conn) handle(ctx context.Context, f wire.ClientFrame) {
	switch f.Type {
	case wire.TypePing:
		c.push(protocol.Pong(f.Ref))
	case wire.TypeJoin:
		c.join(ctx, f)
	case wire.TypeLeave:
		c.leave(ctx, f)
	case wire.TypeSend:
		c.send(ctx, f)
	case wire.TypeDelete:
		c.deleteMessage(ctx, f)
	case wire.TypeTyping:
		c.typing(ctx, f)
	case wire.TypePresence:
		c.presence(ctx, f)
	}
}

// joined returns the room's subscription, or replies not_joined (revoked, if the
// connection was removed from the room).
func (c *conn) joined(f wire.ClientFrame) (*sub, bool) {
	s, ok := c.rooms[f.GroupID]
	switch {
	case ok && s.isRemoved():
		// Removed, and leaving on another goroutine right now.
		c.replyError(f.Ref, f.GroupID, revokedError)
		return nil, false
	case ok:
		return s, true
	}
	if _, removed := c.removed[f.GroupID]; removed {
		c.replyError(f.Ref, f.GroupID, revokedError)
	} else {
		c.replyError(f.Ref, f.GroupID, &protocol.Error{Code: wire.CodeNotJoined, Detail: "join the room first"})
	}
	return nil, false
}

// revokedError refuses a frame of a member whose membership of the room was revoked.
var revokedError = &protocol.Error{Code: wire.CodeRevoked, Detail: "your membership of this room has ended; join again through the gateway"}

// remove takes s out of its room after its member's membership was revoked (s queued the
// removed frame): the room's other members get presence_leave, and a connection left in
// no room is closed with CloseRemoved once the removed frame is written. It runs on a
// goroutine of its own, between frame handlers.
func (c *conn) remove(s *sub, reason string) {
	c.op.Lock()
	defer c.op.Unlock()
	if c.rooms[s.room] != s {
		return // it left, its join was refused, or the connection ended meanwhile
	}
	delete(c.rooms, s.room)
	c.removed[s.room] = reason
	c.h.node.Unsubscribe(s.room, s)
	c.h.metrics.Removals.WithLabelValues(reason).Inc()
	c.h.log.Info("member removed from room", zap.String("room", s.room), zap.String("member", s.sender.MemberID),
		zap.String("client", c.id), zap.String("reason", reason))
	if len(c.rooms) == 0 {
		c.closeAfterFlush(wire.CloseRemoved, "removed from the room")
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.h.cfg.OpTimeout)
	defer cancel()
	if err := c.h.node.Exit(ctx, s.room, c.id); err != nil {
		c.h.log.Warn("presence removal failed; the entry will expire", zap.String("room", s.room), zap.Error(err))
	}
}

// join checks the member token, subscribes, and replies with the room's position and, if
// asked, the messages missed since the given one. The socket is subscribed before the
// position is read, and live frames are held back until the replay is out, so nothing
// published around the join is lost, duplicated or reordered.
func (c *conn) join(ctx context.Context, f wire.ClientFrame) {
	claims, err := c.h.verifier.Verify(ctx, f.Token)
	if err != nil {
		code := wire.CodeUnauthorized
		if apperr.Is(err, apperr.Unavailable) {
			code = wire.CodeUnavailable
		} else {
			if apperr.Is(err, apperr.Forbidden) {
				code = wire.CodeForbidden // a valid token of another kind: an access token
			}
			c.tokenRefused(f.GroupID, code, apperr.MessageOf(err), "")
		}
		c.replyError(f.Ref, f.GroupID, &protocol.Error{Code: code, Detail: apperr.MessageOf(err)})
		return
	}
	if claims.Kind != token.KindMember || claims.GroupID != f.GroupID {
		c.tokenRefused(f.GroupID, wire.CodeForbidden, "not a member token for this room", claims.Subject)
		c.replyError(f.Ref, f.GroupID, &protocol.Error{Code: wire.CodeForbidden, Detail: "the token is not a member token for this room"})
		return
	}
	if old, ok := c.rooms[f.GroupID]; ok {
		if old.isRemoved() {
			c.replyError(f.Ref, f.GroupID, revokedError) // leaving right now; try again
			return
		}
		c.replyError(f.Ref, f.GroupID, &protocol.Error{Code: wire.CodeAlreadyJoined, Detail: "already joined; leave first to rejoin"})
		return
	}
	if len(c.rooms) >= c.h.cfg.MaxRoomsPerConn {
		c.replyError(f.Ref, f.GroupID, &protocol.Error{Code: wire.CodeTooManyRooms, Detail: "this connection is in as many rooms as it may be"})
		return
	}
	room := f.GroupID
	s := &sub{
		c: c, room: room, recovering: true,
		sender: node.Sender{MemberID: claims.Subject, Name: claims.Name, GroupID: room, Guest: claims.Guest, Owner: claims.Owner},
		client: protocol.EncodeClient(wire.Client{ClientID: c.id, MemberID: claims.Subject, Name: claims.Name, Guest: claims.Guest}),
	}
	c.rooms[room] = s
	c.h.node.Subscribe(room, s)

	// The replay is paid from this connection's budget and, in Redis, from the member's;
	// one that either cannot pay is not replayed and the client reloads history.
	replayRate, replayBurst := c.h.cfg.ReplayRate, c.h.cfg.ReplayBurst
	allowance := int64(math.MaxInt64) // no connection budget
	if replayRate > 0 {
		allowance = int64(c.replay.level(time.Now(), replayRate, replayBurst))
	}
	opCtx, cancel := context.WithTimeout(ctx, c.h.cfg.OpTimeout)
	rec, err := c.h.node.Recover(opCtx, room, claims.Subject, f.Since, allowance)
	cancel()
	if err != nil {
		c.h.node.Unsubscribe(room, s)
		delete(c.rooms, room)
		c.h.log.Warn("join failed", zap.String("room", room), zap.Error(err))
		c.replyError(f.Ref, room, &protocol.Error{Code: wire.CodeUnavailable, Detail: "could not join the room; retry"})
		return
	}
	if rec.Revoked {
		// Checked after subscribing, in the same script as the position: a revocation
		// after the check reaches this subscription.
		c.h.node.Unsubscribe(room, s)
		delete(c.rooms, room)
		c.tokenRefused(room, wire.CodeRevoked, "membership revoked", claims.Subject)
		c.replyError(f.Ref, room, revokedError)
		return
	}
	delete(c.removed, room) // a new membership
	switch rec.Spent {
	case node.BudgetMember:
		c.limited(metrics.LimitMemberReplay, room, claims.Subject)
	case node.BudgetConnection:
		c.limited(metrics.LimitConnectionReplay, room, claims.Subject)
	}
	if rec.Complete && rec.Bytes > 0 && replayRate > 0 {
		c.replay.take(time.Now(), replayRate, replayBurst, float64(rec.Bytes))
	}
	var recovered *bool
	if f.Since != nil {
		recovered = &rec.Complete
	}
	c.push(protocol.Joined(f.Ref, room, c.id, rec.Top, recovered, len(rec.Frames)))
	for _, frame := range rec.Frames {
		if !c.pushWait(frame) {
			return // the connection is going; cleanup unsubscribes
		}
	}
	s.finishRecovery(rec.Top)
	if s.isRemoved() {
		return // revoked during the join: remove leaves the room once this handler ends
	}

	// The replay may have taken a while: presence gets its own deadline.
	opCtx, cancel = context.WithTimeout(ctx, c.h.cfg.OpTimeout)
	defer cancel()
	if err := c.h.node.Enter(opCtx, room, c.id, s.client); err != nil {
		c.h.log.Warn("presence add failed; the next refresh retries", zap.String("room", room), zap.Error(err))
	}
}

func (c *conn) leave(ctx context.Context, f wire.ClientFrame) {
	s, ok := c.joined(f)
	if !ok {
		return
	}
	delete(c.rooms, f.GroupID)
	c.h.node.Unsubscribe(f.GroupID, s)
	opCtx, cancel := context.WithTimeout(ctx, c.h.cfg.OpTimeout)
	defer cancel()
	if err := c.h.node.Exit(opCtx, f.GroupID, c.id); err != nil {
		c.h.log.Warn("presence removal failed; the entry will expire", zap.String("room", f.GroupID), zap.Error(err))
	}
	c.push(protocol.Left(f.Ref, f.GroupID))
}

func (c *conn) send(ctx context.Context, f wire.ClientFrame) {
	var files []*event.Attachment
	if len(f.Attachments) > 0 {
		s, ok := c.joined(f)
		if !ok {
			return
		}
		var perr *protocol.Error
		if files, perr = c.attachments(ctx, s.sender, f.Attachments); perr != nil {
			c.replyError(f.Ref, f.GroupID, perr)
			return
		}
	}
	c.accept(ctx, f, "send", "message", func(ctx context.Context, s *sub) (node.Accepted, error) {
		return c.h.node.Send(ctx, s.sender, f.ClientMsgID, f.Body, files...)
	})
}

// deleteMessage deletes a message of the room; only the room's owner may.
func (c *conn) deleteMessage(ctx context.Context, f wire.ClientFrame) {
	c.accept(ctx, f, "delete", "deletion", func(ctx context.Context, s *sub) (node.Accepted, error) {
		return c.h.node.Delete(ctx, s.sender, f.ClientMsgID, f.MessageID)
	})
}

// accept runs do, a send or a delete, within the limits sends share (the address's rate
// and the connection's draining), and acknowledges the accepted event or reports why it
// was not accepted. op names the frame in logs, what the event in error details.
func (c *conn) accept(ctx context.Context, f wire.ClientFrame, op, what string, do func(context.Context, *sub) (node.Accepted, error)) {
	s, ok := c.joined(f)
	if !ok {
		return
	}
	if ok, wait := c.h.addrs.takeSend(c.ip, time.Now()); !ok {
		c.refuseLimited(f.Ref, f.GroupID, s.sender.MemberID, metrics.LimitAddressSend,
			"too many messages from this address; resend later with the same client_msg_id", wait)
		return
	}
	if !c.beginSend() {
		c.replyError(f.Ref, f.GroupID, &protocol.Error{Code: wire.CodeUnavailable, Detail: "server is shutting down; reconnect and retry with the same client_msg_id"})
		return
	}
	// Once started a send completes even if the client goes away, so what Kafka
	// acknowledged is also published.
	acc, err := do(context.WithoutCancel(ctx), s)
	c.endSend()
	if errors.Is(err, node.ErrRevoked) {
		c.h.sec.Warn(op+" refused: membership revoked", zap.String("ip", c.ip), zap.String("client", c.id),
			zap.String("room", f.GroupID), zap.String("member", s.sender.MemberID))
		c.replyError(f.Ref, f.GroupID, revokedError)
		return
	}
	if errors.Is(err, node.ErrForbidden) {
		c.h.sec.Warn(op+" refused: not the room's owner", zap.String("ip", c.ip), zap.String("client", c.id),
			zap.String("room", f.GroupID), zap.String("member", s.sender.MemberID))
		c.replyError(f.Ref, f.GroupID, &protocol.Error{Code: wire.CodeForbidden, Detail: "only the room's owner may delete messages"})
		return
	}
	var limited *node.LimitedError
	if errors.As(err, &limited) {
		c.refuseLimited(f.Ref, f.GroupID, s.sender.MemberID, metrics.LimitMemberSend,
			"too many messages from this member; resend later with the same client_msg_id", limited.RetryAfter)
		return
	}
	if err != nil {
		if !errors.Is(err, node.ErrUnavailable) {
			c.h.log.Error(op+" rejected", zap.String("room", f.GroupID), zap.Error(err))
			c.replyError(f.Ref, f.GroupID, &protocol.Error{Code: wire.CodeInternal, Detail: what + " not accepted"})
			return
		}
		c.h.log.Warn(op+" failed", zap.String("room", f.GroupID), zap.Error(err))
		c.replyError(f.Ref, f.GroupID, &protocol.Error{Code: wire.CodeUnavailable, Detail: what + " not accepted; retry with the same client_msg_id"})
		return
	}
	c.push(protocol.Ack(f.Ref, f.GroupID, acc.ID, f.ClientMsgID, acc.Pos, acc.Duplicate))
}

func (c *conn) typing(ctx context.Context, f wire.ClientFrame) {
	s, ok := c.joined(f)
	if !ok {
		return
	}
	// Extra typing events are dropped silently, first by this connection's own interval
	// (no Redis call), then by the address's rate and the member's interval across its
	// connections: receivers still show the last one.
	now := time.Now()
	if now.Sub(s.lastTyping) < c.h.cfg.TypingInterval {
		return
	}
	s.lastTyping = now
	if ok, _ := c.h.addrs.takeTyping(c.ip, now); !ok {
		c.limited(metrics.LimitAddressTyping, f.GroupID, s.sender.MemberID)
		return
	}
	opCtx, cancel := context.WithTimeout(ctx, c.h.cfg.OpTimeout)
	defer cancel()
	sent, err := c.h.node.Typing(opCtx, f.GroupID, s.sender.MemberID, c.id, s.client)
	if err != nil {
		c.h.log.Warn("typing event failed", zap.String("room", f.GroupID), zap.Error(err))
		c.replyError(f.Ref, f.GroupID, &protocol.Error{Code: wire.CodeUnavailable, Detail: "typing event not sent"})
		return
	}
	if !sent {
		// Not logged: a member typing in two tabs does this all the time.
		c.h.metrics.RateLimited.WithLabelValues(metrics.LimitMemberTyping).Inc()
	}
}

func (c *conn) presence(ctx context.Context, f wire.ClientFrame) {
	if _, ok := c.joined(f); !ok {
		return
	}
	opCtx, cancel := context.WithTimeout(ctx, c.h.cfg.OpTimeout)
	defer cancel()
	clients, err := c.h.node.Presence(opCtx, f.GroupID)
	if err != nil {
		c.h.log.Warn("presence read failed", zap.String("room", f.GroupID), zap.Error(err))
		c.replyError(f.Ref, f.GroupID, &protocol.Error{Code: wire.CodeUnavailable, Detail: "presence unavailable; retry"})
		return
	}
	c.push(protocol.Presence(f.Ref, f.GroupID, clients))
}
