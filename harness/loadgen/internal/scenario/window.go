package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/quickchat-go/quickchat/harness/loadgen/internal/stats"
	"github.com/quickchat-go/quickchat/harness/loadgen/internal/worker"
)

// Window is one measurement: a fixed send rate for a duration.
type Window struct {
	// Rate is the target, in messages per second over all senders.
	Rate     float64       `json:"rate"`
	Duration time.Duration `json:"duration_ns"`
	Sent     int64         `json:"sent"`
	Acked    int64         `json:"acked"`
	// Unacked sends got no reply in time; Refused got an error reply (by code); Skipped
	// found no joined connection; Resent were sent again after a reconnect.
	Unacked       int64            `json:"unacked"`
	Refused       map[string]int64 `json:"refused,omitempty"`
	Skipped       int64            `json:"skipped"`
	Resent        int64            `json:"resent"`
	AckDuplicates int64            `json:"ack_duplicates"`
	// Deliveries counts message frames received (first copies only) for messages of this
	// window; DeliveriesPerSec divides them by the send duration.
	Deliveries       int64         `json:"deliveries"`
	DeliveriesPerSec float64       `json:"deliveries_per_sec"`
	Latency          stats.Summary `json:"latency"`
	AckLatency       stats.Summary `json:"ack_latency"`
	// Check is the receivers' account after the window (cumulative since connecting).
	Check Check `json:"check"`
	// Closes counts connections the server ended (by close code) so far.
	Closes map[int]int64 `json:"closes,omitempty"`
	Procs  []ProcUsage   `json:"procs"`
	// RealtimeCPUPer1000 is realtime CPU seconds per 1,000 deliveries.
	RealtimeCPUPer1000 float64      `json:"realtime_cpu_per_1000"`
	Persist            *Persistence `json:"persist,omitempty"`
	// Hops is where the window's time went inside realtime, hop by hop.
	Hops []HopLatency `json:"hops,omitempty"`
}

// WindowOptions tune a window.
type WindowOptions struct {
	// Persist measures how the window's messages reach PostgreSQL (needs DatabaseURL).
	Persist bool
	// During, when set, runs alongside the sending, starting after StartAfter (a storm).
	During     func(ctx context.Context) error
	StartAfter time.Duration
	// Settle bounds the wait for the last deliveries after sending (default 5s).
	Settle time.Duration
}

// Run sends at rate for d and measures.
func (l *Load) Run(ctx context.Context, rate float64, d time.Duration, opt WindowOptions) (Window, error) {
	t := l.t
	if opt.Settle <= 0 {
		opt.Settle = 5 * time.Second
	}
	if _, err := l.fleet.All(ctx, func(int) worker.Command {
		return worker.Command{Op: worker.OpStats, Stats: &worker.StatsCmd{Reset: true}}
	}); err != nil {
		return Window{}, err
	}
	totalSenders := 0
	for _, s := range l.senders {
		totalSenders += s
	}
	hopsBefore, err := t.scrapeHops(ctx)
	if err != nil {
		return Window{}, err
	}
	before := sampleProcs(l.procs)
	start := time.Now()
	type sendOut struct {
		replies []worker.Reply
		err     error
	}
	done := make(chan sendOut, 1)
	go func() {
		replies, err := l.fleet.All(ctx, func(i int) worker.Command {
			share := 0.0
			if totalSenders > 0 {
				share = rate * float64(l.senders[i]) / float64(totalSenders)
			}
			return worker.Command{Op: worker.OpSend, Send: &worker.SendCmd{
				Rate: share, Duration: d, BodyBytes: t.BodyBytes, AckTimeout: 15 * time.Second}}
		})
		done <- sendOut{replies, err}
	}()
	var duringErr error
	if opt.During != nil {
		select {
		case <-time.After(opt.StartAfter):
		case <-ctx.Done():
		}
		duringErr = opt.During(ctx)
	}
	out := <-done
	if out.err != nil {
		return Window{}, out.err
	}
	if duringErr != nil {
		return Window{}, duringErr
	}
	sendEnd := time.Now()
	w := Window{Rate: rate}
	var ackSnaps []*hdrhistogram.Snapshot
	for _, r := range out.replies {
		s := r.Send
		w.Duration = max(w.Duration, s.Elapsed)
		w.Sent += s.Sent
		w.Acked += s.Acked
		w.Unacked += s.Unacked
		w.Skipped += s.Skipped
		w.Resent += s.Resent
		w.AckDuplicates += s.AckDuplicates
		for code, n := range s.Refused {
			if w.Refused == nil {
				w.Refused = map[string]int64{}
			}
			w.Refused[code] += n
		}
		ackSnaps = append(ackSnaps, s.AckLatency)
	}
	w.AckLatency = stats.Merge(ackSnaps...)
	check, finals, err := l.settle(ctx, opt.Settle)
	if err != nil {
		return w, err
	}
	after := sampleProcs(l.procs)
	hopsAfter, err := t.scrapeHops(ctx)
	if err != nil {
		return w, err
	}
	w.Hops = hopsBetween(hopsBefore, hopsAfter)
	_, tot, err := l.finals(ctx)
	if err != nil {
		return w, err
	}
	w.Check, w.Closes = check, tot.Closes
	w.Deliveries, w.Latency = tot.Deliveries, tot.Latency
	if w.Duration > 0 {
		w.DeliveriesPerSec = float64(w.Deliveries) / w.Duration.Seconds()
	}
	w.Procs = usage(l.procs, before, after)
	var rtCPU float64
	for _, p := range w.Procs {
		if strings.HasPrefix(p.Name, "realtime") {
			rtCPU += p.CPUSeconds
		}
	}
	if w.Deliveries > 0 {
		w.RealtimeCPUPer1000 = rtCPU / (float64(w.Deliveries) / 1000)
	}
	if opt.Persist && t.DatabaseURL != "" {
		var total int64
		for _, off := range finals {
			total += int64(off)
		}
		p, err := measurePersistence(ctx, t.DatabaseURL, l.rooms, total, sendEnd, start.Add(-time.Millisecond), sendEnd.Add(time.Millisecond), 30*time.Second)
		if err != nil {
			p.Note = join(p.Note, err.Error())
		}
		p.Expected = w.Acked
		w.Persist = &p
	}
	t.logf("rate %.0f/s: sent %d acked %d, %d deliveries (%.0f/s), p50 %v p99 %v p99.9 %v, realtime %.4f CPU-s/1k, lost %d dup %d ooo %d resets %d",
		rate, w.Sent, w.Acked, w.Deliveries, w.DeliveriesPerSec, w.Latency.P50, w.Latency.P99, w.Latency.P999,
		w.RealtimeCPUPer1000, w.Check.Lost, w.Check.Duplicates, w.Check.OutOfOrder, w.Check.Resets)
	return w, nil
}

