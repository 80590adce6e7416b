package ws

import (
	"sync"
	"time"

	"github.com/quickchat-go/quickchat/pkg/wire"
	"github.com/quickchat-go/quickchat/services/realtime/internal/hub"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
	"github.com/quickchat-go/quickchat/services/realtime/internal/protocol"
)

// sub is one connection's membership of one room: the hub subscriber that turns room
// frames into queued writes, keeping the client's position so every message reaches it
// once and in order.
type sub struct {
	c      *conn
	room   string
	sender node.Sender
	client []byte // encoded wire.Client, for presence and typing

	lastTyping time.Time // reader goroutine only

	mu sync.Mutex
	// While recovering, room frames are buffered: the joined reply and the replay must go
	// out first, and frames the replay already covers must be dropped.
	recovering bool
	buf        []*hub.Frame
	// epoch and offset are the client's position: the last message it was sent.
	epoch  string
	offset uint64
	// removed is set once the member's membership of the room was revoked: the removed
	// frame is the last frame the client gets from the room.
	removed bool
}

var _ hub.Subscriber = (*sub)(nil)

// Deliver implements hub.Subscriber. It never blocks.
func (s *sub) Deliver(f *hub.Frame) {
	if f.Revoked != nil {
		if f.Revoked[s.sender.MemberID] {
			s.revoke(f)
		}
		return
	}
	if f.From != "" && f.From == s.c.id {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return
	}
	if s.recovering {
		if len(s.buf) >= s.c.h.cfg.SendQueue {
			s.c.abort(wire.CloseSlowConsumer, "too many messages during recovery")
			return
		}
		s.buf = append(s.buf, f)
		return
	}
	s.accept(f)
}

// accept queues f if it moves the client forward. A frame that does not follow the
// client's position (a message went missing, or the room's epoch changed) is preceded by
// a reset so the client knows to reload history instead of silently missing messages.
// s.mu is held.
func (s *sub) accept(f *hub.Frame) {
	if f.Offset == 0 {
		s.c.push(f.Data)
		return
	}
	if f.Epoch == s.epoch && f.Offset <= s.offset {
		return // the client has it already (replayed, or delivered twice)
	}
	if f.Epoch != s.epoch || f.Offset != s.offset+1 {
		s.c.h.metrics.Resets.Inc()
		s.c.push(protocol.Reset(s.room, wire.Position{Epoch: f.Epoch, Offset: f.Offset - 1}))
	}
	s.epoch, s.offset = f.Epoch, f.Offset
	s.c.push(f.Data)
}

// revoke queues the removed frame f (after the join's replay, if that is still going
// out) and has the connection leave the room. It never blocks.
func (s *sub) revoke(f *hub.Frame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return
	}
	s.removed = true
	if s.recovering {
		s.buf = append(s.buf, f)
	} else {
		s.c.push(f.Data)
	}
	// Leaving takes the connection's op lock and Redis calls: not here, under the hub's
	// shard lock.
	go s.c.remove(s, f.Reason)
}

// isRemoved reports whether the member's membership of the room was revoked.
func (s *sub) isRemoved() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.removed
}

// finishRecovery sets the client's position to where the joined reply and replay left it
// and releases the frames buffered meanwhile.
func (s *sub) finishRecovery(pos wire.Position) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch, s.offset = pos.Epoch, pos.Offset
	for _, f := range s.buf {
		s.accept(f)
		if f.Revoked != nil {
			break // the removed frame is the room's last
		}
	}
	s.buf, s.recovering = nil, false
}
