// Command gateway serves Quick Chat's HTTP API: accounts, groups with passcodes,
// membership, message history, the web UI, and the JWKS that realtime trusts.
//
// Usage: gateway          run the server (configured from GATEWAY_* variables)
//
//	gateway migrate         apply database migrations and exit
//	gateway keygen [FILE]   write a fresh signing key to FILE (default
//	                        GATEWAY_SIGNING_KEY_FILE, else stdout) unless it exists
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kelseyhightower/envconfig"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// keygen needs no database or other configuration: it runs before the server's
	// configuration is loaded and checked.
	if len(os.Args) > 1 && os.Args[1] == "keygen" {
		var kc keygenConfig
		err := envconfig.Process("GATEWAY", &kc)
		if err == nil {
			err = keygen(os.Args[2:], kc.SigningKeyFile, os.Stdout, os.Stderr)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "gateway:", err)
			os.Exit(1)
		}
		return
	}
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
