package scenario

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/quickchat-go/quickchat/harness/chatclient"
)

// Sizes are the dimensions of the standard scenarios (see docs/benchmarks.md).
type Sizes struct {
	// IdleConns is how many idle connections scenario 1 opens on one instance.
	IdleConns int
	// RoomSize is the members per room in scenarios 1, 2, 5 and 6.
	RoomSize int
	// FanoutRooms and FanoutRates are scenario 2's rooms and send rates.
	FanoutRooms int
	FanoutRates []float64
	// LargeRoomMembers and LargeRoomRate are scenario 3's.
	LargeRoomMembers int
	LargeRoomRate    float64
	// StormConns and StormRate are scenario 5's clients and background send rate.
	StormConns int
	StormRate  float64
	// TwoInstanceRates are scenario 6's send rates.
	TwoInstanceRates []float64
	// Runs is how many times each measurement repeats (reports show the median).
	Runs int
	// Duration is one measurement window; Warmup is sent before the first.
	Duration, Warmup time.Duration
}

// StandardSizes are the sizes `make bench` uses.
func StandardSizes() Sizes {
	return Sizes{
		IdleConns: 19000, RoomSize: 10,
		FanoutRooms: 1000, FanoutRates: []float64{1000, 2000, 5000},
		LargeRoomMembers: 5000, LargeRoomRate: 20,
		StormConns: 15000, StormRate: 1000,
		TwoInstanceRates: []float64{5000},
		Runs:             3, Duration: 10 * time.Second, Warmup: 2 * time.Second,
	}
}

// Scaled shrinks every count by f (at least one room of two), for smoke runs.
func (s Sizes) Scaled(f float64) Sizes {
	scale := func(n int, least int) int { return max(int(math.Round(float64(n)*f)), least) }
	s.IdleConns = scale(s.IdleConns, 2)
	s.FanoutRooms = scale(s.FanoutRooms, 1)
	s.LargeRoomMembers = scale(s.LargeRoomMembers, 2)
	s.StormConns = scale(s.StormConns, 2)
	rates := func(rs []float64) []float64 {
		out := make([]float64, len(rs))
		for i, r := range rs {
			out[i] = math.Max(r*f, 1)
		}
		return out
	}
	s.FanoutRates, s.TwoInstanceRates = rates(s.FanoutRates), rates(s.TwoInstanceRates)
	s.StormRate = math.Max(s.StormRate*f, 1)
	return s
}

func (t *Target) populate(ctx context.Context, rooms, size int) (Population, error) {
	t.logf("creating %d rooms of %d members through the gateway", rooms, size)
	pop, err := Populate(ctx, chatclient.NewAPI(t.GatewayURL), rooms, size, max(t.JoinConcurrency, 1))
	if err != nil {
		return pop, err
	}
	t.logf("created %d members in %v (%.0f/s)", pop.Members(), pop.Elapsed.Round(time.Millisecond),
		float64(pop.Members())/pop.Elapsed.Seconds())
	return pop, nil
}

// IdleRun is one measurement of idle connections' memory.
type IdleRun struct {
	Connect ConnectSummary `json:"connect"`
	// BaselineRSS is the realtime instance's RSS before connecting; LoadedRSS after the
	// connections joined and the heap settled.
	BaselineRSS int64 `json:"baseline_rss"`
	LoadedRSS   int64 `json:"loaded_rss"`
	// PerConn is (LoadedRSS − BaselineRSS) / joined connections, in bytes.
	PerConn float64 `json:"per_conn_bytes"`
	// Go runtime figures per connection from the instance's /metrics (heap in use, stacks
	// in use, goroutines), when it exposes them.
	HeapPerConn       float64       `json:"heap_per_conn_bytes"`
	StackPerConn      float64       `json:"stack_per_conn_bytes"`
	GoroutinesPerConn float64       `json:"goroutines_per_conn"`
	Settle            time.Duration `json:"settle_ns"`
}

var runtimeGauges = []string{"go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes", "go_goroutines"}

// Idle opens conns idle connections (rooms of size members) on the first realtime
// instance and measures its memory per connection once the heap has settled.
func Idle(ctx context.Context, t *Target, conns, size int) (IdleRun, error) {
	var run IdleRun
	if t.RestartRealtime != nil {
		if err := t.RestartRealtime(ctx, 0); err != nil {
			return run, err
		}
	}
	pop, err := t.populate(ctx, max(conns/size, 1), min(size, conns))
	if err != nil {
		return run, err
	}
	rt := realtimeProc(t, 0)
	time.Sleep(2 * time.Second)
	base := sampleProcs(rt).samples
	baseM, _ := t.scrapeRealtime(ctx, 0, runtimeGauges...)
	ld, err := Open(ctx, t, Layout{Pop: pop})
	if err != nil {
		return run, err
	}
	defer ld.Close(context.WithoutCancel(ctx))
	run.Connect = ld.Connect
	// Let the heap settle: one collection, then RSS steady (within 0.5%) for 3 s in a row,
	// at most 30 s.
	start := time.Now()
	if t.CollectGarbage != nil {
		if err := t.CollectGarbage(ctx, 0); err != nil {
			return run, err
		}
	}
	var last int64
	steady := 0
	for time.Since(start) < 30*time.Second && steady < 3 {
		time.Sleep(time.Second)
		cur := sampleProcs(rt).samples["realtime-1"].RSS
		if last > 0 && math.Abs(float64(cur-last)) < 0.005*float64(last) {
			steady++
		} else {
			steady = 0
		}
		last = cur
	}
	run.Settle = time.Since(start)
	if t.Profile != nil {
		t.Profile(ctx, "idle", "heap", 0)
		t.Profile(ctx, "idle", "goroutine", 0)
	}
	run.BaselineRSS = base["realtime-1"].RSS
	run.LoadedRSS = last
	if n := float64(run.Connect.Joined); n > 0 {
		run.PerConn = float64(run.LoadedRSS-run.BaselineRSS) / n
		if m, err := t.scrapeRealtime(ctx, 0, runtimeGauges...); err == nil && baseM != nil {
			run.HeapPerConn = (m["go_memstats_heap_inuse_bytes"] - baseM["go_memstats_heap_inuse_bytes"]) / n
			run.StackPerConn = (m["go_memstats_stack_inuse_bytes"] - baseM["go_memstats_stack_inuse_bytes"]) / n
			run.GoroutinesPerConn = (m["go_goroutines"] - baseM["go_goroutines"]) / n
		}
	}
	t.logf("idle: %d connections, RSS %d → %d MiB: %.1f KiB per connection (heap %.1f KiB, stacks %.1f KiB, %.2f goroutines)",
		run.Connect.Joined, run.BaselineRSS>>20, run.LoadedRSS>>20, run.PerConn/1024, run.HeapPerConn/1024, run.StackPerConn/1024, run.GoroutinesPerConn)
	return run, nil
}

