package faults

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/quickchat-go/quickchat/harness/chatclient"
)

// Latency summarises a set of measured durations.
type Latency struct {
	// N is how many durations were measured.
	N int
	// P50, P99 and Max are the median, the 99th percentile (nearest rank) and the
	// largest; zero when N is 0.
	P50, P99, Max time.Duration
}

// latencyOf summarises ds (which it sorts).
func latencyOf(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	return Latency{N: len(ds), P50: percentile(ds, 0.50), P99: percentile(ds, 0.99), Max: ds[len(ds)-1]}
}

// percentile is the nearest-rank percentile p (0 < p ≤ 1) of sorted, non-empty ds.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// ratio is under/idle, NaN when either was not measured.
func ratio(idle, under Latency) float64 {
	if idle.N == 0 || under.N == 0 || idle.P99 <= 0 {
		return math.NaN()
	}
	return float64(under.P99) / float64(idle.P99)
}

// signInProbe signs one prepared account in again and again, as a user opening the app
// would, and records how long each sign-in took.
type signInProbe struct {
	mu      sync.Mutex
	samples []signInSample
}

// signInSample is one sign-in: when it started, how long it took, and its outcome
// ("ok", "refused" for a 429, or "failed" for any other error or a timeout).
type signInSample struct {
	at      time.Time
	took    time.Duration
	outcome string
}

// run signs in every interval (after the previous sign-in answered) until ctx ends.
func (p *signInProbe) run(ctx context.Context, api *chatclient.API, email, password string, interval time.Duration) {
	for ctx.Err() == nil {
		start := time.Now()
		_, err := api.Login(ctx, email, password)
		took := time.Since(start)
		if ctx.Err() != nil {
			return // cut short by the end of the run, not an answer
		}
		outcome := "ok"
		var ae *chatclient.APIError
		switch {
		case errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests:
			outcome = "refused"
		case err != nil:
			outcome = "failed"
		}
		p.mu.Lock()
		p.samples = append(p.samples, signInSample{at: start, took: took, outcome: outcome})
		p.mu.Unlock()
		sleep(ctx, interval)
	}
}

// window summarises the sign-ins started in [from, to): the latency of those that
// succeeded and how many were refused or failed.
func (p *signInProbe) window(from, to time.Time) (lat Latency, refused, failed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ds []time.Duration
	for _, s := range p.samples {
		if s.at.Before(from) || !s.at.Before(to) {
			continue
		}
		switch s.outcome {
		case "ok":
			ds = append(ds, s.took)
		case "refused":
			refused++
		default:
			failed++
		}
	}
	return latencyOf(ds), refused, failed
}

// tally counts named outcomes from many goroutines.
type tally struct {
	mu sync.Mutex
	n  map[string]int64
}

func newTally() *tally { return &tally{n: map[string]int64{}} }

func (t *tally) add(name string, d int64) {
	t.mu.Lock()
	t.n[name] += d
	t.mu.Unlock()
}

func (t *tally) get(name string) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n[name]
}

// snapshot copies the counts.
func (t *tally) snapshot() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int64, len(t.n))
	for k, v := range t.n {
		out[k] = v
	}
	return out
}

// withPrefix lists "count suffix" for every name starting with prefix, most frequent
// first, e.g. "12 rate_limited, 3 timeout" for the prefix "error ".
func (t *tally) withPrefix(prefix string) string {
	t.mu.Lock()
	m := map[string]int{}
	for k, v := range t.n {
		if rest, ok := strings.CutPrefix(k, prefix); ok && v > 0 {
			m[rest] = int(v)
		}
	}
	t.mu.Unlock()
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, c := range sortedCodes(m) {
		parts = append(parts, fmt.Sprintf("%d %s", m[c], c))
	}
	return strings.Join(parts, ", ")
}

// loadAverage reads the machine's 1, 5 and 15-minute load averages ("?" where the
// system does not say).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// addresses hands out loopback source addresses (127.0.10.1, 127.0.10.2, …), so every
// client of the abuse section is its own address for per-address limits: the attackers
// cannot exhaust a limit the well-behaved clients share, nor the other way round.
type addresses struct {
	mu   sync.Mutex
	next int
}

func (a *addresses) take() net.IP {
	a.mu.Lock()
	n := a.next
	a.next++
	a.mu.Unlock()
	return net.IPv4(127, 0, byte(10+n/250), byte(1+n%250))
}

// apiFrom is a gateway client whose requests come from ip.
func apiFrom(baseURL string, ip net.IP) *chatclient.API {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	return &chatclient.API{BaseURL: baseURL, HTTP: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 16},
	}}
}

// sortedKeys lists a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
