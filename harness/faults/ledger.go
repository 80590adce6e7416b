package faults

import (
	"fmt"
	"sync"
	"time"

	"github.com/quickchat-go/quickchat/harness/chatclient"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

// ledger records, across all members, what was sent and acknowledged and where each
// message was delivered, so the checks can compare it with what was stored.
type ledger struct {
	mu        sync.Mutex
	msgs      map[string]*sentMessage // by client message id
	order     []string                // client message ids in the order first sent
	positions map[string]wire.Position
	conflicts []string // acks or deliveries that disagree with earlier ones
	// arrivals records when each member first got each message (by message id), for
	// send→deliver latency; all clocks are this process's.
	arrivals map[string][]arrival
}

// arrival is one member's first receipt of a message.
type arrival struct {
	member int
	at     time.Time
}

// sentMessage is one logical message: a client message id and everything learned of it.
type sentMessage struct {
	cid, room, body string
	// sender is the sending member's index; sentAt when the message was first sent.
	sender  int
	sentAt  time.Time
	acked   bool
	id      string
	pos     wire.Position
	ackedAt time.Time
	// resendsRecognised counts acks flagged duplicate: resends the server matched.
	resendsRecognised int
}

func newLedger() *ledger {
	return &ledger{msgs: map[string]*sentMessage{}, positions: map[string]wire.Position{}, arrivals: map[string][]arrival{}}
}

// sent records the first attempt to send a message; resends keep the first time.
func (l *ledger) sent(cid, room, body string, sender int) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.msgs[cid]; !ok {
		l.msgs[cid] = &sentMessage{cid: cid, room: room, body: body, sender: sender, sentAt: now}
		l.order = append(l.order, cid)
	}
}

// acked records an ack; a later ack for the same client message id must name the same
// message and position.
func (l *ledger) acked(cid string, f chatclient.Frame, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.msgs[cid]
	if f.Duplicate {
		m.resendsRecognised++
	}
	if !m.acked {
		m.acked, m.id, m.pos, m.ackedAt = true, f.ID, f.Position, at
		return
	}
	if f.ID != m.id || f.Position != m.pos {
		l.conflicts = append(l.conflicts, fmt.Sprintf("%s acked as %s at %+v, then as %s at %+v", cid, m.id, m.pos, f.ID, f.Position))
	}
}

// delivered records where and when member by got a message; every receiver must get it
// at the same position (one order per room).
func (l *ledger) delivered(id, epoch string, offset uint64, by int) {
	p := wire.Position{Epoch: epoch, Offset: offset}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !hasArrival(l.arrivals[id], by) {
		l.arrivals[id] = append(l.arrivals[id], arrival{member: by, at: now})
	}
	if first, ok := l.positions[id]; !ok {
		l.positions[id] = p
	} else if first != p {
		l.conflicts = append(l.conflicts, fmt.Sprintf("message %s delivered at %+v and at %+v", id, first, p))
	}
}

// snapshot returns copies of every message, in the order first sent.
func (l *ledger) snapshot() []sentMessage {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]sentMessage, 0, len(l.order))
	for _, cid := range l.order {
		out = append(out, *l.msgs[cid])
	}
	return out
}

// ackedBy returns the client message ids acknowledged up to t.
func (l *ledger) ackedBy(t time.Time) map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]bool{}
	for cid, m := range l.msgs {
		if m.acked && !m.ackedAt.After(t) {
			out[cid] = true
		}
	}
	return out
}

func hasArrival(as []arrival, member int) bool {
	for _, a := range as {
		if a.member == member {
			return true
		}
	}
	return false
}

// deliveryLatencies returns, for every acknowledged message first sent in [from, to),
// the time from its send to its first arrival at each member other than its sender.
func (l *ledger) deliveryLatencies(from, to time.Time) []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []time.Duration
	for _, m := range l.msgs {
		if !m.acked || m.sentAt.Before(from) || !m.sentAt.Before(to) {
			continue
		}
		for _, a := range l.arrivals[m.id] {
			if a.member != m.sender {
				out = append(out, a.at.Sub(m.sentAt))
			}
		}
	}
	return out
}

func (l *ledger) conflictList() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.conflicts...)
}
