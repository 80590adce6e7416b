// Command gateway serves Quick Chat's HTTP API: accounts, groups with passcodes,
// membership, message history, the web UI, and the JWKS that realtime trusts.
//
// Usage: gateway          run the server (configured from GATEWAY_* variables)
//
//	gateway migrate  apply database migrations and exit
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
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(2)
	}
	if len(os.Args) > 1 && os.Args[1] == "migrate" {
		err = migrate(ctx, cfg)
	} else {
		err = run(ctx, cfg, nil)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}
