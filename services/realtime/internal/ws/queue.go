package ws

import (
	"sync"
)

// queue holds the frames waiting for a connection's writer. Producers never block on it
// (a full queue means the client is too slow); only the reader goroutine may wait for room,
// when it replays history.
type queue struct {
	mu     sync.Mutex
	frames [][]byte
	max    int
	// waiting is set while pushWait waits for the writer to make room.
	waiting bool
	// closing is set once the connection should close after what is queued is written.
	closing bool
	// wake tells the writer there is work; space tells a waiting pushWait there is room.
	wake, space chan struct{}
}

func newQueue(max int) queue {
	return queue{max: max, wake: make(chan struct{}, 1), space: make(chan struct{}, 1)}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// push appends a frame unless the queue is full or closing. It reports false only when
// full.
func (q *queue) push(frame []byte) bool {
	q.mu.Lock()
	if q.closing {
		q.mu.Unlock()
		return true
	}
	if len(q.frames) >= q.max {
		q.mu.Unlock()
		return false
	}
	q.frames = append(q.frames, frame)
	q.mu.Unlock()
	signal(q.wake)
	return true
}

// tryPushHalf appends a frame if the queue is less than half full, leaving the other half
// for live frames; otherwise it marks the caller as waiting for space.
func (q *queue) tryPushHalf(frame []byte) (pushed, closing bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return false, true
	}
	if len(q.frames) >= max(q.max/2, 1) {
		q.waiting = true
		return false, false
	}
	q.frames = append(q.frames, frame)
	signal(q.wake)
	return true, false
}

// take swaps the queued frames for spare (emptied) and reports whether the connection is
// to close once they are written.
func (q *queue) take(spare [][]byte) (frames [][]byte, closing bool) {
	q.mu.Lock()
	frames, q.frames = q.frames, spare[:0]
	closing = q.closing
	if q.waiting {
		q.waiting = false
		signal(q.space)
	}
	q.mu.Unlock()
	return frames, closing
}

// closeAfterFlush makes the writer close the connection once what is queued is written.
func (q *queue) closeAfterFlush() {
	q.mu.Lock()
	q.closing = true
	q.mu.Unlock()
	signal(q.wake)
	signal(q.space)
}
