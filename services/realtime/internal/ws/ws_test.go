package ws

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/services/realtime/internal/hub"
	"github.com/quickchat-go/quickchat/services/realtime/internal/metrics"
	"github.com/quickchat-go/quickchat/services/realtime/internal/protocol"
)

// newTestConn returns a connection without a socket, for logic that only queues frames.
func newTestConn(tb testing.TB, queue int) *conn {
	tb.Helper()
	h := &Handler{cfg: Config{SendQueue: queue}, metrics: metrics.Discard(), log: zap.NewNop()}
	return &conn{h: h, id: "me", q: newQueue(queue), dead: make(chan struct{}), ended: make(chan struct{})}
}

func msg(epoch string, offset uint64) *hub.Frame {
	return &hub.Frame{Data: []byte(fmt.Sprintf("m%s%d", epoch, offset)), Epoch: epoch, Offset: offset}
}

// queued returns the queued frames as strings, resets replaced by "reset:<epoch><offset>".
func queued(tb testing.TB, c *conn) []string {
	tb.Helper()
	frames, _ := c.q.take(nil)
	out := make([]string, len(frames))
	for i, f := range frames {
		out[i] = string(f)
		var r struct {
			Type, Epoch string
			Offset      uint64
		}
		if json.Unmarshal(f, &r) == nil && r.Type == protocol.TypeReset {
			out[i] = fmt.Sprintf("reset:%s%d", r.Epoch, r.Offset)
		}
	}
	return out
}

func TestSubDeliversEachMessageOnceInOrder(t *testing.T) {
	tests := []struct {
		name   string
		joinAt protocol.Position // where the joined reply (and replay) left the client
		during []*hub.Frame      // delivered while recovering
		after  []*hub.Frame      // delivered once live
		want   []string
	}{
		{
			name:   "frames the replay covered are dropped and later ones kept",
			joinAt: protocol.Position{Epoch: "e", Offset: 5},
			during: []*hub.Frame{msg("e", 4), msg("e", 5), msg("e", 6)},
			after:  []*hub.Frame{msg("e", 7)},
			want:   []string{"me6", "me7"},
		},
		{
			name:   "a duplicate after going live is dropped",
			joinAt: protocol.Position{Epoch: "e", Offset: 1},
			after:  []*hub.Frame{msg("e", 2), msg("e", 2), msg("e", 3)},
			want:   []string{"me2", "me3"},
		},
		{
			name:   "a missing message is announced with a reset before the next one",
			joinAt: protocol.Position{Epoch: "e", Offset: 1},
			after:  []*hub.Frame{msg("e", 2), msg("e", 5)},
			want:   []string{"me2", "reset:e4", "me5"},
		},
		{
			name:   "a new epoch is announced with a reset",
			joinAt: protocol.Position{Epoch: "e", Offset: 9},
			after:  []*hub.Frame{msg("f", 1), msg("f", 2)},
			want:   []string{"reset:f0", "mf1", "mf2"},
		},
		{
			name:   "frames without a position pass through in order",
			joinAt: protocol.Position{Epoch: "e", Offset: 0},
			during: []*hub.Frame{{Data: []byte("p1")}, msg("e", 1)},
			after:  []*hub.Frame{{Data: []byte("t1")}, {Data: []byte("own typing"), From: "me"}},
			want:   []string{"p1", "me1", "t1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestConn(t, 64)
			s := &sub{c: c, room: "r", recovering: true}
			for _, f := range tt.during {
				s.Deliver(f)
			}
			if got := queued(t, c); len(got) != 0 {
				t.Fatalf("frames went out while recovering: %v", got)
			}
			s.finishRecovery(tt.joinAt)
			for _, f := range tt.after {
				s.Deliver(f)
			}
			got := queued(t, c)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("queued %v, want %v", got, tt.want)
			}
		})
	}
}

func TestQueue(t *testing.T) {
	t.Run("push refuses when full and take empties it", func(t *testing.T) {
		q := newQueue(2)
		if !q.push([]byte("a")) || !q.push([]byte("b")) {
			t.Fatal("push into a queue with room failed")
		}
		if q.push([]byte("c")) {
			t.Fatal("push into a full queue succeeded")
		}
		frames, closing := q.take(nil)
		if len(frames) != 2 || closing {
			t.Fatalf("take = %d frames, closing %v", len(frames), closing)
		}
		if !q.push([]byte("c")) {
			t.Fatal("push after take failed")
		}
	})
	t.Run("replays leave half the queue to live frames", func(t *testing.T) {
		q := newQueue(4)
		for i := 0; i < 2; i++ {
			if ok, _ := q.tryPushHalf([]byte("r")); !ok {
				t.Fatalf("replay push %d refused", i)
			}
		}
		if ok, _ := q.tryPushHalf([]byte("r")); ok {
			t.Fatal("replay push into a half-full queue succeeded")
		}
		if !q.push([]byte("live")) {
			t.Fatal("a live frame found no room")
		}
		q.take(nil)
		select {
		case <-q.space:
		default:
			t.Fatal("take did not tell the waiting replay there is room")
		}
	})
	t.Run("a closing queue accepts nothing more", func(t *testing.T) {
		q := newQueue(4)
		q.push([]byte("last"))
		q.closeAfterFlush()
		q.push([]byte("late"))
		frames, closing := q.take(nil)
		if len(frames) != 1 || !closing {
			t.Fatalf("take = %d frames, closing %v; want the 1 frame queued before, closing", len(frames), closing)
		}
		if _, closing := q.tryPushHalf([]byte("r")); !closing {
			t.Fatal("a replay push into a closing queue must report closing")
		}
	})
}

func TestBucket(t *testing.T) {
	var b bucket
	now := time.Unix(100, 0)
	allowed := 0
	for i := 0; i < 10; i++ {
		if b.allow(now, 2, 5) {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("a burst of 10 let %d through, want the burst size 5", allowed)
	}
	if !b.allow(now.Add(time.Second), 2, 5) || !b.allow(now.Add(time.Second), 2, 5) || b.allow(now.Add(time.Second), 2, 5) {
		t.Fatal("after one second at 2/s exactly two more frames must pass")
	}
}
