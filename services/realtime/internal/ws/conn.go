package ws

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/wire"
	"github.com/quickchat-go/quickchat/services/realtime/internal/protocol"
)

// conn is one WebSocket connection. Only the frame handlers, which run one at a time on
// behalf of the reader (run), touch the limiters; they, the removal of a revoked member
// (remove) and the final cleanup touch rooms and removed, each holding op. Only the
// writer goroutine writes to the socket.
type conn struct {
	h     *Handler
	ws    *websocket.Conn
	id    string // client id, unique per connection
	ip    string
	q     queue
	op    sync.Mutex
	rooms map[string]*sub
	// removed holds the rooms this connection was removed from (room → reason), so frames
	// for them are refused as revoked rather than as never joined.
	removed map[string]string

	limiter bucket     // client frames
	flood   floodGuard // frames the limiter refused, to spot a flood
	replay  bucket     // bytes of replayed messages

	// writeStart is when the write in progress began (UnixNano), 0 when none is.
	writeStart atomic.Int64

	dead     chan struct{} // closed when the connection is being torn down
	deadOnce sync.Once
	ended    chan struct{} // closed when run has cleaned up

	sendMu   sync.Mutex
	sending  bool
	draining bool
	idle     chan struct{} // closed when the send in flight ends, if drain waits for it
}

func newConn(h *Handler, ws *websocket.Conn, ip string) *conn {
	return &conn{
		h: h, ws: ws, id: uuid.NewString(), ip: ip,
		q: newQueue(h.cfg.SendQueue), rooms: make(map[string]*sub), removed: make(map[string]string),
		dead: make(chan struct{}), ended: make(chan struct{}),
	}
}

var readBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (c *conn) run(ctx context.Context) {
	defer close(c.ended)
	defer c.cleanup()
	done := make(chan struct{})
	for {
		typ, r, err := c.ws.Reader(ctx)
		if err != nil {
			c.readEnded(err)
			return
		}
		buf := readBufs.Get().(*bytes.Buffer)
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			readBufs.Put(buf)
			c.readEnded(err)
			return
		}
		// The frame is handled on a goroutine of its own while this one waits: the reader
		// waits on the socket for the connection's whole life, and keeps only the small
		// stack reading needs if the deep work of handlers (token checks, Redis, Kafka)
		// happens elsewhere. Frames are still handled one at a time, in order.
		go func() {
			c.frame(ctx, typ, buf)
			done <- struct{}{}
		}()
		<-done
	}
}

// frame charges, decodes and handles one frame, then returns its buffer to the pool.
// Every frame is charged to the rate limiter before anything else, valid or not, so a
// flood of garbage is refused like a flood of sends. A refused frame is decoded only to
// echo its ref in the refusal, if it is answered (see floodGuard); frames of a connection
// being closed are dropped unread.
func (c *conn) frame(ctx context.Context, typ websocket.MessageType, buf *bytes.Buffer) {
	if c.closing() {
		readBufs.Put(buf)
		return
	}
	now := time.Now()
	allowed, wait := c.limiter.take(now, c.h.cfg.FrameRate, float64(c.h.cfg.FrameBurst), 1)
	var refused refusal
	if !allowed {
		var answer bool
		if refused, answer = c.refuseFrame(now, wait); !answer {
			readBufs.Put(buf)
			c.h.framesIn["unread"].Inc()
			return
		}
	}
	if typ != websocket.MessageText {
		readBufs.Put(buf)
		c.h.framesIn["invalid"].Inc()
		if !allowed {
			c.answerRefusal("", "", refused)
			return
		}
		c.replyError("", "", &protocol.Error{Code: wire.CodeBadFrame, Detail: "frames must be JSON text frames"})
		return
	}
	// Decode copies what it keeps, so the buffer can go back at once.
	f, perr := protocol.Decode(buf.Bytes(), c.h.cfg.Limits)
	if buf.Cap() <= 64<<10 {
		readBufs.Put(buf)
	}
	if perr != nil {
		c.h.framesIn["invalid"].Inc()
	} else {
		c.h.framesIn[f.Type].Inc()
	}
	switch {
	case !allowed:
		c.answerRefusal(f.Ref, f.GroupID, refused)
	case perr != nil:
		c.replyError(f.Ref, f.GroupID, perr)
	default:
		c.op.Lock()
		defer c.op.Unlock()
		c.handle(ctx, f)
	}
}

func (c *conn) readEnded(err error) {
	if websocket.CloseStatus(err) == -1 && !errors.Is(err, context.Canceled) {
		c.h.log.Debug("connection read ended", zap.String("client", c.id), zap.Error(err))
	}
}

// cleanup leaves every room (with presence leave events) and tears the connection down.
func (c *conn) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), c.h.cfg.OpTimeout)
	defer cancel()
	c.op.Lock()
	defer c.op.Unlock()
	for room, s := range c.rooms {
		delete(c.rooms, room)
		c.h.node.Unsubscribe(room, s)
		if err := c.h.node.Exit(ctx, room, c.id); err != nil {
			c.h.log.Warn("presence removal failed; the entry will expire", zap.String("room", room), zap.Error(err))
		}
	}
	c.abort(websocket.StatusNormalClosure, "")
}

