package stats

import "testing"

type event struct {
	kind   string // "msg" or "reset"
	epoch  string
	offset uint64
}

func msg(o uint64) event             { return event{"msg", "e1", o} }
func msgIn(e string, o uint64) event { return event{"msg", e, o} }
func reset(o uint64) event           { return event{"reset", "e1", o} }

// view is the comparable part of a Sequence.
type view struct {
	Epoch                                          string
	Last, Received, Duplicates, OutOfOrder, Resets uint64
}

func TestSequence(t *testing.T) {
	tests := []struct {
		name   string
		start  uint64
		events []event
		final  uint64
		want   view
		lost   uint64
	}{
		{
			name: "messages in order after the join are all received", start: 10,
			events: []event{msg(11), msg(12), msg(13)}, final: 13,
			want: view{Received: 3, Last: 13},
		},
		{
			name: "a message delivered twice counts one duplicate", start: 0,
			events: []event{msg(1), msg(2), msg(2), msg(3)}, final: 3,
			want: view{Received: 3, Duplicates: 1, Last: 3},
		},
		{
			name: "a message from before the join is a duplicate", start: 5,
			events: []event{msg(5), msg(6)}, final: 6,
			want: view{Received: 1, Duplicates: 1, Last: 6},
		},
		{
			name: "a late message that fills a gap is out of order, not lost", start: 0,
			events: []event{msg(1), msg(3), msg(2), msg(4)}, final: 4,
			want: view{Received: 4, OutOfOrder: 1, Last: 4},
		},
		{
			name: "a gap never filled is lost", start: 0,
			events: []event{msg(1), msg(4), msg(5)}, final: 5,
			want: view{Received: 3, Last: 5}, lost: 2,
		},
		{
			name: "messages after the last one received are lost", start: 0,
			events: []event{msg(1), msg(2)}, final: 5,
			want: view{Received: 2, Last: 2}, lost: 3,
		},
		{
			name: "a reset skips what was not received and counts as lost", start: 0,
			events: []event{msg(1), reset(3), msg(4)}, final: 4,
			want: view{Received: 2, Resets: 1, Last: 4}, lost: 2,
		},
		{
			name: "a new epoch counts a reset and restarts the count", start: 0,
			events: []event{msg(1), msgIn("e2", 1), msgIn("e2", 2)}, final: 2,
			want: view{Received: 3, Resets: 1, Last: 2, Epoch: "e2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Sequence
			s.Join("e1", tt.start)
			for _, e := range tt.events {
				if e.kind == "reset" {
					s.Reset(e.epoch, e.offset)
				} else {
					s.Message(e.epoch, e.offset)
				}
			}
			if tt.want.Epoch == "" {
				tt.want.Epoch = "e1"
			}
			got := view{Epoch: s.Epoch, Last: s.Last, Received: s.Received, Duplicates: s.Duplicates, OutOfOrder: s.OutOfOrder, Resets: s.Resets}
			if got != tt.want {
				t.Errorf("sequence = %+v, want %+v", got, tt.want)
			}
			if l := s.Lost(tt.final); l != tt.lost {
				t.Errorf("Lost(%d) = %d, want %d", tt.final, l, tt.lost)
			}
		})
	}
}

func TestSequenceExpectedCountsFromTheFirstJoinOnly(t *testing.T) {
	var s Sequence
	s.Join("e1", 7)
	s.Message("e1", 8)
	s.Join("e1", 20) // a rejoin with recovery keeps the original start
	if got := s.Expected(10); got != 3 {
		t.Fatalf("Expected(10) = %d, want 3", got)
	}
	if got := s.Lost(10); got != 2 {
		t.Fatalf("Lost(10) = %d, want 2", got)
	}
}

func TestSequenceHugeGapIsCountedWithoutRememberingEachOffset(t *testing.T) {
	var s Sequence
	s.Join("e1", 0)
	s.Message("e1", maxTrackedGap+10)
	if len(s.missing) != 0 {
		t.Fatalf("remembered %d offsets, want none", len(s.missing))
	}
	if got := s.Lost(maxTrackedGap + 10); got != maxTrackedGap+9 {
		t.Fatalf("Lost = %d, want %d", got, maxTrackedGap+9)
	}
}
