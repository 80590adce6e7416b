package scenario

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/quickchat-go/quickchat/harness/loadgen/internal/procstat"
)

// Proc is a process whose CPU and memory a report shows.
type Proc struct {
	Name string
	// Pid returns the current process id (a restarted service gets a new one); 0 means
	// not running.
	Pid func() int
	// Tree counts the process's children too (PostgreSQL's backends).
	Tree bool
}

// ProcUsage is what one process consumed during a window.
type ProcUsage struct {
	Name string `json:"name"`
	// CPUSeconds is CPU time used in the window; CPUPercent that per wall second (100 = one
	// core busy).
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUPercent float64 `json:"cpu_percent"`
	// RSS is resident memory at the end of the window, in bytes.
	RSS int64 `json:"rss_bytes"`
}

type procSample struct {
	at      time.Time
	samples map[string]procstat.Sample
}

func sampleProcs(procs []Proc) procSample {
	s := procSample{at: time.Now(), samples: map[string]procstat.Sample{}}
	for _, p := range procs {
		pid := p.Pid()
		if pid <= 0 {
			continue
		}
		read := procstat.Read
		if p.Tree {
			read = procstat.ReadTree
		}
		if v, err := read(pid); err == nil {
			s.samples[p.Name] = v
		}
	}
	return s
}

// usage is what each process used between two samples, in the order of procs.
func usage(procs []Proc, from, to procSample) []ProcUsage {
	wall := to.at.Sub(from.at).Seconds()
	var out []ProcUsage
	for _, p := range procs {
		a, okA := from.samples[p.Name]
		b, okB := to.samples[p.Name]
		if !okA || !okB {
			continue
		}
		cpu := (b.CPU - a.CPU).Seconds()
		out = append(out, ProcUsage{Name: p.Name, CPUSeconds: cpu, CPUPercent: 100 * cpu / wall, RSS: b.RSS})
	}
	return out
}

// scrapeGauges reads the named metrics (without labels) from a Prometheus text endpoint.
func scrapeGauges(ctx context.Context, url string, names ...string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scenario: scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || !want[name] {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}

// scrapeRealtime reads the named metrics from realtime instance i's /metrics, on its ops
// listener (the public WebSocket port serves no metrics).
func (t *Target) scrapeRealtime(ctx context.Context, i int, names ...string) (map[string]float64, error) {
	if i >= len(t.RealtimeOpsURLs) {
		return nil, fmt.Errorf("scenario: no ops URL for realtime instance %d", i+1)
	}
	return scrapeGauges(ctx, strings.TrimSuffix(t.RealtimeOpsURLs[i], "/")+"/metrics", names...)
}
