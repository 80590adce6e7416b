package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/quickchat-go/quickchat/harness/devstack"
)

// secureDirs are the directories under -dir that `up -secure -reset` deletes.
var secureDirs = []string{"tls", "kafka-cluster", "redis-cluster", "redis-cluster-tls", "postgres-tls"}

// upSecure starts the secured, clustered stack, publishes its settings and waits for ctx
// to end.
func upSecure(ctx context.Context, cfg upConfig, stdout io.Writer) error {
	// A stale file from an earlier run must not look like "ready".
	if err := os.Remove(cfg.envFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale env file: %w", err)
	}
	if cfg.reset {
		for _, name := range secureDirs {
			if err := os.RemoveAll(filepath.Join(cfg.dir, name)); err != nil {
				return fmt.Errorf("reset: %w", err)
			}
		}
	}
	start := time.Now()
	stack, err := devstack.StartSecureStack(ctx, devstack.SecureStackConfig{Dir: cfg.dir})
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer func() { _ = os.Remove(cfg.envFile) }()
	env := stack.Env()
	if err := writeEnvFile(cfg.envFile, env); err != nil {
		return errors.Join(err, stack.Close())
	}
	fmt.Fprintf(stdout, "devstack: secure stack ready in %v (Kafka %s, %d nodes); settings in %s\n",
		time.Since(start).Round(time.Millisecond), stack.Kafka.Version(), len(stack.Kafka.Nodes()), cfg.envFile)
	for _, kv := range env {
		fmt.Fprintln(stdout, kv)
	}
	fmt.Fprintf(stdout, "devstack: logs under %s, %s, %s; PostgreSQL %s\n",
		stack.Kafka.Dir(), stack.Redis.Dir(), stack.SecureRedis.Dir(), stack.Postgres.LogPath())

	<-ctx.Done()
	fmt.Fprintln(stdout, "devstack: stopping")
	if err := stack.Close(); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	fmt.Fprintln(stdout, "devstack: stopped")
	return nil
}
