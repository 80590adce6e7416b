// Command realtime is Quick Chat's stateless WebSocket service: clients join rooms with
// member tokens from the gateway, messages are made durable in Kafka and fanned out to
// every instance over Redis streams.
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
		fmt.Fprintln(os.Stderr, "realtime:", err)
		os.Exit(2)
	}
	if err := run(ctx, cfg, nil); err != nil {
		fmt.Fprintln(os.Stderr, "realtime:", err)
		os.Exit(1)
	}
}
