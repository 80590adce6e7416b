package ws

import (
	"fmt"
	"testing"
	"time"
)

func TestFloodGuard(t *testing.T) {
	const wait, window = 200 * time.Millisecond, 10 * time.Second
	t0 := time.Unix(1_700_000_000, 0)
	type step struct {
		at   time.Duration // after t0
		n    int           // refusals at that time
		want []verdict     // the verdicts of the last len(want) of them
	}
	tests := []struct {
		name       string
		closeAfter int
		steps      []step
		// wantUnanswered is the count the last answered refusal carries.
		wantUnanswered int
	}{
		{
			name: "a client that waits as told is answered every time and never closed", closeAfter: 10,
			steps: func() []step {
				var s []step
				for i := range 1000 {
					s = append(s, step{at: time.Duration(i) * wait, n: 1, want: []verdict{answerRefusal}})
				}
				return s
			}(),
		},
		{
			name: "more early refusals than the limit close the connection", closeAfter: 20,
			steps: []step{
				{n: 21, want: []verdict{answerRefusal}}, // the first is not early: 20 early
				{n: 1, want: []verdict{closeFlooding}},
			},
		},
		{
			name: "early refusals past the quiet point are dropped, then answered every 100 ms with a count",
			steps: []step{
				{n: 1 + quietAfterEarly, want: []verdict{answerRefusal}},
				{n: 9, want: []verdict{dropRefusal}},
				{at: refusalNoticeEvery - time.Millisecond, n: 1, want: []verdict{dropRefusal}},
				{at: refusalNoticeEvery, n: 1, want: []verdict{answerRefusal}},
			},
			wantUnanswered: 10,
		},
		{
			name: "the window starts over", closeAfter: 20,
			steps: []step{
				{n: 16, want: []verdict{answerRefusal}},
				{at: window + time.Millisecond, n: 16, want: []verdict{answerRefusal}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g floodGuard
			unanswered := 0
			for i, s := range tt.steps {
				var got []verdict
				for range s.n {
					v, u := g.refuse(t0.Add(s.at), wait, tt.closeAfter, window)
					if v == answerRefusal {
						unanswered = u
					}
					got = append(got, v)
				}
				if tail := got[len(got)-len(s.want):]; fmt.Sprint(tail) != fmt.Sprint(s.want) {
					t.Fatalf("step %d: verdicts end with %v, want %v", i, tail, s.want)
				}
				for _, v := range got {
					if v == closeFlooding && s.want[len(s.want)-1] != closeFlooding {
						t.Fatalf("step %d: closed early: %v", i, got)
					}
				}
			}
			if unanswered != tt.wantUnanswered {
				t.Fatalf("the last answer counts %d unanswered, want %d", unanswered, tt.wantUnanswered)
			}
		})
	}
}
