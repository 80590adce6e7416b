package scenario

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// hopMetric is realtime's per-hop histogram (see docs/operations.md).
const hopMetric = "realtime_hop_seconds_bucket"

// HopOrder lists realtime's hops in the order a message takes them.
var HopOrder = []string{"reserve", "produce", "publish", "stream", "dispatch", "write"}

// HopLatency is one hop's latency over a window, from realtime's own histograms (summed
// over instances), interpolated within buckets as Prometheus' histogram_quantile does.
type HopLatency struct {
	Hop   string        `json:"hop"`
	Count uint64        `json:"count"`
	P50   time.Duration `json:"p50_ns"`
	P99   time.Duration `json:"p99_ns"`
}

// hopBuckets holds cumulative bucket counts by hop and upper bound.
type hopBuckets map[string]map[float64]float64

// scrapeHops reads the hop histograms of every running realtime instance, summed. A
// target without ops URLs has none to read, and an instance that refuses connections is
// not running (scenarios start the second one only when they use it).
func (t *Target) scrapeHops(ctx context.Context) (hopBuckets, error) {
	out := hopBuckets{}
	for _, base := range t.RealtimeOpsURLs {
		err := readHops(ctx, strings.TrimSuffix(base, "/")+"/metrics", out)
		if err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, err
		}
	}
	return out, nil
}

func readHops(ctx context.Context, url string, into hopBuckets) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("scenario: scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		hop, le, n, ok := parseHopLine(sc.Text())
		if !ok {
			continue
		}
		if into[hop] == nil {
			into[hop] = map[float64]float64{}
		}
		into[hop][le] += n
	}
	return sc.Err()
}

// parseHopLine reads `realtime_hop_seconds_bucket{hop="x",le="0.001"} 12`.
func parseHopLine(line string) (hop string, le, n float64, ok bool) {
	rest, found := strings.CutPrefix(line, hopMetric+"{")
	if !found {
		return "", 0, 0, false
	}
	labels, value, found := strings.Cut(rest, "} ")
	if !found {
		return "", 0, 0, false
	}
	leText := ""
	for _, kv := range strings.Split(labels, ",") {
		k, v, _ := strings.Cut(kv, "=")
		v = strings.Trim(v, `"`)
		switch k {
		case "hop":
			hop = v
		case "le":
			leText = v
		}
	}
	if leText == "+Inf" {
		le = math.Inf(1)
	} else if f, err := strconv.ParseFloat(leText, 64); err == nil {
		le = f
	} else {
		return "", 0, 0, false
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
	if err != nil || hop == "" {
		return "", 0, 0, false
	}
	return hop, le, n, true
}

// hopsBetween is each hop's latency from the observations made between two scrapes, in
// HopOrder (hops with no observation are left out).
func hopsBetween(before, after hopBuckets) []HopLatency {
	var out []HopLatency
	for _, hop := range HopOrder {
		var bounds []float64
		counts := map[float64]float64{}
		for le, n := range after[hop] {
			bounds = append(bounds, le)
			counts[le] = n - before[hop][le]
		}
		slices.Sort(bounds)
		total := counts[math.Inf(1)]
		if total <= 0 {
			continue
		}
		out = append(out, HopLatency{Hop: hop, Count: uint64(total),
			P50: bucketQuantile(0.5, bounds, counts), P99: bucketQuantile(0.99, bounds, counts)})
	}
	return out
}

// bucketQuantile interpolates linearly within the bucket the quantile falls in; a
// quantile in the +Inf bucket is reported as the highest finite bound.
func bucketQuantile(q float64, bounds []float64, cumulative map[float64]float64) time.Duration {
	total := cumulative[math.Inf(1)]
	rank := q * total
	lower, below := 0.0, 0.0
	for _, le := range bounds {
		c := cumulative[le]
		if c >= rank {
			if math.IsInf(le, 1) {
				return seconds(lower)
			}
			if c == below {
				return seconds(le)
			}
			return seconds(lower + (le-lower)*(rank-below)/(c-below))
		}
		lower, below = le, c
	}
	return seconds(lower)
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