// StormOutcome is how a reconnect storm went.
type StormOutcome struct {
	Clients      int           `json:"clients"`
	Recovered    int           `json:"recovered"`
	NotRecovered int           `json:"not_recovered"`
	Failed       int           `json:"failed"`
	Errors       []string      `json:"errors,omitempty"`
	Elapsed      time.Duration `json:"elapsed_ns"`
	// RecoverLatency is storm start → replay received, per client.
	RecoverLatency stats.Summary `json:"recover_latency"`
}

// Storm drops every connection at once and reconnects them all with recovery.
func (l *Load) Storm(ctx context.Context, concurrency int, deadline time.Duration) (StormOutcome, error) {
	replies, err := l.fleet.All(ctx, func(int) worker.Command {
		return worker.Command{Op: worker.OpStorm, Storm: &worker.StormCmd{Concurrency: concurrency, Deadline: deadline}}
	})
	if err != nil {
		return StormOutcome{}, err
	}
	var o StormOutcome
	var snaps []*hdrhistogram.Snapshot
	for _, r := range replies {
		s := r.Storm
		o.Recovered += s.Recovered
		o.NotRecovered += s.NotRecovered
		o.Failed += s.Failed
		o.Errors = append(o.Errors, s.Errors...)
		o.Elapsed = max(o.Elapsed, s.Elapsed)
		snaps = append(snaps, s.RecoverLatency)
	}
	o.Clients = o.Recovered + o.NotRecovered + o.Failed
	o.RecoverLatency = stats.Merge(snaps...)
	l.t.logf("storm: %d of %d recovered in %v (p50 %v p99 %v), %d not recovered, %d failed %v",
		o.Recovered, o.Clients, o.Elapsed.Round(time.Millisecond), o.RecoverLatency.P50, o.RecoverLatency.P99, o.NotRecovered, o.Failed, o.Errors)
	return o, nil
}

// ByRate holds the windows measured at each send rate.
type ByRate map[float64][]Window

// MarshalJSON writes the rates as object keys ("5000"), which encoding/json cannot do for
// float keys by itself.
func (b ByRate) MarshalJSON() ([]byte, error) {
	m := make(map[string][]Window, len(b))
	for rate, ws := range b {
		m[strconv.FormatFloat(rate, 'g', -1, 64)] = ws
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (b *ByRate) UnmarshalJSON(data []byte) error {
	var m map[string][]Window
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	*b = make(ByRate, len(m))
	for k, ws := range m {
		rate, err := strconv.ParseFloat(k, 64)
		if err != nil {
			return fmt.Errorf("scenario: rate %q: %w", k, err)
		}
		(*b)[rate] = ws
	}
	return nil
}
