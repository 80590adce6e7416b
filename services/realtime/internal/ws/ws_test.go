package ws

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/wire"
	"github.com/quickchat-go/quickchat/services/realtime/internal/hub"
	"github.com/quickchat-go/quickchat/services/realtime/internal/metrics"
)

// newTestConn returns a connection without a socket, for logic that only queues frames.
func newTestConn(tb testing.TB, queue int) *conn {
	tb.Helper()
	h := &Handler{cfg: Config{SendQueue: queue}, metrics: metrics.Discard(), log: zap.NewNop()}
	c := &conn{h: h, id: "me", q: newQueue(queue), dead: make(chan struct{}), ended: make(chan struct{})}
	c.q.running = true // no socket to write to: the test takes the frames itself
	return c
}

func msg(epoch string, offset uint64) *hub.Frame {
	return &hub.Frame{Data: []byte(fmt.Sprintf("m%s%d", epoch, offset)), Epoch: epoch, Offset: offset}
}

// queued returns the queued frames as strings, resets replaced by "reset:<epoch><offset>".
func queued(tb testing.TB, c *conn) []string {
	tb.Helper()
	frames, _, _, _ := c.q.take()
	// A take that finds the queue empty ends the writer's turn, and the next push would
	// start a writer on the missing socket; the test stays the writer.
	c.q.mu.Lock()
	c.q.running = true
	c.q.mu.Unlock()
	out := make([]string, len(frames))
	for i, f := range frames {
		out[i] = string(f)
		var r struct {
			Type, Epoch string
			Offset      uint64
		}
		if json.Unmarshal(f, &r) == nil && r.Type == wire.TypeReset {
			out[i] = fmt.Sprintf("reset:%s%d", r.Epoch, r.Offset)
		}
	}
	return out
}

