// Command loadgen is Quick Chat's load generator. It signs up or joins as many members as
// asked through the gateway, opens their WebSocket connections from several worker
// processes (each under the open-file limit, spread over 127.0.0.x source addresses),
// sends ~100-byte messages at a fixed rate and reports send→deliver latency, deliveries
// per second, lost, duplicated and out-of-order messages, time to PostgreSQL, and each
// service process's CPU and memory.
//
//	loadgen run     one scenario against a running deployment (LOADGEN_* settings)
//	loadgen bench   the standard scenarios on a local system; rewrites docs/benchmarks.md
//	loadgen worker  (internal) one worker process, driven over stdin/stdout
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) >= 3 && os.Args[1] == "worker" {
		os.Exit(workerMain(os.Args[2]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	mode := "run"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	cfg, err := loadConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	switch mode {
	case "run":
		err = run(ctx, cfg)
	case "bench":
		err = bench(ctx, cfg)
	default:
		fmt.Fprintf(os.Stderr, "loadgen: unknown mode %q (run, bench)\n", mode)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}
