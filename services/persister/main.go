// Command persister stores every chat message from Kafka in PostgreSQL, in batches, exactly
// once, committing Kafka offsets only after the rows are committed.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := loadConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "persister:", err)
		os.Exit(2)
	}
	if err := run(ctx, cfg, nil); err != nil {
		fmt.Fprintln(os.Stderr, "persister:", err)
		os.Exit(1)
	}
}
