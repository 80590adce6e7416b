package report

import (
	"fmt"
	"io"
	"time"

	"github.com/quickchat-go/quickchat/harness/loadgen/internal/scenario"
)

// Bench is everything one `make bench` measured.
type Bench struct {
	Started time.Time          `json:"started"`
	Elapsed time.Duration      `json:"elapsed_ns"`
	Machine Machine            `json:"machine"`
	Sizes   scenario.Sizes     `json:"sizes"`
	Scale   float64            `json:"scale"`
	Env     []string           `json:"env"`
	Idle    []scenario.IdleRun `json:"idle,omitempty"`
	// Fanout is scenario 2 (and 4: its windows carry the persistence figures).
	Fanout    *FanoutResult `json:"fanout,omitempty"`
	LargeRoom *FanoutResult `json:"large_room,omitempty"`
	Storm     *StormResult  `json:"storm,omitempty"`
	Two       *FanoutResult `json:"two_instances,omitempty"`
	// Secure is scenario 2 at one rate on the secured cluster stack (7).
	Secure *FanoutResult `json:"secure,omitempty"`
}

// FanoutResult is a connected population measured at one or more rates.
type FanoutResult struct {
	Connect scenario.ConnectSummary `json:"connect"`
	Windows scenario.ByRate         `json:"windows"`
}

// StormResult is scenario 5.
type StormResult struct {
	Connect scenario.ConnectSummary `json:"connect"`
	Runs    []scenario.StormRun     `json:"runs"`
}

// WriteBench prints every scenario as tables.
func WriteBench(w io.Writer, b Bench) {
	fmt.Fprintf(w, "\nQuick Chat benchmark, %s, %d cores, %v\n", b.Machine.CPU, b.Machine.Cores, b.Elapsed.Round(time.Second))
	if len(b.Idle) > 0 {
		fmt.Fprintln(w, "\n1. idle capacity")
		writeIdle(w, b.Idle)
	}
	for _, s := range []struct {
		title string
		r     *FanoutResult
	}{{"2. fan-out, rooms of 10 (4. persistence)", b.Fanout}, {"3. large room", b.LargeRoom}, {"6. two instances", b.Two}} {
		if s.r == nil {
			continue
		}
		fmt.Fprintf(w, "\n%s\n", s.title)
		writeConnect(w, s.r.Connect)
		writeWindows(w, s.r.Windows)
	}
	if b.Storm != nil {
		fmt.Fprintln(w, "\n5. reconnect storm")
		writeConnect(w, b.Storm.Connect)
		writeStorms(w, b.Storm.Runs)
	}
	fmt.Fprintln(w)
	for _, v := range Verdicts(b) {
		mark := "MISS"
		if v.Met {
			mark = "ok"
		}
		fmt.Fprintf(w, "%-4s  %-58s  target %-22s measured %s\n", mark, v.What, v.Target, v.Measured)
	}
}
