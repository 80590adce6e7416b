package scenario

import (
	"math"
	"testing"
	"time"
)

func TestHopLinesParse(t *testing.T) {
	for _, tc := range []struct {
		line string
		hop  string
		le   float64
		n    float64
		ok   bool
	}{
		{`realtime_hop_seconds_bucket{hop="produce",le="0.001"} 12`, "produce", 0.001, 12, true},
		{`realtime_hop_seconds_bucket{hop="write",le="+Inf"} 7`, "write", math.Inf(1), 7, true},
		{`realtime_hop_seconds_sum{hop="write"} 7`, "", 0, 0, false},
		{`realtime_deliver_seconds_bucket{le="0.001"} 3`, "", 0, 0, false},
		{`realtime_hop_seconds_bucket{hop="x",le="abc"} 3`, "", 0, 0, false},
	} {
		hop, le, n, ok := parseHopLine(tc.line)
		if ok != tc.ok || hop != tc.hop || le != tc.le || n != tc.n {
			t.Errorf("parseHopLine(%q) = %q %v %v %v, want %q %v %v %v", tc.line, hop, le, n, ok, tc.hop, tc.le, tc.n, tc.ok)
		}
	}
}

func TestHopQuantilesComeFromTheWindowsObservationsOnly(t *testing.T) {
	inf := math.Inf(1)
	before := hopBuckets{"publish": {0.001: 100, 0.002: 100, 0.01: 100, inf: 100}}
	// In the window: 50 observations up to 1 ms, 40 in (1, 2] ms, 10 in (2, 10] ms.
	after := hopBuckets{"publish": {0.001: 150, 0.002: 190, 0.01: 200, inf: 200}, "stream": {0.001: 0, inf: 0}}
	got := hopsBetween(before, after)
	if len(got) != 1 || got[0].Hop != "publish" || got[0].Count != 100 {
		t.Fatalf("hopsBetween = %+v, want publish alone with 100 observations", got)
	}
	if got[0].P50 != time.Millisecond {
		t.Errorf("p50 = %v, want 1ms (the 50th observation ends the first bucket)", got[0].P50)
	}
	// The 99th observation is the 9th of 10 in (2, 10] ms: 2 + 8×0.9 = 9.2 ms.
	if d := got[0].P99 - 9200*time.Microsecond; d < -time.Microsecond || d > time.Microsecond {
		t.Errorf("p99 = %v, want 9.2ms", got[0].P99)
	}
}
