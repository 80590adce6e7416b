package hub

import (
	"sync"
	"testing"
)

type recorder struct {
	mu     sync.Mutex
	frames [][]byte
}

func (r *recorder) Send(f []byte) {
	r.mu.Lock()
	r.frames = append(r.frames, f)
	r.mu.Unlock()
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.frames)
}

func TestBroadcastReachesOnlyTheRoom(t *testing.T) {
	h := New()
	a, b, c := &recorder{}, &recorder{}, &recorder{}
	if !h.Subscribe("r1", a) || !h.Subscribe("r1", b) || !h.Subscribe("r2", c) {
		t.Fatal("first subscription must report true")
	}
	if h.Subscribe("r1", a) {
		t.Fatal("a second subscription of the same subscriber must report false")
	}
	if n := h.Broadcast("r1", []byte("x")); n != 2 {
		t.Fatalf("Broadcast reached %d subscribers, want 2", n)
	}
	if a.count() != 1 || b.count() != 1 || c.count() != 0 {
		t.Fatalf("counts a=%d b=%d c=%d", a.count(), b.count(), c.count())
	}
	if !h.Unsubscribe("r1", a) || h.Unsubscribe("r1", a) {
		t.Fatal("Unsubscribe must report whether it removed something")
	}
	h.Broadcast("r1", []byte("y"))
	if a.count() != 1 || b.count() != 2 {
		t.Fatalf("after leave: a=%d b=%d", a.count(), b.count())
	}
	h.Unsubscribe("r1", b)
	if h.HasSubscribers("r1") {
		t.Fatal("an emptied room must be forgotten")
	}
	if rooms, subs := h.Stats(); rooms != 1 || subs != 1 {
		t.Fatalf("Stats = %d rooms, %d subs; want 1, 1", rooms, subs)
	}
}

func TestConcurrentUse(t *testing.T) {
	h := New()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &recorder{}
			for j := 0; j < 1000; j++ {
				h.Subscribe("room", r)
				h.Broadcast("room", nil)
				h.Unsubscribe("room", r)
			}
		}()
	}
	wg.Wait()
	if h.HasSubscribers("room") {
		t.Fatal("room should be empty")
	}
}