func TestSubDeliversEachMessageOnceInOrder(t *testing.T) {
	tests := []struct {
		name   string
		joinAt wire.Position // where the joined reply (and replay) left the client
		during []*hub.Frame  // delivered while recovering
		after  []*hub.Frame  // delivered once live
		want   []string
	}{
		{
			name:   "frames the replay covered are dropped and later ones kept",
			joinAt: wire.Position{Epoch: "e", Offset: 5},
			during: []*hub.Frame{msg("e", 4), msg("e", 5), msg("e", 6)},
			after:  []*hub.Frame{msg("e", 7)},
			want:   []string{"me6", "me7"},
		},
		{
			name:   "a duplicate after going live is dropped",
			joinAt: wire.Position{Epoch: "e", Offset: 1},
			after:  []*hub.Frame{msg("e", 2), msg("e", 2), msg("e", 3)},
			want:   []string{"me2", "me3"},
		},
		{
			name:   "a missing message is announced with a reset before the next one",
			joinAt: wire.Position{Epoch: "e", Offset: 1},
			after:  []*hub.Frame{msg("e", 2), msg("e", 5)},
			want:   []string{"me2", "reset:e4", "me5"},
		},
		{
			name:   "a new epoch is announced with a reset",
			joinAt: wire.Position{Epoch: "e", Offset: 9},
			after:  []*hub.Frame{msg("f", 1), msg("f", 2)},
			want:   []string{"reset:f0", "mf1", "mf2"},
		},
		{
			name:   "frames without a position pass through in order",
			joinAt: wire.Position{Epoch: "e", Offset: 0},
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
	push := func(q *queue, frame string) bool {
		ok, _ := q.push([]byte(frame))
		return ok
	}
	t.Run("push refuses when full and take empties it", func(t *testing.T) {
		q := newQueue(2)
		if !push(&q, "a") || !push(&q, "b") {
			t.Fatal("push into a queue with room failed")
		}
		if push(&q, "c") {
			t.Fatal("push into a full queue succeeded")
		}
		frames, _, closing, _ := q.take()
		if len(frames) != 2 || closing {
			t.Fatalf("take = %d frames, closing %v", len(frames), closing)
		}
		if !push(&q, "c") {
			t.Fatal("push after take failed")
		}
	})
	t.Run("replays leave half the queue to live frames", func(t *testing.T) {
		q := newQueue(4)
		for i := 0; i < 2; i++ {
			if ok, _, _ := q.tryPushHalf([]byte("r")); !ok {
				t.Fatalf("replay push %d refused", i)
			}
		}
		if ok, _, _ := q.tryPushHalf([]byte("r")); ok {
			t.Fatal("replay push into a half-full queue succeeded")
		}
		if !push(&q, "live") {
			t.Fatal("a live frame found no room")
		}
		q.take()
		select {
		case <-q.space:
		default:
			t.Fatal("take did not tell the waiting replay there is room")
		}
	})
	t.Run("a closing queue accepts nothing more", func(t *testing.T) {
		q := newQueue(4)
		push(&q, "last")
		q.closeAfterFlush(wire.CloseReconnect, "test")
		push(&q, "late")
		frames, _, closing, _ := q.take()
		if len(frames) != 1 || !closing {
			t.Fatalf("take = %d frames, closing %v; want the 1 frame queued before, closing", len(frames), closing)
		}
		if _, closing, _ := q.tryPushHalf([]byte("r")); !closing {
			t.Fatal("a replay push into a closing queue must report closing")
		}
	})
	t.Run("only the push that finds the queue idle starts a writer", func(t *testing.T) {
		q := newQueue(4)
		if _, start := q.push([]byte("a")); !start {
			t.Fatal("the first push must start the writer")
		}
		if _, start := q.push([]byte("b")); start {
			t.Fatal("a push while the writer runs must not start another")
		}
		if start := q.ping(); start {
			t.Fatal("a ping while the writer runs must not start another")
		}
		frames, ping, _, more := q.take()
		if len(frames) != 2 || !ping || !more {
			t.Fatalf("take = %d frames, ping %v, more %v; want 2, true, true", len(frames), ping, more)
		}
		q.recycle(frames)
		if _, _, _, more := q.take(); more {
			t.Fatal("take of an empty queue must end the writer's turn")
		}
		if _, start := q.push([]byte("c")); !start {
			t.Fatal("a push after the writer ended must start a new one")
		}
	})
	t.Run("a ping or a close of an idle queue starts a writer", func(t *testing.T) {
		q := newQueue(4)
		if !q.ping() {
			t.Fatal("a ping of an idle queue must start the writer")
		}
		if _, ping, _, more := q.take(); !ping || !more {
			t.Fatal("the writer must be asked to ping")
		}
		q.take() // ends the turn
		if !q.closeAfterFlush(wire.CloseReconnect, "test") {
			t.Fatal("closing an idle queue must start the writer to send the close")
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

func TestBucketTakesManyAndSaysHowLongToWait(t *testing.T) {
	var b bucket
	now := time.Unix(100, 0)
	if got := b.level(now, 1000, 5000); got != 5000 {
		t.Fatalf("a new bucket holds %v, want its burst 5000", got)
	}
	if ok, _ := b.take(now, 1000, 5000, 4000); !ok {
		t.Fatal("4000 of a full 5000 must be taken")
	}
	ok, wait := b.take(now, 1000, 5000, 2000)
	if ok || wait != time.Second {
		t.Fatalf("2000 more = %v, wait %v; want refused, and 1000 short at 1000/s is a second", ok, wait)
	}
	if got := b.level(now.Add(time.Second), 1000, 5000); got != 2000 {
		t.Fatalf("a second later the bucket holds %v, want 2000: a refusal takes nothing", got)
	}
}

func TestAddressBucketsAreSharedAndForgottenWhenFull(t *testing.T) {
	a := newAddrLimits(rate{Rate: 1, Burst: 2}, rate{})
	now := time.Unix(100, 0)
	for i := 0; i < 2; i++ {
		if ok, _ := a.takeSend("198.51.100.1", now); !ok {
			t.Fatalf("send %d of a burst of 2 refused", i+1)
		}
	}
	if ok, wait := a.takeSend("198.51.100.1", now); ok || wait != time.Second {
		t.Fatalf("a third send = %v, wait %v; want refused for a second", ok, wait)
	}
	if ok, _ := a.takeSend("198.51.100.2", now); !ok {
		t.Fatal("another address was refused")
	}
	if ok, _ := a.takeTyping("198.51.100.1", now); !ok {
		t.Fatal("typing without a limit was refused")
	}
	a.sweep(now.Add(time.Second))
	if a.len() != 1 {
		t.Fatalf("%d addresses remembered after a second; want the one that spent its burst, the other is full again", a.len())
	}
	a.sweep(now.Add(2 * time.Second))
	if a.len() != 0 {
		t.Fatalf("%d addresses remembered once their buckets refilled; want none", a.len())
	}
}
