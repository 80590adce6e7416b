package chatclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/quickchat-go/quickchat/pkg/wire"
)

// DialOptions configure Dial.
type DialOptions struct {
	// Origin is sent as the Origin header (browsers always send one; empty sends none).
	Origin string
	// LocalIP, when set, is the source address (e.g. 127.0.0.5), so many connections can be
	// spread over loopback addresses without running out of ports.
	LocalIP net.IP
	// OnFrame, when set, is called from the reader goroutine for every frame that is not
	// the reply to a request of this Conn (messages, presence, typing, resets, removed).
	// It must not block for long.
	OnFrame func(Frame)
	// OnClose, when set, is called once when the connection ends, with the close status
	// (-1 if the connection ended without a close frame).
	OnClose func(code websocket.StatusCode, err error)
	// ReadLimit bounds an incoming frame (default 1 MiB).
	ReadLimit int64
	// Observe, when set, is called from the reader goroutine for every frame received,
	// replies included, in arrival order and before the frame is dispatched, so a caller
	// can follow a room's sequence exactly (joined, replayed and live messages, resets).
	// It must not block for long.
	Observe func(Frame)
}

// Conn is one WebSocket connection to a realtime instance.
type Conn struct {
	ws      *websocket.Conn
	opts    DialOptions
	nextRef atomic.Uint64

	mu      sync.Mutex
	waiters map[string]chan Frame
	closed  bool
	done    chan struct{}
	status  websocket.StatusCode
	readErr error
	// removed holds the rooms the server removed this connection from, with the reason.
	removed map[string]string
}

// Dial connects to a realtime WebSocket URL (ws://host:port/ws).
func Dial(ctx context.Context, url string, opts DialOptions) (*Conn, error) {
	do := &websocket.DialOptions{HTTPHeader: http.Header{}}
	if opts.Origin != "" {
		do.HTTPHeader.Set("Origin", opts.Origin)
	}
	if opts.LocalIP != nil {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: opts.LocalIP}}
		do.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	}
	ws, _, err := websocket.Dial(ctx, url, do)
	if err != nil {
		return nil, fmt.Errorf("chatclient: dial %s: %w", url, err)
	}
	if opts.ReadLimit <= 0 {
		opts.ReadLimit = 1 << 20
	}
	ws.SetReadLimit(opts.ReadLimit)
	c := &Conn{ws: ws, opts: opts, waiters: map[string]chan Frame{}, done: make(chan struct{}), status: -1, removed: map[string]string{}}
	go c.readLoop()
	return c, nil
}

func (c *Conn) readLoop() {
	defer close(c.done)
	ctx := context.Background()
	for {
		_, data, err := c.ws.Read(ctx)
		if err != nil {
			c.mu.Lock()
			c.closed, c.readErr, c.status = true, err, websocket.CloseStatus(err)
			for ref, w := range c.waiters {
				close(w)
				delete(c.waiters, ref)
			}
			c.mu.Unlock()
			if c.opts.OnClose != nil {
				c.opts.OnClose(websocket.CloseStatus(err), err)
			}
			return
		}
		f, err := decodeFrame(data)
		if err != nil {
			continue // the server only sends JSON; ignore what we cannot read
		}
		if c.opts.Observe != nil {
			c.opts.Observe(f)
		}
		if f.Type == wire.TypeRemoved {
			c.mu.Lock()
			c.removed[f.GroupID] = f.Reason
			c.mu.Unlock()
		}
		if f.Ref != "" {
			c.mu.Lock()
			w, ok := c.waiters[f.Ref]
			delete(c.waiters, f.Ref)
			c.mu.Unlock()
			if ok {
				w <- f
				continue
			}
		}
		if c.opts.OnFrame != nil {
			c.opts.OnFrame(f)
		}
	}
}

// ErrClosed is returned for requests on a connection that has ended.
var ErrClosed = errors.New("chatclient: connection closed")

// FrameError is an error frame received in reply to a request.
type FrameError struct {
	// Code is one of the wire.Code constants.
	Code string
	// Detail is the error frame's text for humans.
	Detail string
	// RetryAfter is how long the server said to wait before resending (rate_limited
	// errors; 0 when it did not say).
	RetryAfter time.Duration
}

func (e *FrameError) Error() string { return "realtime: " + e.Code + ": " + e.Detail }

// request writes a frame with a fresh ref and waits for the reply with that ref.
func (c *Conn) request(ctx context.Context, frame wire.ClientFrame) (Frame, error) {
	ref := strconv.FormatUint(c.nextRef.Add(1), 10)
	frame.Ref = ref
	w := make(chan Frame, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return Frame{}, ErrClosed
	}
	c.waiters[ref] = w
	c.mu.Unlock()
	if err := c.write(ctx, frame); err != nil {
		c.mu.Lock()
		delete(c.waiters, ref)
		c.mu.Unlock()
		return Frame{}, err
	}
	select {
	case f, ok := <-w:
		if !ok {
			return Frame{}, ErrClosed
		}
		if f.Type == wire.TypeError {
			return f, &FrameError{Code: f.Code, Detail: f.Detail, RetryAfter: time.Duration(f.RetryAfterMs) * time.Millisecond}
		}
		return f, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.waiters, ref)
		c.mu.Unlock()
		return Frame{}, fmt.Errorf("chatclient: waiting for reply %s: %w", ref, ctx.Err())
	}
}

