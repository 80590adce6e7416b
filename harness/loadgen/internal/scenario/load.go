package scenario

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/quickchat-go/quickchat/harness/loadgen/internal/fleet"
	"github.com/quickchat-go/quickchat/harness/loadgen/internal/stats"
	"github.com/quickchat-go/quickchat/harness/loadgen/internal/worker"
)

// Target is the deployment under load and how to drive it.
type Target struct {
	GatewayURL string
	// RealtimeURLs are the realtime instances' WebSocket URLs.
	RealtimeURLs []string
	// RealtimeOpsURLs are the base URLs of the same instances' ops listeners (/metrics,
	// /debug/pprof/), in the same order; optional.
	RealtimeOpsURLs []string
	// DatabaseURL, when set, lets windows measure how messages reach PostgreSQL.
	DatabaseURL string
	// Procs are sampled for CPU and memory; names starting with "realtime" count as the
	// realtime service in CPU per delivery.
	Procs []Proc
	// RestartRealtime, when set, restarts realtime instance i (for clean memory baselines).
	RestartRealtime func(ctx context.Context, i int) error
	// Workers starts worker processes (Workers is set per scenario).
	Workers fleet.Config
	// ConnsPerWorker caps each worker process's connections.
	ConnsPerWorker int
	// LocalIPs are source addresses connections are spread over (empty: kernel's choice).
	LocalIPs []string
	// JoinConcurrency bounds gateway joins in flight; DialConcurrency dials per worker.
	JoinConcurrency, DialConcurrency int
	// BodyBytes is the size of each message body.
	BodyBytes int
	// Log receives progress lines.
	Log io.Writer
	// CollectGarbage, when set, has realtime instance i run a garbage collection (what an
	// idle Go process does by itself at least every two minutes), so idle memory is
	// measured without the garbage of connecting.
	CollectGarbage func(ctx context.Context, i int) error
	// Profile, when set, saves a profile of the first realtime instance: kind "heap" or
	// "goroutine" at once, "cpu" over d. label names the moment.
	Profile func(ctx context.Context, label, kind string, d time.Duration)
}

func (t *Target) logf(format string, args ...any) {
	if t.Log != nil {
		fmt.Fprintf(t.Log, time.Now().Format("15:04:05 ")+format+"\n", args...)
	}
}

// Layout says where a population's members connect.
type Layout struct {
	Pop Population
	// URL picks the realtime URL for member m of room r (nil: the first instance).
	URL func(room, member int) string
	// Senders makes every member a sender.
	Senders bool
}

// ConnectSummary is how opening a scenario's connections went.
type ConnectSummary struct {
	Conns   int           `json:"conns"`
	Joined  int           `json:"joined"`
	Failed  int           `json:"failed"`
	Errors  []string      `json:"errors,omitempty"`
	Elapsed time.Duration `json:"elapsed_ns"`
	// PerSecond is joined connections per second.
	PerSecond   float64       `json:"per_second"`
	JoinLatency stats.Summary `json:"join_latency"`
	Workers     int           `json:"workers"`
}

// Load is a population connected through a fleet of workers.
type Load struct {
	t       *Target
	fleet   *fleet.Fleet
	rooms   []string
	senders []int  // sender connections per worker
	procs   []Proc // the target's processes and the workers
	Connect ConnectSummary
}

