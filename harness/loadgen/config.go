package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Config is the load generator's configuration, read from LOADGEN_* variables. Every
// default is here.
type Config struct {
	// GatewayURL is the gateway's base URL (run mode; required there).
	GatewayURL string `envconfig:"GATEWAY_URL"`
	// RealtimeURLs are the realtime WebSocket URLs connections are spread over (run mode;
	// required there), e.g. ws://realtime:8081/ws.
	RealtimeURLs []string `envconfig:"REALTIME_URLS"`
	// RealtimeOpsURLs are the base URLs of the same instances' ops listeners, in the same
	// order, e.g. http://127.0.0.1:8091 (run mode, optional): the idle scenario reads Go's
	// heap and stack figures from the first one's /metrics, and skips them without it.
	RealtimeOpsURLs []string `envconfig:"REALTIME_OPS_URLS"`
	// DatabaseURL, when set, lets the run measure how messages reach PostgreSQL (count and,
	// with track_commit_timestamp on, storage lag).
	DatabaseURL string `envconfig:"DATABASE_URL"`
	// Pids names processes on this machine to report CPU and memory of, as name:pid pairs
	// (run mode; a name starting with "realtime" counts in CPU per delivery).
	Pids map[string]int `envconfig:"PIDS"`

	// Scenario is what run mode does: fanout (rooms of RoomSize, everyone sending at each
	// of Rates), idle (open Rooms×RoomSize connections and measure memory) or storm
	// (fanout at the first rate with a reconnect storm in each window). Default fanout.
	Scenario string `envconfig:"SCENARIO" default:"fanout"`
	// Rooms and RoomSize shape the population (default 100 rooms of 10).
	Rooms    int `envconfig:"ROOMS" default:"100"`
	RoomSize int `envconfig:"ROOM_SIZE" default:"10"`
	// Rates are the total send rates in messages per second (default 1000).
	Rates []float64 `envconfig:"RATES" default:"1000"`
	// Duration is one measurement window (default 10s); Warmup is sent first (default 2s).
	Duration time.Duration `envconfig:"DURATION" default:"10s"`
	Warmup   time.Duration `envconfig:"WARMUP" default:"2s"`
	// Runs repeats each measurement (default 1 in run mode; bench mode always runs 3).
	Runs int `envconfig:"RUNS" default:"1"`
	// BodyBytes is the size of every message body (default 100).
	BodyBytes int `envconfig:"BODY_BYTES" default:"100"`

	// ConnsPerWorker caps one worker process's connections (default 5000), so each stays
	// well under its open-file limit.
	ConnsPerWorker int `envconfig:"CONNS_PER_WORKER" default:"5000"`
	// LocalIPs is a range of source addresses connections are spread over, first-last
	// (default 127.0.0.2-127.0.0.201, for loopback targets); "none" lets the kernel choose
	// (remote targets, Kubernetes).
	LocalIPs string `envconfig:"LOCAL_IPS" default:"127.0.0.2-127.0.0.201"`
	// JoinConcurrency bounds gateway joins in flight (default 32); DialConcurrency dials
	// in flight per worker (default 64).
	JoinConcurrency int `envconfig:"JOIN_CONCURRENCY" default:"32"`
	DialConcurrency int `envconfig:"DIAL_CONCURRENCY" default:"64"`
	// JSONOut, when set, is where the results are written as JSON ("-" for stdout).
	JSONOut string `envconfig:"JSON_OUT"`

	// BenchDir holds the local system bench mode starts (default .dev/bench).
	BenchDir string `envconfig:"BENCH_DIR" default:".dev/bench"`
	// BenchDoc is the file bench mode rewrites (default docs/benchmarks.md; "" for none).
	BenchDoc string `envconfig:"BENCH_DOC" default:"docs/benchmarks.md"`
	// BenchScale shrinks the standard scenarios (default 1; e.g. 0.01 for a smoke run); a
	// scaled run takes Duration, Warmup and Runs from the settings above and does not
	// rewrite BenchDoc.
	BenchScale float64 `envconfig:"BENCH_SCALE" default:"1"`
	// BenchOnly limits bench mode to these scenarios (idle, fanout, large-room, storm,
	// two-instances, secure; default all).
	BenchOnly []string `envconfig:"BENCH_ONLY"`
	// BenchProfile, when set, saves a 10 s CPU profile of realtime-1 during the heaviest
	// window of each scenario into BenchDir/profiles.
	BenchProfile bool `envconfig:"BENCH_PROFILE" default:"false"`
}