// abort tears the connection down without waiting for queued frames. It never blocks, so
// it may be called from a hub broadcast.
func (c *conn) abort(code websocket.StatusCode, reason string) {
	c.deadOnce.Do(func() {
		close(c.dead)
		if code == wire.CloseSlowConsumer {
			c.h.metrics.SlowClientCloses.Inc()
			c.h.log.Info("closing slow client", zap.String("client", c.id), zap.String("ip", c.ip), zap.String("reason", reason))
		}
		// The close handshake may wait for a stalled writer; do not make the caller wait.
		go func() { _ = c.ws.Close(code, reason) }()
	})
}

// push queues a frame for the client, closing the connection if its queue is full.
func (c *conn) push(frame []byte) {
	ok, start := c.q.push(frame)
	if !ok {
		c.abort(wire.CloseSlowConsumer, "send queue full: client too slow")
		return
	}
	if start {
		c.startWriter()
	}
	c.h.metrics.FramesOut.Inc()
}

// startWriter starts the writer goroutine for a queue that just got work. A connection
// being torn down gets none (its queue stays marked running, so none is asked for again).
func (c *conn) startWriter() {
	select {
	case <-c.dead:
	default:
		go c.writeLoop()
	}
}

// pushWait queues a frame, waiting while the queue is half full so live frames keep room.
// It is for the reader goroutine (replays); it reports false when the connection is going.
func (c *conn) pushWait(frame []byte) bool {
	var timeout <-chan time.Time
	for {
		pushed, closing, start := c.q.tryPushHalf(frame)
		if start {
			c.startWriter()
		}
		if pushed {
			c.h.metrics.FramesOut.Inc()
			return true
		}
		if closing {
			return false
		}
		if timeout == nil {
			t := time.NewTimer(c.h.cfg.WriteTimeout)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-c.q.space:
		case <-c.dead:
			return false
		case <-timeout:
			c.abort(wire.CloseSlowConsumer, "replay not read in time: client too slow")
			return false
		}
	}
}

func (c *conn) replyError(ref, groupID string, e *protocol.Error) {
	c.h.metrics.ErrorsSent.WithLabelValues(e.Code).Inc()
	c.push(protocol.ErrorFrame(ref, groupID, e))
}

func (c *conn) requestPing() {
	if c.q.ping() {
		c.startWriter()
	}
}

// writeLoop is the only writer of the socket while it runs; it returns when the queue is
// empty (the next push starts another) or the connection ends.
func (c *conn) writeLoop() {
	for {
		select {
		case <-c.dead:
			return
		default:
		}
		frames, ping, closing, more := c.q.take()
		if !more {
			return
		}
		if ping && !c.ping() {
			return
		}
		for _, f := range frames {
			if !c.write(f) {
				return
			}
		}
		if len(frames) > 0 && !c.q.taken.IsZero() {
			c.h.writeHop.Observe(time.Since(c.q.taken).Seconds())
		}
		c.q.recycle(frames)
		if closing {
			c.deadOnce.Do(func() { close(c.dead) })
			code, reason := c.q.closeStatus()
			_ = c.ws.Close(code, reason)
			return
		}
	}
}

func (c *conn) write(frame []byte) bool {
	// No per-write context: the sweeper closes connections whose writes stall, which
	// saves a timer per frame.
	c.writeStart.Store(time.Now().UnixNano())
	err := c.ws.Write(context.Background(), websocket.MessageText, frame)
	c.writeStart.Store(0)
	if err != nil {
		c.abort(websocket.StatusGoingAway, "write failed")
		return false
	}
	return true
}

func (c *conn) ping() bool {
	ctx, cancel := context.WithTimeout(context.Background(), c.h.cfg.PongTimeout)
	defer cancel()
	if err := c.ws.Ping(ctx); err != nil {
		c.abort(wire.CloseDeadPeer, "no pong: peer unresponsive")
		return false
	}
	return true
}

// closeAfterFlush has the writer write what is queued, then close the connection with
// code and reason.
func (c *conn) closeAfterFlush(code websocket.StatusCode, reason string) {
	if c.q.closeAfterFlush(code, reason) {
		c.startWriter()
	}
}

func (c *conn) beginSend() bool {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if c.draining {
		return false
	}
	c.sending = true
	return true
}

func (c *conn) endSend() {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.sending = false
	if c.idle != nil {
		close(c.idle)
		c.idle = nil
	}
}

// drain lets the send in flight finish, has the writer flush the queue and close with the
// reconnect code, and waits for the connection to end (or cuts it when ctx is done).
func (c *conn) drain(ctx context.Context) {
	c.sendMu.Lock()
	c.draining = true
	var idle chan struct{}
	if c.sending {
		c.idle = make(chan struct{})
		idle = c.idle
	}
	c.sendMu.Unlock()
	if idle != nil {
		select {
		case <-idle:
		case <-ctx.Done():
		}
	}
	c.closeAfterFlush(wire.CloseReconnect, "server shutting down: reconnect")
	select {
	case <-c.ended:
	case <-ctx.Done():
		c.abort(wire.CloseReconnect, "server shutting down: reconnect")
	}
}
