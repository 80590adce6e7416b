package faults

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/quickchat-go/quickchat/harness/chatclient"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

// member is one reliable client in one room: it keeps a connection joined (reconnecting
// to any instance and rejoining with its last position), sends messages one at a time
// until each is acknowledged, and records every frame of its room in arrival order.
type member struct {
	idx    int
	room   *room
	name   string
	urls   []string
	api    *chatclient.API
	ledger *ledger
	// localIP, when set, is the source address of the member's connections, so members
	// count as different clients for per-address limits.
	localIP net.IP

	mu      sync.Mutex
	token   string
	conn    *chatclient.Conn // joined connection, nil while reconnecting
	ready   chan struct{}    // closed once conn is set
	joined  bool             // the first join happened
	base    wire.Position
	pos     wire.Position
	got     map[string]int // message id -> frames received
	order   []string       // order violations, described
	stats   memberStats
	lastAck time.Time
}

// memberStats are what a member counts as it goes.
type memberStats struct {
	Connects, Rejoins, Recovered, Replayed, Resets, Unrecovered int
	MaxAckWait                                                  time.Duration
	SendErrors                                                  map[string]int
}

func newMember(idx int, r *room, name, token string, urls []string, api *chatclient.API, l *ledger) *member {
	return &member{
		idx: idx, room: r, name: name, token: token, urls: urls, api: api, ledger: l,
		ready: make(chan struct{}), got: map[string]int{},
		stats: memberStats{SendErrors: map[string]int{}},
	}
}

