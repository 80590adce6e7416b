package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/quickchat-go/quickchat/harness/devstack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  devstack up  [-dir .dev/stack] [-env-file path] [-reset] [-exit-with-parent]
               start PostgreSQL, Redis, Kafka and the S3 server (for tests)
  devstack up -secure [-dir .dev/secure-stack] [-env-file path] [-reset] [-exit-with-parent]
               start instead a 3-node SASL_SSL Kafka cluster, a plain and a TLS + ACL
               Redis Cluster (3 masters, 3 replicas) and a TLS-only PostgreSQL
  devstack dev [-dir .dev/run] [-gateway-port 8080] [-realtime-ports 8081,8083] [-persisters 1]
               [-exit-with-parent]
               start them plus the gateway, realtime instances and persisters (make dev)`

// run executes one devstack command until it is done or ctx is cancelled.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "dev" {
		return runDev(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "up" {
		fmt.Fprintln(stderr, usage)
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("devstack up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".dev/stack", "directory for the servers' data and logs")
	envFile := fs.String("env-file", "", "where to write the connection settings (default <dir>/env)")
	reset := fs.Bool("reset", false, "delete the servers' data under -dir before starting")
	exitWithParent := fs.Bool("exit-with-parent", false, "shut down when the parent process exits")
	secure := fs.Bool("secure", false, "start the secured, clustered stack instead (default -dir .dev/secure-stack)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *secure && !flagSet(fs, "dir") {
		*dir = ".dev/secure-stack"
	}
	if *envFile == "" {
		*envFile = filepath.Join(*dir, "env")
	}
	if *exitWithParent {
		if err := exitWhenParentDies(); err != nil {
			return err
		}
	}
	cfg := upConfig{dir: *dir, envFile: *envFile, reset: *reset}
	if *secure {
		return upSecure(ctx, cfg, stdout)
	}
	return up(ctx, cfg, stdout)
}

// flagSet reports whether the command line set the flag called name.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

type upConfig struct {
	dir, envFile string
	reset        bool
}

// up starts the stack, publishes its settings and waits for ctx to end.
func up(ctx context.Context, cfg upConfig, stdout io.Writer) error {
	// A stale file from an earlier run must not look like "ready".
	if err := os.Remove(cfg.envFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale env file: %w", err)
	}
	if cfg.reset {
		for _, name := range []string{"postgres", "redis", "kafka", "s3"} {
			if err := os.RemoveAll(filepath.Join(cfg.dir, name)); err != nil {
				return fmt.Errorf("reset: %w", err)
			}
		}
	}
	start := time.Now()
	stack, err := devstack.StartStack(ctx, devstack.StackConfig{Dir: cfg.dir})
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer func() { _ = os.Remove(cfg.envFile) }()
	env := stack.Env()
	if err := writeEnvFile(cfg.envFile, env); err != nil {
		return errors.Join(err, stack.Close())
	}
	fmt.Fprintf(stdout, "devstack: ready in %v (Kafka %s); settings in %s\n",
		time.Since(start).Round(time.Millisecond), stack.Kafka.Version(), cfg.envFile)
	for _, kv := range env {
		fmt.Fprintln(stdout, kv)
	}
	fmt.Fprintf(stdout, "devstack: logs %s %s %s %s\n", stack.Postgres.LogPath(), stack.Redis.LogPath(), stack.Kafka.LogPath(), stack.S3.LogPath())

	<-ctx.Done()
	fmt.Fprintln(stdout, "devstack: stopping")
	if err := stack.Close(); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	fmt.Fprintln(stdout, "devstack: stopped")
	return nil
}

// writeEnvFile writes env (KEY=value pairs) as `export KEY='value'` lines, atomically.
func writeEnvFile(path string, env []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by devstack up (pid %d); removed when it stops.\n", os.Getpid())
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, "export %s='%s'\n", k, strings.ReplaceAll(v, "'", `'\''`))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("env file: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("env file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("env file: %w", err)
	}
	return nil
}

// exitWhenParentDies asks the kernel to send SIGTERM (handled like ^C) when the parent
// exits.
func exitWhenParentDies() error {
	parent := os.Getppid()
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0); errno != 0 {
		return fmt.Errorf("set parent-death signal: %w", errno)
	}
	// The parent may have died before the call.
	if os.Getppid() != parent {
		return errors.New("parent already exited")
	}
	return nil
}
