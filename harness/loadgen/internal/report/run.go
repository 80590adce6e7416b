package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quickchat-go/quickchat/harness/loadgen/internal/scenario"
)

// Run is the outcome of one run-mode scenario.
type Run struct {
	Scenario string                  `json:"scenario"`
	Connect  scenario.ConnectSummary `json:"connect"`
	Windows  scenario.ByRate         `json:"windows,omitempty"`
	Idle     []scenario.IdleRun      `json:"idle,omitempty"`
	Storms   []scenario.StormRun     `json:"storms,omitempty"`
}

// WriteRun prints a run as tables.
func WriteRun(w io.Writer, r Run) {
	fmt.Fprintf(w, "\nscenario %s\n", r.Scenario)
	if r.Connect.Conns > 0 {
		writeConnect(w, r.Connect)
	}
	if len(r.Idle) > 0 {
		writeIdle(w, r.Idle)
	}
	if len(r.Windows) > 0 {
		writeWindows(w, r.Windows)
	}
	if len(r.Storms) > 0 {
		writeStorms(w, r.Storms)
	}
}

func writeConnect(w io.Writer, c scenario.ConnectSummary) {
	fmt.Fprintf(w, "connections: %d of %d joined from %d workers in %v (%.0f/s), join p50 %v p99 %v\n",
		c.Joined, c.Conns, c.Workers, c.Elapsed.Round(time.Millisecond), c.PerSecond, c.JoinLatency.P50, c.JoinLatency.P99)
}

func writeIdle(w io.Writer, runs []scenario.IdleRun) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tconnections\tjoin/s\tRSS before MiB\tRSS after MiB\tKiB/conn\theap KiB/conn\tstack KiB/conn\tgoroutines/conn\t")
	for i, r := range runs {
		fmt.Fprintf(tw, "%d\t%d\t%.0f\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.2f\t\n", i+1, r.Connect.Joined, r.Connect.PerSecond,
			r.BaselineRSS>>20, r.LoadedRSS>>20, r.PerConn/1024, r.HeapPerConn/1024, r.StackPerConn/1024, r.GoroutinesPerConn)
	}
	tw.Flush()
}

func rates(m scenario.ByRate) []float64 {
	var rs []float64
	for r := range m {
		rs = append(rs, r)
	}
	sort.Float64s(rs)
	return rs
}

func writeWindows(w io.Writer, byRate scenario.ByRate) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "msgs/s\trun\tsent\tacked\tdeliveries/s\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tlost\tdup\tooo\trealtime CPU-s/1k\tPG lag p99 ms\tall in PG after ms\t")
	for _, rate := range rates(byRate) {
		for i, x := range byRate[rate] {
			lag, stored := "-", "-"
			if x.Persist != nil {
				lag = fmt.Sprintf("%.0f", ms(x.Persist.LagP99))
				stored = fmt.Sprintf("%.0f", ms(x.Persist.AllStoredAfter))
			}
			fmt.Fprintf(tw, "%.0f\t%d\t%d\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%d\t%d\t%.4f\t%s\t%s\t\n",
				rate, i+1, x.Sent, x.Acked, x.DeliveriesPerSec, ms(x.Latency.P50), ms(x.Latency.P90), ms(x.Latency.P99), ms(x.Latency.P999),
				x.Check.Lost, x.Check.Duplicates, x.Check.OutOfOrder, x.RealtimeCPUPer1000, lag, stored)
		}
	}
	tw.Flush()
	if len(byRate) == 0 {
		return
	}
	last := byRate[rates(byRate)[len(byRate)-1]]
	if len(last) > 0 {
		writeProcs(w, last[len(last)-1].Procs)
	}
}

func writeProcs(w io.Writer, procs []scenario.ProcUsage) {
	if len(procs) == 0 {
		return
	}
	var parts []string
	for _, p := range procs {
		parts = append(parts, fmt.Sprintf("%s %.0f%% CPU %d MiB", p.Name, p.CPUPercent, p.RSS>>20))
	}
	fmt.Fprintln(w, "processes (last window): "+strings.Join(parts, ", "))
}

func writeStorms(w io.Writer, runs []scenario.StormRun) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tclients\trecovered\tnot recovered\tfailed\tall recovered after s\tp50 s\tp99 s\tlost\tdup\tooo\tresent\t")
	for i, r := range runs {
		s := r.Storm
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%.2f\t%.2f\t%.2f\t%d\t%d\t%d\t%d\t\n", i+1, s.Clients, s.Recovered, s.NotRecovered, s.Failed,
			s.Elapsed.Seconds(), s.RecoverLatency.P50.Seconds(), s.RecoverLatency.P99.Seconds(),
			r.Window.Check.Lost, r.Window.Check.Duplicates, r.Window.Check.OutOfOrder, r.Window.Resent)
	}
	tw.Flush()
}
