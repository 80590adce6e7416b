package ws

import (
	"context"
	"errors"
	"sync"

	"github.com/coder/websocket"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
	"github.com/quickchat-go/quickchat/services/realtime/internal/protocol"
)

// conn is one WebSocket connection. Only the reader goroutine touches rooms; only the
// writer goroutine writes to the socket.
type conn struct {
	h     *Handler
	ws    *websocket.Conn
	out   chan []byte
	rooms map[string]node.Sender

	closeOnce sync.Once
	closed    chan struct{}
	inflight  sync.WaitGroup
}

func newConn(h *Handler, ws *websocket.Conn) *conn {
	return &conn{h: h, ws: ws, out: make(chan []byte, h.cfg.SendQueue), rooms: map[string]node.Sender{}, closed: make(chan struct{})}
}

// Send implements hub.Subscriber. It never blocks: a full queue means the client is not
// reading, and it is disconnected rather than allowed to hold anyone up.
func (c *conn) Send(frame []byte) {
	select {
	case c.out <- frame:
	case <-c.closed:
	default:
		c.close(protocol.CloseSlowConsumer, "send queue full: client too slow")
	}
}

func (c *conn) close(code websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		close(c.closed)
		go func() { _ = c.ws.Close(code, reason) }()
	})
}

func (c *conn) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go c.writeLoop(ctx)
	defer func() {
		for room := range c.rooms {
			c.h.node.Hub().Unsubscribe(room, c)
		}
		c.close(websocket.StatusNormalClosure, "")
	}()
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			if st := websocket.CloseStatus(err); st == -1 && !errors.Is(err, context.Canceled) {
				c.h.log.Debug("read ended", zap.Error(err))
			}
			return
		}
		if typ != websocket.MessageText {
			c.reply(protocol.ErrorFrame("", &protocol.Error{Code: protocol.ErrBadFrame, Message: "frames must be JSON text"}))
			continue
		}
		f, perr := protocol.Decode(data, c.h.cfg.Limits)
		if perr != nil {
			c.reply(protocol.ErrorFrame(f.Ref, perr))
			continue
		}
		c.handle(ctx, f)
	}
}

func (c *conn) writeLoop(ctx context.Context) {
	for {
		select {
		case <-c.closed:
			return
		case frame := <-c.out:
			wctx, cancel := context.WithTimeout(ctx, c.h.cfg.WriteTimeout)
			err := c.ws.Write(wctx, websocket.MessageText, frame)
			cancel()
			if err != nil {
				c.close(protocol.CloseSlowConsumer, "write timed out")
				return
			}
		}
	}
}

// reply queues a direct answer to this client.
func (c *conn) reply(frame []byte) { c.Send(frame) }

func (c *conn) handle(ctx context.Context, f protocol.ClientFrame) {
	switch f.Type {
	case protocol.TypePing:
		c.reply(protocol.Encode(protocol.ServerFrame{Type: protocol.TypePong, Ref: f.Ref}))
	case protocol.TypeJoin:
		c.join(ctx, f)
	case protocol.TypeLeave:
		if _, ok := c.rooms[f.GroupID]; !ok {
			c.reply(protocol.ErrorFrame(f.Ref, &protocol.Error{Code: protocol.ErrNotJoined, Message: "not joined to this room"}))
			return
		}
		delete(c.rooms, f.GroupID)
		c.h.node.Hub().Unsubscribe(f.GroupID, c)
		c.reply(protocol.Encode(protocol.ServerFrame{Type: protocol.TypeLeft, Ref: f.Ref, GroupID: f.GroupID}))
	case protocol.TypeSend:
		c.send(ctx, f)
	}
}

func (c *conn) join(ctx context.Context, f protocol.ClientFrame) {
	claims, err := c.h.verifier.Verify(ctx, f.Token)
	if err != nil {
		code := protocol.ErrUnauthorized
		if apperr.Is(err, apperr.Unavailable) {
			code = protocol.ErrUnavailable
		}
		c.reply(protocol.ErrorFrame(f.Ref, &protocol.Error{Code: code, Message: apperr.MessageOf(err)}))
		return
	}
	if claims.Kind != token.KindMember || claims.GroupID != f.GroupID {
		c.reply(protocol.ErrorFrame(f.Ref, &protocol.Error{Code: protocol.ErrForbidden, Message: "token does not cover this room"}))
		return
	}
	c.rooms[f.GroupID] = node.Sender{MemberID: claims.Subject, Name: claims.Name, GroupID: f.GroupID}
	c.h.node.Hub().Subscribe(f.GroupID, c)
	c.reply(protocol.Encode(protocol.ServerFrame{Type: protocol.TypeJoined, Ref: f.Ref, GroupID: f.GroupID}))
}

func (c *conn) send(ctx context.Context, f protocol.ClientFrame) {
	sender, ok := c.rooms[f.GroupID]
	if !ok {
		c.reply(protocol.ErrorFrame(f.Ref, &protocol.Error{Code: protocol.ErrNotJoined, Message: "join the room before sending"}))
		return
	}
	c.inflight.Add(1)
	defer c.inflight.Done()
	// The send outlives a client that disconnects mid-way: once started it completes, so
	// what Kafka acknowledged is also published.
	id, pos, err := c.h.node.Send(context.WithoutCancel(ctx), sender, f.ClientMsgID, f.Body)
	if err != nil {
		c.h.log.Warn("send failed", zap.String("room", f.GroupID), zap.Error(err))
		c.reply(protocol.ErrorFrame(f.Ref, &protocol.Error{Code: protocol.ErrUnavailable, Message: "message not accepted; retry with the same client_msg_id"}))
		return
	}
	c.reply(protocol.Encode(protocol.ServerFrame{Type: protocol.TypeAck, Ref: f.Ref, GroupID: f.GroupID, ID: id, Pos: pos}))
}

// drain waits for the send in flight, lets queued frames go out, and closes with the
// reconnect code.
func (c *conn) drain(ctx context.Context) {
	done := make(chan struct{})
	go func() { c.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	for len(c.out) > 0 && ctx.Err() == nil {
		select {
		case <-c.closed:
			return
		case <-ctx.Done():
		default:
			sleepBriefly()
		}
	}
	c.close(protocol.CloseReconnect, "server restarting: reconnect")
}
