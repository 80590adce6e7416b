package stats

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds from 1 µs to 2 minutes with 3 significant digits:
// enough resolution for sub-millisecond p50s and room for pathological tails.
const (
	minMicros = 1
	maxMicros = int64(2 * time.Minute / time.Microsecond)
	sigFigs   = 3
)

// shards spreads concurrent recorders over several histograms so thousands of reader
// goroutines do not queue on one lock.
const shards = 8

// Latency is a concurrency-safe HDR histogram of durations.
type Latency struct {
	shards [shards]struct {
		mu sync.Mutex
		h  *hdrhistogram.Histogram
		_  [40]byte // keep shards on separate cache lines
	}
}

// NewLatency returns an empty histogram.
func NewLatency() *Latency {
	l := &Latency{}
	for i := range l.shards {
		l.shards[i].h = hdrhistogram.New(minMicros, maxMicros, sigFigs)
	}
	return l
}

// Record adds one duration; hint picks the shard (e.g. a connection index). Values out of
// range are clamped so a clock step never loses a sample.
func (l *Latency) Record(hint int, d time.Duration) {
	us := min(max(d.Microseconds(), minMicros), maxMicros)
	s := &l.shards[uint(hint)%shards]
	s.mu.Lock()
	_ = s.h.RecordValue(us)
	s.mu.Unlock()
}

// Snapshot merges the shards into a portable summary and, when reset is true, empties the
// histogram for the next measurement window.
func (l *Latency) Snapshot(reset bool) *hdrhistogram.Snapshot {
	all := hdrhistogram.New(minMicros, maxMicros, sigFigs)
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		all.Merge(s.h)
		if reset {
			s.h.Reset()
		}
		s.mu.Unlock()
	}
	return all.Export()
}

// Summary is the part of a latency distribution a report shows.
type Summary struct {
	Count int64         `json:"count"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	P999  time.Duration `json:"p999_ns"`
	Max   time.Duration `json:"max_ns"`
}

// Merge combines snapshots from several processes into one summary.
func Merge(snaps ...*hdrhistogram.Snapshot) Summary {
	all := hdrhistogram.New(minMicros, maxMicros, sigFigs)
	for _, s := range snaps {
		if s != nil {
			all.Merge(hdrhistogram.Import(s))
		}
	}
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	return Summary{
		Count: all.TotalCount(),
		P50:   us(all.ValueAtQuantile(50)),
		P90:   us(all.ValueAtQuantile(90)),
		P99:   us(all.ValueAtQuantile(99)),
		P999:  us(all.ValueAtQuantile(99.9)),
		Max:   us(all.Max()),
	}
}
