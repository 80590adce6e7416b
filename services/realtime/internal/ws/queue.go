package ws

import (
	"sync"
	"time"

	"github.com/coder/websocket"
)

// queue holds the frames waiting for a connection's writer. Producers never block on it
// (a full queue means the client is too slow); only the reader goroutine may wait for room,
// when it replays history.
//
// The writer goroutine runs only while there is something to write: the call that finds
// the queue idle and gives it work is told to start one, and the writer ends when it
// finds nothing left. An idle connection thus holds no writer stack, which is most of
// what idle connections cost.
type queue struct {
	mu     sync.Mutex
	frames [][]byte
	max    int
	// running is set while a writer goroutine owns the queue.
	running bool
	// pingDue asks the writer to ping the client.
	pingDue bool
	// waiting is set while pushWait waits for the writer to make room.
	waiting bool
	// closing is set once the connection should close after what is queued is written,
	// with closeCode and closeReason.
	closing     bool
	closeCode   websocket.StatusCode
	closeReason string
	// space tells a waiting pushWait there is room.
	space chan struct{}
	// spare is an emptied frames slice kept for the next take.
	spare [][]byte
	// since is when the oldest queued frame entered the empty queue; take moves it to
	// taken, which only the writer reads (after its own take), for the write hop.
	since, taken time.Time
}

func newQueue(max int) queue {
	return queue{max: max, space: make(chan struct{}, 1)}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// claim marks the writer running and reports whether the caller must start it. q.mu is
// held.
func (q *queue) claim() bool {
	if q.running {
		return false
	}
	q.running = true
	return true
}

// push appends a frame unless the queue is full or closing. It reports false only when
// full, and start when the caller must start the writer.
func (q *queue) push(frame []byte) (ok, start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return true, false
	}
	if len(q.frames) >= q.max {
		return false, false
	}
	if len(q.frames) == 0 {
		q.since = time.Now()
	}
	q.frames = append(q.frames, frame)
	return true, q.claim()
}

// tryPushHalf appends a frame if the queue is less than half full, leaving the other half
// for live frames; otherwise it marks the caller as waiting for space.
func (q *queue) tryPushHalf(frame []byte) (pushed, closing, start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return false, true, false
	}
	if len(q.frames) >= max(q.max/2, 1) {
		q.waiting = true
		return false, false, false
	}
	if len(q.frames) == 0 {
		q.since = time.Now()
	}
	q.frames = append(q.frames, frame)
	return true, false, q.claim()
}

// ping asks the writer for a ping and reports whether the caller must start it.
func (q *queue) ping() (start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pingDue = true
	return q.claim()
}

// take hands the writer the queued frames and reports whether to ping first and whether
// the connection is to close once they are written. When there is nothing to do it ends
// the writer's turn (more is false) and the writer must return.
func (q *queue) take() (frames [][]byte, ping, closing, more bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.frames) == 0 && !q.pingDue && !q.closing {
		q.running = false
		return nil, false, false, false
	}
	frames, q.frames, q.spare = q.frames, q.spare[:0], nil
	q.taken, q.since = q.since, time.Time{}
	ping, q.pingDue = q.pingDue, false
	closing = q.closing
	if q.waiting {
		q.waiting = false
		signal(q.space)
	}
	return frames, ping, closing, true
}

// recycle keeps a written frames slice for the next take; big ones are dropped so an idle
// connection stays small.
func (q *queue) recycle(frames [][]byte) {
	if cap(frames) > 16 {
		return
	}
	clear(frames) // let the frames be collected
	q.mu.Lock()
	q.spare = frames[:0]
	q.mu.Unlock()
}

// closeAfterFlush makes the writer close the connection with code and reason once what
// is queued is written (the first call's code wins); it reports whether the caller must
// start the writer.
func (q *queue) closeAfterFlush(code websocket.StatusCode, reason string) (start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closing {
		q.closing, q.closeCode, q.closeReason = true, code, reason
	}
	signal(q.space)
	return q.claim()
}

// closeStatus is the code and reason closeAfterFlush was given.
func (q *queue) closeStatus() (websocket.StatusCode, string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closeCode, q.closeReason
}
