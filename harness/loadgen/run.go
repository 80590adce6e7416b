package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/quickchat-go/quickchat/harness/loadgen/internal/fleet"
	"github.com/quickchat-go/quickchat/harness/loadgen/internal/report"
	"github.com/quickchat-go/quickchat/harness/loadgen/internal/scenario"
)

// run is run mode: one scenario against a deployment that is already running.
func run(ctx context.Context, cfg Config) error {
	if err := cfg.checkRun(); err != nil {
		return err
	}
	if err := raiseFileLimit(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
	}
	t, err := newTarget(cfg, os.Stderr)
	if err != nil {
		return err
	}
	t.GatewayURL, t.RealtimeURLs, t.DatabaseURL = cfg.GatewayURL, cfg.RealtimeURLs, cfg.DatabaseURL
	t.RealtimeOpsURLs = cfg.RealtimeOpsURLs
	names := make([]string, 0, len(cfg.Pids))
	for name := range cfg.Pids {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		pid := cfg.Pids[name]
		t.Procs = append(t.Procs, scenario.Proc{Name: name, Pid: func() int { return pid }})
	}

	res := report.Run{Scenario: cfg.Scenario}
	switch cfg.Scenario {
	case "idle":
		for i := 0; i < cfg.Runs; i++ {
			r, err := scenario.Idle(ctx, t, cfg.Rooms*cfg.RoomSize, cfg.RoomSize)
			if err != nil {
				return err
			}
			res.Idle = append(res.Idle, r)
		}
	case "storm":
		res.Connect, res.Storms, err = scenario.Storm(ctx, t, cfg.Rooms*cfg.RoomSize, cfg.RoomSize, cfg.Rates[0], cfg.Runs, cfg.Duration, cfg.Warmup)
	default:
		res.Connect, res.Windows, err = scenario.Fanout(ctx, t, "fanout", cfg.Rooms, cfg.RoomSize, cfg.Rates, cfg.Runs, cfg.Duration, cfg.Warmup, false)
	}
	if err != nil {
		return err
	}
	report.WriteRun(os.Stdout, res)
	return writeJSON(cfg.JSONOut, res)
}

// newTarget builds the parts of a Target every mode shares.
func newTarget(cfg Config, log io.Writer) (*scenario.Target, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable for workers: %w", err)
	}
	ips, err := parseIPRange(cfg.LocalIPs)
	if err != nil {
		return nil, err
	}
	return &scenario.Target{
		Workers:        fleet.Config{Exe: exe, Args: []string{"worker"}, Stderr: os.Stderr},
		ConnsPerWorker: cfg.ConnsPerWorker, LocalIPs: ips,
		JoinConcurrency: cfg.JoinConcurrency, DialConcurrency: cfg.DialConcurrency,
		BodyBytes: cfg.BodyBytes, Log: log,
	}, nil
}

func writeJSON(path string, v any) error {
	if path == "" {
		return nil
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if path == "-" {
		_, err = os.Stdout.Write(append(data, '\n'))
		return err
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}
