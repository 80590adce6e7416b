package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"

	"github.com/quickchat-go/quickchat/harness/loadgen/internal/worker"
)

// workerMain runs one worker process (started by the driver's fleet) and returns its
// exit code.
func workerMain(index string) int {
	id, err := strconv.Atoi(index)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen worker: bad index", index)
		return 2
	}
	// The driver ends workers by closing stdin; a terminal's Ctrl-C reaches the whole
	// process group and the driver cleans up.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := raiseFileLimit(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen worker:", err)
	}
	// A worker allocates little that lives long; collecting less often leaves more CPU
	// to the servers under test on the same machine.
	debug.SetGCPercent(400)
	if err := worker.New(id).Serve(ctx, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen worker:", err)
		return 1
	}
	return 0
}

// raiseFileLimit lifts the soft open-file limit to the hard one; processes started
// afterwards (workers, and in bench mode the services) inherit it.
func raiseFileLimit() error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return fmt.Errorf("read open-file limit: %w", err)
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return fmt.Errorf("raise open-file limit: %w", err)
		}
	}
	return nil
}
