package stats

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

func TestLatencyPercentilesMergeAcrossProcesses(t *testing.T) {
	a, b := NewLatency(), NewLatency()
	// 1..1000 ms split over two "processes" and several shards.
	for i := 1; i <= 1000; i++ {
		l := a
		if i%2 == 0 {
			l = b
		}
		l.Record(i, time.Duration(i)*time.Millisecond)
	}
	// Snapshots travel between processes as JSON.
	var snaps []*hdrhistogram.Snapshot
	for _, l := range []*Latency{a, b} {
		data, err := json.Marshal(l.Snapshot(false))
		if err != nil {
			t.Fatal(err)
		}
		var s hdrhistogram.Snapshot
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, &s)
	}
	got := Merge(snaps...)
	near := func(name string, d, want time.Duration) {
		t.Helper()
		if diff := d - want; diff < -want/100 || diff > want/100 {
			t.Errorf("%s = %v, want %v ±1%%", name, d, want)
		}
	}
	if got.Count != 1000 {
		t.Errorf("count = %d, want 1000", got.Count)
	}
	near("p50", got.P50, 500*time.Millisecond)
	near("p90", got.P90, 900*time.Millisecond)
	near("p99", got.P99, 990*time.Millisecond)
	near("p99.9", got.P999, 999*time.Millisecond)
	near("max", got.Max, 1000*time.Millisecond)
}

func TestLatencySnapshotWithResetStartsANewWindow(t *testing.T) {
	l := NewLatency()
	l.Record(0, time.Second)
	if s := Merge(l.Snapshot(true)); s.Count != 1 {
		t.Fatalf("first window count = %d, want 1", s.Count)
	}
	l.Record(0, 2*time.Millisecond)
	s := Merge(l.Snapshot(true))
	if s.Count != 1 || s.Max > 3*time.Millisecond {
		t.Fatalf("second window = %+v, want one sample of 2ms", s)
	}
}

func TestLatencyClampsValuesOutOfRange(t *testing.T) {
	l := NewLatency()
	l.Record(0, -time.Second) // a clock step backwards
	l.Record(1, time.Hour)
	if s := Merge(l.Snapshot(false)); s.Count != 2 {
		t.Fatalf("count = %d, want 2 (no sample dropped)", s.Count)
	}
}