// realtimeProc returns the sampled process of realtime instance i, named "realtime-1".
func realtimeProc(t *Target, i int) []Proc {
	name := fmt.Sprintf("realtime-%d", i+1)
	for _, p := range t.Procs {
		if p.Name == name {
			return []Proc{p}
		}
	}
	return nil
}

// Fanout is scenario 2 (and, with split, scenario 6): rooms of size members, every
// member a sender; each rate is measured runs times. With split, the first half of each
// room's members connects to the first instance and the rest to the second, so every
// message crosses instances.
// With t.Profile set, a CPU profile covers the first window at the highest rate, named
// by label.
func Fanout(ctx context.Context, t *Target, label string, rooms, size int, rates []float64, runs int, d, warmup time.Duration, split bool) (ConnectSummary, ByRate, error) {
	pop, err := t.populate(ctx, rooms, size)
	if err != nil {
		return ConnectSummary{}, nil, err
	}
	layout := Layout{Pop: pop, Senders: true}
	if split {
		if len(t.RealtimeURLs) < 2 {
			return ConnectSummary{}, nil, fmt.Errorf("scenario: two realtime instances needed, have %d", len(t.RealtimeURLs))
		}
		layout.URL = func(_, m int) string { return t.RealtimeURLs[m*2/size] }
	}
	ld, err := Open(ctx, t, layout)
	if err != nil {
		return ConnectSummary{}, nil, err
	}
	defer ld.Close(context.WithoutCancel(ctx))
	if warmup > 0 {
		if _, err := ld.Run(ctx, rates[0], warmup, WindowOptions{}); err != nil {
			return ld.Connect, nil, err
		}
	}
	out := ByRate{}
	for ri, rate := range rates {
		for i := 0; i < runs; i++ {
			opt := WindowOptions{Persist: true}
			if t.Profile != nil && ri == len(rates)-1 && i == 0 {
				opt.During = func(ctx context.Context) error {
					t.Profile(ctx, fmt.Sprintf("%s-%.0f", label, rate), "cpu", d*8/10)
					return nil
				}
			}
			w, err := ld.Run(ctx, rate, d, opt)
			if err != nil {
				return ld.Connect, out, err
			}
			out[rate] = append(out[rate], w)
		}
	}
	return ld.Connect, out, nil
}

// LargeRoom is scenario 3: one room of members, every member a sender, at rate.
func LargeRoom(ctx context.Context, t *Target, members int, rate float64, runs int, d, warmup time.Duration) (ConnectSummary, []Window, error) {
	conn, byRate, err := Fanout(ctx, t, "large-room", 1, members, []float64{rate}, runs, d, warmup, false)
	return conn, byRate[rate], err
}

// StormRun is one reconnect storm and the sending around it.
type StormRun struct {
	Storm  StormOutcome `json:"storm"`
	Window Window       `json:"window"`
}

// Storm is scenario 5: conns clients in rooms of size; while they send at rate, every
// connection drops at once and reconnects with recovery; repeated runs times.
func Storm(ctx context.Context, t *Target, conns, size int, rate float64, runs int, d, warmup time.Duration) (ConnectSummary, []StormRun, error) {
	pop, err := t.populate(ctx, max(conns/size, 1), min(size, conns))
	if err != nil {
		return ConnectSummary{}, nil, err
	}
	ld, err := Open(ctx, t, Layout{Pop: pop, Senders: true})
	if err != nil {
		return ConnectSummary{}, nil, err
	}
	defer ld.Close(context.WithoutCancel(ctx))
	if warmup > 0 {
		if _, err := ld.Run(ctx, rate, warmup, WindowOptions{}); err != nil {
			return ld.Connect, nil, err
		}
	}
	var out []StormRun
	for i := 0; i < runs; i++ {
		var run StormRun
		w, err := ld.Run(ctx, rate, d, WindowOptions{
			StartAfter: d / 5, Settle: 15 * time.Second,
			During: func(ctx context.Context) error {
				var err error
				run.Storm, err = ld.Storm(ctx, 0, time.Minute)
				return err
			},
		})
		if err != nil {
			return ld.Connect, out, err
		}
		run.Window = w
		out = append(out, run)
	}
	return ld.Connect, out, nil
}
