package hub

import (
	"sync"
	"testing"
)

type recorder struct {
	mu     sync.Mutex
	frames []*Frame
}

func (r *recorder) Deliver(f *Frame) {
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
	f := &Frame{Data: []byte("x")}
	if n := h.Broadcast("r1", f); n != 2 {
		t.Fatalf("Broadcast reached %d subscribers, want 2", n)
	}
	if a.count() != 1 || b.count() != 1 || c.count() != 0 {
		t.Fatalf("counts a=%d b=%d c=%d", a.count(), b.count(), c.count())
	}
	if a.frames[0] != f || b.frames[0] != f {
		t.Fatal("every subscriber must get the same frame, encoded once")
	}
	if !h.Unsubscribe("r1", a) || h.Unsubscribe("r1", a) {
		t.Fatal("Unsubscribe must report whether it removed something")
	}
	h.Broadcast("r1", &Frame{Data: []byte("y")})
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

func TestCheckFollowsTheRoomPosition(t *testing.T) {
	tests := []struct {
		name        string
		delivered   []Frame // broadcast first
		epoch       string
		offset      uint64
		wantVerdict Verdict
		wantLast    uint64
	}{
		{"a room without subscribers is skipped", nil, "e", 1, NoSubscribers, 0},
		{"the first message seen is delivered", []Frame{}, "e", 9, Deliver, 0},
		{"the next offset is delivered", []Frame{{Epoch: "e", Offset: 4}}, "e", 5, Deliver, 0},
		{"an offset seen before is a duplicate", []Frame{{Epoch: "e", Offset: 4}}, "e", 4, Duplicate, 0},
		{"an older offset is a duplicate", []Frame{{Epoch: "e", Offset: 4}}, "e", 2, Duplicate, 0},
		{"a skipped offset is a gap after the last", []Frame{{Epoch: "e", Offset: 4}}, "e", 7, Gap, 4},
		{"a new epoch is delivered", []Frame{{Epoch: "e", Offset: 4}}, "f", 1, Deliver, 0},
		{"frames without position do not move it", []Frame{{Epoch: "e", Offset: 4}, {}}, "e", 5, Deliver, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New()
			if tt.delivered != nil {
				h.Subscribe("r", &recorder{})
			}
			for i := range tt.delivered {
				h.Broadcast("r", &tt.delivered[i])
			}
			v, last := h.Check("r", tt.epoch, tt.offset)
			if v != tt.wantVerdict || last != tt.wantLast {
				t.Fatalf("Check = %d, %d; want %d, %d", v, last, tt.wantVerdict, tt.wantLast)
			}
		})
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
				h.Broadcast("room", &Frame{})
				h.Unsubscribe("room", r)
			}
		}()
	}
	wg.Wait()
	if h.HasSubscribers("room") {
		t.Fatal("room should be empty")
	}
}