func loadConfig() (Config, error) {
	var c Config
	if err := envconfig.Process("LOADGEN", &c); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	return c, c.Validate()
}

// Validate checks values that envconfig cannot.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, msg string) {
		if !ok {
			errs = append(errs, errors.New(msg))
		}
	}
	check(c.Rooms >= 1 && c.RoomSize >= 1, "LOADGEN_ROOMS and LOADGEN_ROOM_SIZE must be positive")
	check(len(c.Rates) > 0, "LOADGEN_RATES must list at least one rate")
	for _, r := range c.Rates {
		check(r >= 0, "LOADGEN_RATES must not be negative")
	}
	check(c.Duration > 0 && c.Warmup >= 0, "LOADGEN_DURATION must be positive and LOADGEN_WARMUP not negative")
	check(c.Runs >= 1, "LOADGEN_RUNS must be positive")
	check(c.BodyBytes >= 32 && c.BodyBytes <= 4096, "LOADGEN_BODY_BYTES must be 32..4096")
	check(c.ConnsPerWorker >= 1 && c.ConnsPerWorker <= 15000, "LOADGEN_CONNS_PER_WORKER must be 1..15000")
	check(c.JoinConcurrency >= 1 && c.DialConcurrency >= 1, "LOADGEN_JOIN_CONCURRENCY and LOADGEN_DIAL_CONCURRENCY must be positive")
	check(c.BenchScale > 0 && c.BenchScale <= 1, "LOADGEN_BENCH_SCALE must be in (0, 1]")
	switch c.Scenario {
	case "fanout", "idle", "storm":
	default:
		check(false, "LOADGEN_SCENARIO must be fanout, idle or storm")
	}
	for _, s := range c.BenchOnly {
		switch s {
		case scenarioIdle, scenarioFanout, scenarioLargeRoom, scenarioStorm, scenarioTwo, scenarioSecure:
		default:
			check(false, "LOADGEN_BENCH_ONLY: unknown scenario "+s)
		}
	}
	if _, err := parseIPRange(c.LocalIPs); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// checkRun checks what run mode needs beyond Validate.
func (c Config) checkRun() error {
	if c.GatewayURL == "" || len(c.RealtimeURLs) == 0 {
		return errors.New("config: run mode needs LOADGEN_GATEWAY_URL and LOADGEN_REALTIME_URLS")
	}
	return nil
}

// parseIPRange expands "first-last" (IPv4, same /24) into addresses; "none" or "" is
// none.
func parseIPRange(s string) ([]string, error) {
	if s == "" || s == "none" {
		return nil, nil
	}
	first, last, ok := strings.Cut(s, "-")
	if !ok {
		last = first
	}
	a, errA := netip.ParseAddr(strings.TrimSpace(first))
	b, errB := netip.ParseAddr(strings.TrimSpace(last))
	if errA != nil || errB != nil || !a.Is4() || !b.Is4() || b.Less(a) {
		return nil, fmt.Errorf("config: LOADGEN_LOCAL_IPS %q is not an IPv4 range first-last", s)
	}
	var out []string
	for ip := a; ; ip = ip.Next() {
		out = append(out, ip.String())
		if ip == b || len(out) > 65536 {
			break
		}
	}
	return out, nil
}