// Open starts workers and connects every member of the layout.
func Open(ctx context.Context, t *Target, l Layout) (*Load, error) {
	var specs []worker.ConnSpec
	for r, room := range l.Pop.Rooms {
		for m, mem := range room.Members {
			url := t.RealtimeURLs[0]
			if l.URL != nil {
				url = l.URL(r, m)
			}
			spec := worker.ConnSpec{Room: room.ID, Token: mem.Token, URL: url, Sender: l.Senders}
			if len(t.LocalIPs) > 0 {
				spec.LocalIP = t.LocalIPs[len(specs)%len(t.LocalIPs)]
			}
			specs = append(specs, spec)
		}
	}
	per := max(t.ConnsPerWorker, 1)
	n := max((len(specs)+per-1)/per, 1)
	cfg := t.Workers
	cfg.Workers = n
	f, err := fleet.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	ld := &Load{t: t, fleet: f, rooms: l.Pop.RoomIDs(), senders: make([]int, n)}
	// The load generator shares the machine: its workers' CPU is reported beside the
	// services'.
	for i, pid := range f.Pids() {
		ld.procs = append(ld.procs, Proc{Name: fmt.Sprintf("loadgen-%d", i+1), Pid: func() int { return pid }})
	}
	chunks := make([][]worker.ConnSpec, n)
	for i, s := range specs {
		w := i * n / len(specs)
		chunks[w] = append(chunks[w], s)
		if s.Sender {
			ld.senders[w]++
		}
	}
	t.logf("connecting %d clients from %d worker processes", len(specs), n)
	replies, err := f.All(ctx, func(i int) worker.Command {
		return worker.Command{Op: worker.OpConnect, Connect: &worker.ConnectCmd{
			Conns: chunks[i], Concurrency: max(t.DialConcurrency, 1), Timeout: 30 * time.Second}}
	})
	if err != nil {
		_ = f.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	ld.procs = append(append([]Proc(nil), t.Procs...), ld.procs...)
	cs := ConnectSummary{Conns: len(specs), Workers: n}
	var snaps []*hdrhistogram.Snapshot
	for _, r := range replies {
		cs.Joined += r.Connect.Joined
		cs.Failed += r.Connect.Failed
		cs.Errors = append(cs.Errors, r.Connect.Errors...)
		cs.Elapsed = max(cs.Elapsed, r.Connect.Elapsed)
		snaps = append(snaps, r.Connect.JoinLatency)
	}
	cs.JoinLatency = stats.Merge(snaps...)
	if cs.Elapsed > 0 {
		cs.PerSecond = float64(cs.Joined) / cs.Elapsed.Seconds()
	}
	ld.Connect = cs
	t.logf("joined %d of %d in %v (%.0f/s), join p50 %v p99 %v", cs.Joined, cs.Conns, cs.Elapsed.Round(time.Millisecond),
		cs.PerSecond, cs.JoinLatency.P50, cs.JoinLatency.P99)
	if cs.Failed > 0 {
		t.logf("failed joins: %d, e.g. %s", cs.Failed, strings.Join(cs.Errors, " | "))
	}
	return ld, nil
}

// Close ends the workers and their connections.
func (l *Load) Close(ctx context.Context) error { return l.fleet.Close(ctx) }

// Check is the receivers' account of every room (see worker.VerifyResult).
type Check = worker.VerifyResult

// Clean reports whether nothing was lost, duplicated or reordered.
func Clean(c Check) bool {
	return c.Lost == 0 && c.Duplicates == 0 && c.OutOfOrder == 0 && c.Resets == 0
}

// finals are the highest acked offset of every room, from all workers.
func (l *Load) finals(ctx context.Context) (map[string]uint64, StatsTotals, error) {
	replies, err := l.fleet.All(ctx, func(int) worker.Command {
		return worker.Command{Op: worker.OpStats, Stats: &worker.StatsCmd{}}
	})
	if err != nil {
		return nil, StatsTotals{}, err
	}
	finals := map[string]uint64{}
	var tot StatsTotals
	var snaps []*hdrhistogram.Snapshot
	for _, r := range replies {
		for room, off := range r.Stats.Acked {
			finals[room] = max(finals[room], off)
		}
		tot.Deliveries += r.Stats.Deliveries
		tot.Open += r.Stats.Open
		for code, n := range r.Stats.Closes {
			if tot.Closes == nil {
				tot.Closes = map[int]int64{}
			}
			tot.Closes[code] += n
		}
		snaps = append(snaps, r.Stats.Latency)
	}
	tot.Latency = stats.Merge(snaps...)
	return finals, tot, nil
}

// StatsTotals adds up the workers' windows.
type StatsTotals struct {
	Deliveries int64
	Open       int
	Closes     map[int]int64
	Latency    stats.Summary
}

// Verify counts lost, duplicated and out-of-order messages over every receiver.
func (l *Load) Verify(ctx context.Context) (Check, map[string]uint64, error) {
	finals, _, err := l.finals(ctx)
	if err != nil {
		return Check{}, nil, err
	}
	replies, err := l.fleet.All(ctx, func(int) worker.Command {
		return worker.Command{Op: worker.OpVerify, Verify: &worker.VerifyCmd{Finals: finals}}
	})
	if err != nil {
		return Check{}, nil, err
	}
	var c Check
	for _, r := range replies {
		v := r.Verify
		c.Receivers += v.Receivers
		c.Down += v.Down
		c.Expected += v.Expected
		c.Received += v.Received
		c.Lost += v.Lost
		c.Duplicates += v.Duplicates
		c.OutOfOrder += v.OutOfOrder
		c.Resets += v.Resets
	}
	return c, finals, nil
}

// settle verifies until nothing is missing any more or wait has passed: the last
// messages may still be on their way when sending ends.
func (l *Load) settle(ctx context.Context, wait time.Duration) (Check, map[string]uint64, error) {
	deadline := time.Now().Add(wait)
	for {
		c, finals, err := l.Verify(ctx)
		if err != nil || c.Lost == 0 || time.Now().After(deadline) {
			return c, finals, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
