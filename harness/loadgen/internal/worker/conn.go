package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/quickchat-go/quickchat/harness/loadgen/internal/fastwire"
	"github.com/quickchat-go/quickchat/harness/loadgen/internal/stats"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

// pendingSend is a message sent and not acknowledged yet; after a reconnect it is sent
// again with the same client message id, as a reliable client would.
type pendingSend struct {
	clientMsgID string
	body        []byte
	at          time.Time
}

// conn is one connection of the worker, reconnectable. The reader goroutine of the
// current socket handles every frame; mu guards what the pacer, the storm and verify
// read or change alongside it.
type conn struct {
	w    *Worker
	idx  int
	spec ConnSpec

	mu      sync.Mutex
	ws      *websocket.Conn
	ready   bool // joined and replay (if any) received
	seq     stats.Sequence
	maxAck  uint64
	pending map[string]pendingSend // by ref
	// join is the reply channel of the join in flight (nil when none).
	join     chan wire.ServerFrame
	joinRef  string
	replay   int           // replayed message frames still to come
	replayed chan struct{} // closed when the replay is complete
	dropping bool          // the worker is closing this socket on purpose

	nextMsg uint64 // pacer goroutine only
	frame   []byte // pacer goroutine only: reused send frame buffer
}

// dialJoin opens a socket and joins the room; with since, it rejoins from the position
// of the last message received and waits for the replay. It returns whether the server
// recovered everything missed (always true without since).
func (c *conn) dialJoin(ctx context.Context, since bool) (recovered bool, err error) {
	ws, _, err := websocket.Dial(ctx, c.spec.URL, &websocket.DialOptions{
		HTTPClient:      c.w.httpClient(c.spec.LocalIP),
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		return false, fmt.Errorf("dial %s: %w", c.spec.URL, err)
	}
	ws.SetReadLimit(1 << 20)
	c.mu.Lock()
	c.ws, c.dropping, c.ready = ws, false, false
	ref := "j" + strconv.Itoa(c.idx)
	c.join, c.joinRef = make(chan wire.ServerFrame, 1), ref
	c.replayed = make(chan struct{})
	var pos *wire.Position
	if since {
		pos = &wire.Position{Epoch: c.seq.Epoch, Offset: c.seq.Last}
	}
	join, replayed := c.join, c.replayed
	c.mu.Unlock()
	go c.readLoop(ws)

	if err := ws.Write(ctx, websocket.MessageText, fastwire.AppendJoin(nil, ref, c.spec.Room, c.spec.Token, pos)); err != nil {
		_ = ws.CloseNow()
		return false, fmt.Errorf("write join: %w", err)
	}
	var r wire.ServerFrame
	select {
	case r = <-join:
	case <-ctx.Done():
		_ = ws.CloseNow()
		return false, fmt.Errorf("wait for joined: %w", ctx.Err())
	}
	if r.Type != wire.TypeJoined {
		_ = ws.CloseNow()
		return false, fmt.Errorf("join refused: %s %s", r.Type, r.Code)
	}
	recovered = !since || (r.Recovered != nil && *r.Recovered)
	select {
	case <-replayed:
	case <-ctx.Done():
		_ = ws.CloseNow()
		return recovered, fmt.Errorf("wait for replay: %w", ctx.Err())
	}
	if since {
		c.resend(ctx)
	}
	return recovered, nil
}

// resend sends again, with their original client message ids, the messages whose ack
// the dropped connection never got.
func (c *conn) resend(ctx context.Context) {
	c.mu.Lock()
	old := c.pending
	c.pending = make(map[string]pendingSend, len(old))
	ws := c.ws
	c.mu.Unlock()
	var buf []byte
	for _, p := range old {
		buf = c.write(ctx, ws, p, buf)
		c.w.resent.Add(1)
	}
}

// send posts one new message with the send time in its body.
func (c *conn) send(ctx context.Context, bodyBytes int) bool {
	c.mu.Lock()
	ws, ready := c.ws, c.ready
	c.mu.Unlock()
	if !ready {
		return false
	}
	c.nextMsg++
	now := time.Now()
	p := pendingSend{
		clientMsgID: "w" + strconv.Itoa(c.w.id) + "-" + strconv.Itoa(c.idx) + "-" + strconv.FormatUint(c.nextMsg, 10),
		body:        fastwire.AppendBody(nil, now, bodyBytes),
		at:          now,
	}
	c.frame = c.write(ctx, ws, p, c.frame)
	return true
}

// write registers p as pending and sends it, building the frame in buf (returned for
// reuse).
func (c *conn) write(ctx context.Context, ws *websocket.Conn, p pendingSend, buf []byte) []byte {
	ref := "s" + p.clientMsgID
	c.mu.Lock()
	if c.pending == nil {
		c.pending = make(map[string]pendingSend)
	}
	c.pending[ref] = p
	c.mu.Unlock()
	buf = fastwire.AppendSend(buf[:0], ref, c.spec.Room, p.clientMsgID, p.body)
	// A failed write leaves the message pending: the reconnect sends it again.
	_ = ws.Write(ctx, websocket.MessageText, buf)
	c.w.sent.Add(1)
	return buf
}

// readLoop handles every frame of one socket until it ends.
func (c *conn) readLoop(ws *websocket.Conn) {
	buf := make([]byte, 0, 1024)
	for {
		_, r, err := ws.Reader(context.Background())
		if err == nil {
			buf, err = readAll(r, buf[:0])
		}
		if err != nil {
			c.ended(ws, err)
			return
		}
		c.handle(buf)
	}
}

// readAll reads a whole frame into buf, growing it as needed.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// typeClosed is the pseudo frame type a join waiting for its reply gets when the socket
// ended first.
const typeClosed = "closed"

func (c *conn) handle(frame []byte) {
	switch typ := fastwire.Type(frame); string(typ) {
	case wire.TypeMessage:
		c.message(frame)
		return
	case wire.TypePresenceJoin, wire.TypePresenceLeave, wire.TypeTyping:
		return // say nothing the load generator counts
	}
	r, err := fastwire.ParseFrame(frame)
	if err != nil {
		c.w.count(&c.w.errors, "undecodable")
		return
	}
	switch r.Type {
	case wire.TypeJoined:
		c.joined(r)
	case wire.TypeAck:
		c.ack(r)
	case wire.TypeReset:
		c.mu.Lock()
		c.seq.Reset(r.Epoch, r.Offset)
		c.mu.Unlock()
	case wire.TypeError:
		c.refused(r)
	}
}

func (c *conn) message(frame []byte) {
	m, err := fastwire.ParseMessage(frame)
	if err != nil {
		c.w.count(&c.w.errors, "bad_message_frame")
		return
	}
	c.mu.Lock()
	epoch := c.seq.Epoch
	if string(m.Epoch) != epoch {
		epoch = string(m.Epoch)
	}
	fresh := c.seq.Message(epoch, m.Offset)
	if c.replay > 0 {
		c.replay--
		if c.replay == 0 {
			c.ready = true
			close(c.replayed)
		}
	}
	c.mu.Unlock()
	if fresh && !m.SentAt.IsZero() {
		c.w.deliveries.Add(1)
		c.w.latency.Record(c.idx, time.Since(m.SentAt))
	}
}

func (c *conn) joined(r wire.ServerFrame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Ref != c.joinRef || c.join == nil {
		return
	}
	c.seq.Join(r.Epoch, r.Offset)
	if r.Missed != nil && *r.Missed > 0 && r.Recovered != nil && *r.Recovered {
		c.replay = *r.Missed
	} else {
		c.replay = 0
		c.ready = true
		close(c.replayed)
	}
	c.join <- r
	c.join = nil
}

func (c *conn) ack(r wire.ServerFrame) {
	c.mu.Lock()
	p, ok := c.pending[r.Ref]
	delete(c.pending, r.Ref)
	if r.Epoch == c.seq.Epoch && r.Offset > c.maxAck {
		c.maxAck = r.Offset
	}
	c.mu.Unlock()
	if !ok {
		return
	}
	c.w.acked.Add(1)
	if r.Duplicate {
		c.w.ackDuplicates.Add(1)
	}
	c.w.ackLatency.Record(c.idx, time.Since(p.at))
}

func (c *conn) refused(r wire.ServerFrame) {
	c.mu.Lock()
	if c.join != nil && r.Ref == c.joinRef {
		c.join <- r
		c.join = nil
		c.mu.Unlock()
		return
	}
	_, ok := c.pending[r.Ref]
	delete(c.pending, r.Ref)
	c.mu.Unlock()
	if ok {
		c.w.count(&c.w.refused, r.Code)
	} else {
		c.w.count(&c.w.errors, "error:"+r.Code)
	}
}

// ended records why a socket ended, unless the worker closed it on purpose.
func (c *conn) ended(ws *websocket.Conn, err error) {
	c.mu.Lock()
	if c.ws != ws {
		c.mu.Unlock()
		return
	}
	deliberate := c.dropping
	c.ready = false
	if c.join != nil {
		c.join <- wire.ServerFrame{Head: wire.Head{Type: typeClosed}, Code: err.Error()}
		c.join = nil
	}
	c.mu.Unlock()
	if !deliberate {
		c.w.countClose(int(websocket.CloseStatus(err)))
	}
}

// drop closes the socket without a close handshake, as a network failure would.
func (c *conn) drop() {
	c.mu.Lock()
	ws := c.ws
	c.dropping, c.ready = true, false
	c.mu.Unlock()
	if ws != nil {
		_ = ws.CloseNow()
	}
}

// account adds this receiver's view of its room to v.
func (c *conn) account(final uint64, v *VerifyResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v.Receivers++
	if !c.ready {
		v.Down++
	}
	v.Expected += c.seq.Expected(final)
	v.Received += c.seq.Received
	v.Lost += c.seq.Lost(final)
	v.Duplicates += c.seq.Duplicates
	v.OutOfOrder += c.seq.OutOfOrder
	v.Resets += c.seq.Resets
}
