// Command persister stores every chat message from Kafka in PostgreSQL, in batches, exactly
// once, committing Kafka offsets only after the rows are committed. It applies message
// deletions from the same stream the same way, in order and once each; a deletion consumed
// before its message is recorded, and the message is stored already deleted.
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