// observe follows the room's sequence. It runs on the reader goroutine of the current
// connection, so it sees joined replies, replays, live messages and resets in the order
// the server sent them.
func (m *member) observe(f chatclient.Frame) {
	if f.GroupID != m.room.id {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch f.Type {
	case wire.TypeJoined:
		switch {
		case !m.joined:
			m.joined, m.base, m.pos = true, f.Position, f.Position
		case f.Recovered != nil && *f.Recovered:
			m.stats.Rejoins++
			m.stats.Recovered++
			if f.Missed != nil {
				m.stats.Replayed += *f.Missed
			}
			// The replay continues from m.pos; the message frames that follow check it.
		default:
			// The server cannot tell what was missed: the client reloads history.
			m.stats.Rejoins++
			m.stats.Unrecovered++
			m.pos = f.Position
		}
	case wire.TypeReset:
		m.stats.Resets++
		m.pos = f.Position
	case wire.TypeMessage:
		if f.Message == nil {
			m.order = append(m.order, "message frame without a message")
			return
		}
		m.got[f.Message.ID]++
		if !m.joined {
			m.order = append(m.order, fmt.Sprintf("message %s at %s/%d before the joined reply", f.Message.ID, f.Epoch, f.Offset))
			return
		}
		next := f.Epoch == m.pos.Epoch && f.Offset == m.pos.Offset+1
		if !next {
			m.order = append(m.order, fmt.Sprintf("message at %s/%d after %s/%d", f.Epoch, f.Offset, m.pos.Epoch, m.pos.Offset))
		}
		// Never move backwards, so one stray frame is one violation, not a cascade.
		if f.Epoch != m.pos.Epoch || f.Offset > m.pos.Offset {
			m.pos = f.Position
		}
		m.ledger.delivered(f.Message.ID, f.Epoch, f.Offset, m.idx)
	}
}

// Reconnection follows docs/protocol.md ("Writing a reliable client"): at once after a
// 4012 (the instance is draining), otherwise after a backoff with jitter that doubles on
// every failed attempt.
const (
	minBackoff = 500 * time.Millisecond
	maxBackoff = 4 * time.Second
)

// connect keeps the member connected and joined until ctx ends.
func (m *member) connect(ctx context.Context) {
	attempt := m.idx // spread members over the instances
	var backoff time.Duration
	for ctx.Err() == nil {
		if backoff > 0 {
			sleep(ctx, backoff/2+rand.N(backoff/2))
		}
		url := m.urls[attempt%len(m.urls)]
		attempt++
		conn, err := m.dialAndJoin(ctx, url)
		if err != nil {
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
			continue
		}
		m.mu.Lock()
		m.conn = conn
		m.stats.Connects++
		close(m.ready)
		m.mu.Unlock()
		select {
		case <-conn.Done():
		case <-ctx.Done():
			_ = conn.Close()
		}
		m.mu.Lock()
		m.conn = nil
		m.ready = make(chan struct{})
		m.mu.Unlock()
		backoff = minBackoff
		if conn.CloseStatus() == statusReconnect {
			backoff = 0
		}
	}
}

// statusReconnect is the close code of an instance that is shutting down.
const statusReconnect = 4012

func (m *member) dialAndJoin(ctx context.Context, url string) (*chatclient.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := chatclient.Dial(dctx, url, chatclient.DialOptions{Observe: m.observe, LocalIP: m.localIP})
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	var since *wire.Position
	if m.joined {
		p := m.pos
		since = &p
	}
	tok := m.token
	m.mu.Unlock()
	jctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := conn.Join(jctx, m.room.id, tok, since); err != nil {
		_ = conn.CloseNow()
		var fe *chatclient.FrameError
		if errors.As(err, &fe) && fe.Code == wire.CodeUnauthorized {
			m.renewToken(ctx)
		}
		return nil, err
	}
	return conn, nil
}

// renewToken fetches a fresh member token, as a client does when its token expired.
func (m *member) renewToken(ctx context.Context) {
	m.mu.Lock()
	tok := m.token
	m.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if ms, err := m.api.RenewMemberToken(ctx, m.room.id, tok); err == nil {
		m.mu.Lock()
		m.token = ms.Token
		m.mu.Unlock()
	}
}

// current waits for a joined connection.
func (m *member) current(ctx context.Context) (*chatclient.Conn, error) {
	for {
		m.mu.Lock()
		conn, ready := m.conn, m.ready
		m.mu.Unlock()
		if conn != nil {
			return conn, nil
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// send sends messages every interval (with jitter) until stop is closed, each resent with
// the same client message id until acknowledged or ctx (the drain deadline) ends.
func (m *member) send(ctx context.Context, stop <-chan struct{}, runID string, interval time.Duration) {
	m.mu.Lock()
	m.lastAck = time.Now()
	m.mu.Unlock()
	for seq := 1; ; seq++ {
		select {
		case <-stop:
			return
		default:
		}
		cid := fmt.Sprintf("%s-m%03d-%06d", runID, m.idx, seq)
		body := messageBody(m.idx, seq)
		m.ledger.sent(cid, m.room.id, body, m.idx)
		m.sendUntilAcked(ctx, cid, body)
		if ctx.Err() != nil {
			return
		}
		select {
		case <-stop:
			return
		case <-time.After(interval/2 + rand.N(interval)):
		}
	}
}

func (m *member) sendUntilAcked(ctx context.Context, cid, body string) {
	for ctx.Err() == nil {
		conn, err := m.current(ctx)
		if err != nil {
			return
		}
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		f, err := conn.Send(sctx, m.room.id, cid, body)
		cancel()
		if err == nil {
			now := time.Now()
			m.mu.Lock()
			m.stats.MaxAckWait = max(m.stats.MaxAckWait, now.Sub(m.lastAck))
			m.lastAck = now
			m.mu.Unlock()
			m.ledger.acked(cid, f, now)
			return
		}
		code := "connection"
		var fe *chatclient.FrameError
		if errors.As(err, &fe) {
			code = fe.Code
		} else if errors.Is(err, context.DeadlineExceeded) {
			code = "timeout"
		}
		m.mu.Lock()
		m.stats.SendErrors[code]++
		m.mu.Unlock()
		// Resend with the same id after a short pause: on the same connection after an
		// error frame, on the next one after a broken connection.
		sleep(ctx, 100*time.Millisecond+rand.N(100*time.Millisecond))
	}
}

// messageBody is the text of message seq of member idx. Every seventh looks like HTML and
// SQL, which must be stored and returned verbatim.
func messageBody(idx, seq int) string {
	if seq%7 == 0 {
		return fmt.Sprintf(`<script>alert("m%d")</script><b onclick=x>#%d</b>'; DROP TABLE messages;-- & "quotes"`, idx, seq)
	}
	return fmt.Sprintf("message %d from member %d", seq, idx)
}

// position returns where the member is in its room.
func (m *member) position() wire.Position {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pos
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