func (c *Conn) write(ctx context.Context, frame wire.ClientFrame) error {
	b, err := json.Marshal(frame)
	if err != nil {
		return fmt.Errorf("chatclient: encode frame: %w", err)
	}
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("chatclient: write: %w", err)
	}
	return nil
}

// WriteRaw sends data as one text frame without waiting for a reply (for tests of bad
// input).
func (c *Conn) WriteRaw(ctx context.Context, data []byte) error {
	if err := c.ws.Write(ctx, websocket.MessageText, data); err != nil {
		return fmt.Errorf("chatclient: write: %w", err)
	}
	return nil
}

// Join joins a room with a member token. With since set, the server replays what was
// missed after that position before the joined reply's Recovered says whether it was all.
func (c *Conn) Join(ctx context.Context, groupID, token string, since *wire.Position) (Frame, error) {
	return c.request(ctx, wire.ClientFrame{Head: wire.Head{Type: wire.TypeJoin, GroupID: groupID}, Token: token, Since: since})
}

// Leave leaves a room.
func (c *Conn) Leave(ctx context.Context, groupID string) (Frame, error) {
	return c.request(ctx, wire.ClientFrame{Head: wire.Head{Type: wire.TypeLeave, GroupID: groupID}})
}

// Send posts a message and waits for its ack.
// A send the server drops as rate_limited is resent after the wait the server names (or a
// growing pause when it names none), which is safe because the client_msg_id makes a resend
// of an accepted message a no-op.
func (c *Conn) Send(ctx context.Context, groupID, clientMsgID, body string) (Frame, error) {
	return c.requestRetrying(ctx, wire.ClientFrame{Head: wire.Head{Type: wire.TypeSend, GroupID: groupID}, ClientMsgID: clientMsgID, Body: body})
}

// Delete deletes a message of the room (only the room's owner may; others get a
// *FrameError with code forbidden) and waits for the ack of the deletion event; every
// member then gets a message_deleted frame. It is resent on rate_limited like Send: the
// client_msg_id makes a resend one deletion.
func (c *Conn) Delete(ctx context.Context, groupID, clientMsgID, messageID string) (Frame, error) {
	return c.requestRetrying(ctx, wire.ClientFrame{Head: wire.Head{Type: wire.TypeDelete, GroupID: groupID}, ClientMsgID: clientMsgID, MessageID: messageID})
}

// requestRetrying sends an idempotent frame and waits for its reply, resending it while
// the server drops it as rate_limited.
func (c *Conn) requestRetrying(ctx context.Context, frame wire.ClientFrame) (Frame, error) {
	pause := 50 * time.Millisecond
	for {
		f, err := c.request(ctx, frame)
		var fe *FrameError
		if !errors.As(err, &fe) || fe.Code != wire.CodeRateLimited {
			return f, err
		}
		wait := pause
		if fe.RetryAfter > 0 {
			wait = fe.RetryAfter
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return f, err
		}
		pause = min(2*pause, time.Second)
	}
}

// SendAsync posts a message without waiting; its ack arrives through OnFrame (as a frame
// of type wire.TypeAck whose Ref is the returned ref).
func (c *Conn) SendAsync(ctx context.Context, groupID, clientMsgID, body string) (string, error) {
	ref := "a" + strconv.FormatUint(c.nextRef.Add(1), 10)
	return ref, c.write(ctx, wire.ClientFrame{Head: wire.Head{Type: wire.TypeSend, Ref: ref, GroupID: groupID}, ClientMsgID: clientMsgID, Body: body})
}

// Typing tells the room this member is typing.
func (c *Conn) Typing(ctx context.Context, groupID string) error {
	return c.write(ctx, wire.ClientFrame{Head: wire.Head{Type: wire.TypeTyping, GroupID: groupID}})
}

// Presence asks who is online in a room.
func (c *Conn) Presence(ctx context.Context, groupID string) (Frame, error) {
	return c.request(ctx, wire.ClientFrame{Head: wire.Head{Type: wire.TypePresence, GroupID: groupID}})
}

// Ping checks the connection at the protocol level.
func (c *Conn) Ping(ctx context.Context) error {
	_, err := c.request(ctx, wire.ClientFrame{Head: wire.Head{Type: wire.TypePing}})
	return err
}

// Removed reports whether the server removed this connection from the room because the
// member's membership ended (a removed frame), and why (a wire.Reason value). The frame
// also reaches OnFrame; a connection removed from its last room is then closed with
// wire.CloseRemoved.
func (c *Conn) Removed(groupID string) (reason string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	reason, ok = c.removed[groupID]
	return reason, ok
}

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// CloseStatus is the close code the server sent (-1 if none or still open).
func (c *Conn) CloseStatus() websocket.StatusCode {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Close closes the connection normally.
func (c *Conn) Close() error {
	err := c.ws.Close(websocket.StatusNormalClosure, "")
	<-c.done
	return err
}

// CloseNow drops the connection without a close handshake.
func (c *Conn) CloseNow() error {
	err := c.ws.CloseNow()
	<-c.done
	return err
}
