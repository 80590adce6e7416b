package ws

import (
	"testing"
	"time"
)

// The write hop starts when a frame enters an empty queue, so a batch is timed from its
// oldest frame, and a frame pushed into a busy queue does not restart the clock.
func TestQueueTimesABatchFromItsOldestFrame(t *testing.T) {
	q := newQueue(8)
	if q.push([]byte("a")); q.since.IsZero() {
		t.Fatal("a push into an empty queue left no start time")
	}
	first := q.since
	time.Sleep(time.Millisecond)
	q.push([]byte("b"))
	if !q.since.Equal(first) {
		t.Fatal("a push into a non-empty queue moved the start time")
	}
	frames, _, _, _ := q.take()
	if len(frames) != 2 || !q.taken.Equal(first) || !q.since.IsZero() {
		t.Fatalf("take = %d frames, taken %v, since %v; want 2 frames taken from %v and the clock reset", len(frames), q.taken, q.since, first)
	}
	if pushed, _, _ := q.tryPushHalf([]byte("c")); !pushed || q.since.IsZero() {
		t.Fatal("a replay push into the emptied queue left no start time")
	}
}
