package faults

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/quickchat-go/quickchat/harness/chatclient"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

func TestLatencySummaryUsesNearestRankPercentiles(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	upTo := func(n int) []time.Duration {
		var ds []time.Duration
		for i := n; i >= 1; i-- { // unsorted on purpose
			ds = append(ds, ms(i))
		}
		return ds
	}
	tests := []struct {
		name string
		ds   []time.Duration
		want Latency
	}{
		{"nothing measured is all zero", nil, Latency{}},
		{"one sample is every percentile", []time.Duration{ms(7)}, Latency{N: 1, P50: ms(7), P99: ms(7), Max: ms(7)}},
		{"a hundred samples give the 50th and 99th", upTo(100), Latency{N: 100, P50: ms(50), P99: ms(99), Max: ms(100)}},
		{"ten samples give the largest as p99", upTo(10), Latency{N: 10, P50: ms(5), P99: ms(10), Max: ms(10)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := latencyOf(tt.ds); got != tt.want {
				t.Errorf("latencyOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestWithinTwiceJudgesBothP99sAndSignInRefusals(t *testing.T) {
	lat := func(p99 time.Duration) Latency { return Latency{N: 100, P50: p99 / 2, P99: p99, Max: p99} }
	idle := Window{Room: lat(10 * time.Millisecond), SignIn: lat(100 * time.Millisecond)}
	tests := []struct {
		name  string
		under Window
		want  bool
	}{
		{"exactly twice is within", Window{Room: lat(20 * time.Millisecond), SignIn: lat(200 * time.Millisecond)}, true},
		{"a slower room is not", Window{Room: lat(21 * time.Millisecond), SignIn: lat(100 * time.Millisecond)}, false},
		{"slower sign-ins are not", Window{Room: lat(10 * time.Millisecond), SignIn: lat(250 * time.Millisecond)}, false},
		{"a refused sign-in is not, however fast the rest", Window{Room: lat(10 * time.Millisecond), SignIn: lat(100 * time.Millisecond), SignInRefused: 1}, false},
		{"a failed sign-in is not", Window{Room: lat(10 * time.Millisecond), SignIn: lat(100 * time.Millisecond), SignInFailed: 1}, false},
		{"no sign-in at all is not", Window{Room: lat(10 * time.Millisecond)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := AttackResult{Idle: idle, Under: tt.under}
			if got := a.WithinTwice(); got != tt.want {
				t.Errorf("WithinTwice = %v (room %.2f×, sign-in %.2f×), want %v", got, a.RoomRatio(), a.SignInRatio(), tt.want)
			}
		})
	}
	if r := (AttackResult{}).RoomRatio(); !math.IsNaN(r) {
		t.Errorf("ratio of nothing measured = %v, want NaN", r)
	}
}

// TestDeliveryLatencyCountsOtherMembersOnce checks what send→deliver measures: each
// acknowledged message sent in the window, once per member other than its sender.
func TestDeliveryLatencyCountsOtherMembersOnce(t *testing.T) {
	l := newLedger()
	ack := func(cid, id string) {
		l.acked(cid, chatclient.Frame{ServerFrame: wire.ServerFrame{ID: id, Position: wire.Position{Epoch: "e", Offset: 1}}}, time.Now())
	}
	from := time.Now()
	l.sent("c1", testRoom, "hi", 0)
	ack("c1", "m1")
	l.sent("c2", testRoom, "never acked", 0)
	for _, by := range []int{0, 1, 2, 2} { // the sender, two others, one of them twice
		l.delivered("m1", "e", 1, by)
	}
	l.delivered("m2", "e", 2, 1)
	to := time.Now()
	time.Sleep(time.Millisecond)
	l.sent("c3", testRoom, "after the window", 0)
	ack("c3", "m3")
	l.delivered("m3", "e", 3, 1)

	got := l.deliveryLatencies(from, to)
	if len(got) != 2 {
		t.Fatalf("latencies = %v, want two (members 1 and 2 for m1)", got)
	}
	for _, d := range got {
		if d < 0 || d > time.Second {
			t.Errorf("latency %v is not the time from send to arrival", d)
		}
	}
}

func TestAbuseReportShowsTheTableAndTheRoomCheck(t *testing.T) {
	lat := func(p99 time.Duration) Latency { return Latency{N: 50, P50: p99 / 2, P99: p99, Max: p99} }
	bounded := AttackResult{
		Attack:  Attack{Name: "replay-loop", Finding: "H1", Title: "Replay loop (H1)", Note: "loops"},
		Outcome: AttackOutcome{Got: "1.0 MB in 250 replayed message frames", Refused: "40 joins answered recovered:false | x", Counts: map[string]int64{"joins sent": 41}},
		Idle:    Window{Room: lat(10 * time.Millisecond), SignIn: lat(80 * time.Millisecond), Load: "1.50 1.20 1.00"},
		Under:   Window{Room: lat(12 * time.Millisecond), SignIn: lat(90 * time.Millisecond), Load: "1.90 1.30 1.00"},
	}
	degraded := bounded
	degraded.Attack = Attack{Name: "group-flood", Title: "Group-creation flood (M4)"}
	degraded.Under.SignIn = lat(900 * time.Millisecond)
	room := &Result{Acked: 10, Stored: 10, Problems: []string{"1 messages were delivered twice to the same member"}}
	rep := &Report{Command: "test", Failed: map[string]string{}, Abuse: &AbuseResult{
		Config: DefaultAbuse, Attacks: []AttackResult{bounded, degraded}, Room: room,
		Failed: map[string]string{"Multi-socket flood (M3)": "prepare: no room"},
	}}
	var b strings.Builder
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"## Abuse", "| [Replay loop (H1)](#abuse-replay-loop) | 1.0 MB in 250 replayed message frames | 40 joins answered recovered:false \\| x |",
		"10.0 ms → 12.0 ms | 1.20× |", "| 1.50 / 1.90 | yes |", "11.25× | 0 / 0 | 1.50 / 1.90 | **no** |",
		"**not run**: prepare: no room", "Result: **FAILED**", "delivered twice", "joins sent: 41",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "## Summary") {
		t.Errorf("a report of the abuse section alone has a summary of fault scenarios:\n%s", out)
	}
}

func TestTallyListsOutcomesMostFrequentFirst(t *testing.T) {
	tl := newTally()
	tl.add("refused rate_limited", 5)
	tl.add("refused closed 4008", 1)
	tl.add("accepted", 9)
	tl.add("refused timeout", 0)
	if got, want := tl.withPrefix("refused "), "5 rate_limited, 1 closed 4008"; got != want {
		t.Errorf("withPrefix = %q, want %q", got, want)
	}
	if got := tl.withPrefix("none "); got != "" {
		t.Errorf("withPrefix of nothing = %q, want empty", got)
	}
}
