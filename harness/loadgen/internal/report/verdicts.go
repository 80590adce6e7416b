package report

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/quickchat-go/quickchat/harness/loadgen/internal/scenario"
)

// centrifugoCPUPer1000 is Centrifugo v6's realtime CPU-seconds per 1,000 deliveries on
// this machine kind at 10k, 20k and 50k deliveries/s (rooms of 10), the published anchor
// the fan-out targets halve.
var centrifugoCPUPer1000 = []float64{0.054, 0.036, 0.018}

// Verdict is one target against its measured median.
type Verdict struct {
	Scenario string `json:"scenario"`
	What     string `json:"what"`
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

// Verdicts compares the medians of b's runs with the targets of docs/benchmarks.md.
func Verdicts(b Bench) []Verdict {
	var vs []Verdict
	add := func(sc, what, target, measured string, met bool) {
		vs = append(vs, Verdict{Scenario: sc, What: what, Target: target, Measured: measured, Met: met})
	}
	if len(b.Idle) > 0 {
		per := medianOf(b.Idle, func(r scenario.IdleRun) float64 { return r.PerConn / 1024 })
		conns := medianOf(b.Idle, func(r scenario.IdleRun) float64 { return float64(r.Connect.Joined) })
		add("1", "idle connections held by one instance", fmt.Sprintf("%d", b.Sizes.IdleConns), fmt.Sprintf("%.0f", conns), conns >= float64(b.Sizes.IdleConns))
		add("1", "RSS per idle connection", "≤ 16 KiB", fmt.Sprintf("%.1f KiB", per), per <= 16)
	}
	if b.Fanout != nil && len(b.Fanout.Windows) > 0 {
		rs := rates(b.Fanout.Windows)
		for i, rate := range rs {
			ws := b.Fanout.Windows[rate]
			cpu := medianOf(ws, func(w scenario.Window) float64 { return w.RealtimeCPUPer1000 })
			if i < len(centrifugoCPUPer1000) {
				limit := centrifugoCPUPer1000[i] / 2
				add("2", fmt.Sprintf("realtime CPU-s per 1,000 deliveries at %.0f msgs/s", rate),
					fmt.Sprintf("≤ %.3f", limit), fmt.Sprintf("%.4f", cpu), cpu <= limit)
			}
		}
		top := b.Fanout.Windows[rs[len(rs)-1]]
		p99 := medianOf(top, func(w scenario.Window) float64 { return ms(w.Latency.P99) })
		p50 := medianOf(top, func(w scenario.Window) float64 { return ms(w.Latency.P50) })
		add("2", fmt.Sprintf("p99 send→deliver at %.0f msgs/s", rs[len(rs)-1]), "≤ 25 ms", fmt.Sprintf("%.1f ms", p99), p99 <= 25)
		add("2", fmt.Sprintf("p50 send→deliver at %.0f msgs/s", rs[len(rs)-1]), "≤ 5 ms", fmt.Sprintf("%.1f ms", p50), p50 <= 5)
		lag := medianOf(top, func(w scenario.Window) float64 {
			if w.Persist == nil {
				return 0
			}
			return ms(w.Persist.LagP99)
		})
		add("4", fmt.Sprintf("Kafka→PostgreSQL lag p99 at %.0f msgs/s", rs[len(rs)-1]), "≤ 1 s", fmt.Sprintf("%.0f ms", lag), lag > 0 && lag <= 1000)
		add("2", "lost / duplicated / out of order", "0 / 0 / 0", integrity(allWindows(b.Fanout)), cleanWindows(allWindows(b.Fanout)))
	}
	if b.LargeRoom != nil && len(b.LargeRoom.Windows) > 0 {
		ws := allWindows(b.LargeRoom)
		p99 := medianOf(ws, func(w scenario.Window) float64 { return ms(w.Latency.P99) })
		add("3", fmt.Sprintf("p99 send→deliver, one room of %d", b.Sizes.LargeRoomMembers), "≤ 100 ms", fmt.Sprintf("%.1f ms", p99), p99 <= 100)
		add("3", "lost / duplicated / out of order", "0 / 0 / 0", integrity(ws), cleanWindows(ws))
	}
	if b.Storm != nil {
		el := medianOf(b.Storm.Runs, func(r scenario.StormRun) float64 { return r.Storm.Elapsed.Seconds() })
		all := true
		var ws []scenario.Window
		for _, r := range b.Storm.Runs {
			all = all && r.Storm.NotRecovered == 0 && r.Storm.Failed == 0 && r.Storm.Recovered > 0
			ws = append(ws, r.Window)
		}
		add("5", fmt.Sprintf("%d clients reconnect at once, all recover", b.Sizes.StormConns), "≤ 15 s",
			fmt.Sprintf("%.1f s%s", el, map[bool]string{true: "", false: " (not all recovered)"}[all]), all && el <= 15)
		add("5", "lost / duplicated / out of order", "0 / 0 / 0", integrity(ws), cleanWindows(ws))
	}
	if b.Two != nil && len(b.Two.Windows) > 0 {
		ws := allWindows(b.Two)
		dps := medianOf(ws, func(w scenario.Window) float64 { return w.DeliveriesPerSec })
		add("6", "deliveries/s with every room split over two instances", "all delivered across instances",
			fmt.Sprintf("%.0f/s", dps), cleanWindows(ws) && dps > 0)
		add("6", "lost / duplicated / out of order", "0 / 0 / 0", integrity(ws), cleanWindows(ws))
	}
	return vs
}

func allWindows(r *FanoutResult) []scenario.Window {
	var ws []scenario.Window
	for _, rate := range rates(r.Windows) {
		ws = append(ws, r.Windows[rate]...)
	}
	return ws
}

// integrity sums what the receivers' accounts found wrong; each window's check covers the
// population since it connected, so the worst window is the total.
func integrity(ws []scenario.Window) string {
	var lost, dup, ooo, resets uint64
	for _, w := range ws {
		lost, dup, ooo, resets = max(lost, w.Check.Lost), max(dup, w.Check.Duplicates), max(ooo, w.Check.OutOfOrder), max(resets, w.Check.Resets)
	}
	s := fmt.Sprintf("%d / %d / %d", lost, dup, ooo)
	if resets > 0 {
		s += fmt.Sprintf(" (%d resets)", resets)
	}
	// cleanWindows also fails on sends that were refused or never answered; say so, or a
	// miss would show beside zeros.
	var unacked int64
	refused := map[string]int64{}
	for _, w := range ws {
		unacked += w.Unacked
		for code, n := range w.Refused {
			refused[code] += n
		}
	}
	for _, code := range slices.Sorted(maps.Keys(refused)) {
		s += fmt.Sprintf(" (%d sends refused: %s)", refused[code], code)
	}
	if unacked > 0 {
		s += fmt.Sprintf(" (%d sends unanswered)", unacked)
	}
	return s
}

func cleanWindows(ws []scenario.Window) bool {
	for _, w := range ws {
		if !scenario.Clean(w.Check) || w.Unacked > 0 || len(w.Refused) > 0 {
			return false
		}
	}
	return len(ws) > 0
}

func fmtMs(d time.Duration) string { return fmt.Sprintf("%.2f", ms(d)) }
