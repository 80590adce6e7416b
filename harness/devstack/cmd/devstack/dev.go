package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/quickchat-go/quickchat/harness/devstack"
)

// runDev starts the whole system for local use and keeps it up until ctx ends.
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devstack dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".dev/run", "directory for data, logs and binaries")
	gatewayPort := fs.Int("gateway-port", 8080, "gateway HTTP port (0 = any free port)")
	realtimePorts := fs.String("realtime-ports", "8081,8083", "comma-separated realtime ports, one per instance")
	persisters := fs.Int("persisters", 1, "number of persister instances")
	exitWithParent := fs.Bool("exit-with-parent", false, "shut everything down when the parent process exits")
	secure := fs.Bool("secure", false, "run on the secured, clustered stack: 3 SASL_SSL Kafka brokers, a TLS + ACL Redis Cluster, TLS PostgreSQL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *exitWithParent {
		if err := exitWhenParentDies(); err != nil {
			return err
		}
	}
	var ports []int
	for _, p := range strings.Split(*realtimePorts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("-realtime-ports: %q is not a port", p)
		}
		ports = append(ports, n)
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	start := time.Now()
	if *secure {
		fmt.Fprintln(stdout, "quickchat: building services and starting the secured stack (Kafka cluster, Redis Cluster, PostgreSQL over TLS) ...")
	} else {
		fmt.Fprintln(stdout, "quickchat: building services and starting PostgreSQL, Redis, Kafka and S3 ...")
	}
	cfg := devstack.SystemConfig{
		Dir: abs, GatewayPort: *gatewayPort, RealtimePorts: ports,
		Realtimes: len(ports), Persisters: *persisters,
		Env: []string{"GATEWAY_LOG_FORMAT=console", "REALTIME_LOG_FORMAT=console", "PERSISTER_LOG_FORMAT=console"},
		// A dev broker runs for hours: worth the optimizing compiler's slower start.
		Kafka: devstack.KafkaConfig{JavaOptions: devstack.ServingKafkaJavaOptions},
	}
	if *secure {
		st, err := devstack.StartSecureStack(ctx, devstack.SecureStackConfig{Dir: filepath.Join(abs, "secure-stack"),
			Kafka: devstack.KafkaClusterConfig{JavaOptions: devstack.ServingKafkaJavaOptions}})
		if err != nil {
			return fmt.Errorf("start the secured stack: %w", err)
		}
		defer st.Close()
		cfg.DatabaseURL, cfg.RedisAddr, cfg.KafkaBrokers = st.Postgres.URL(), st.SecureRedis.Addrs()[0], st.Kafka.Brokers()
		cfg.Env = append(cfg.Env, st.ServiceEnv()...)
		fmt.Fprintf(stdout, "quickchat: secured stack up: Kafka %s (SASL_SSL), Redis Cluster %s (TLS + ACL), CA %s\n",
			strings.Join(st.Kafka.Brokers(), ","), strings.Join(st.SecureRedis.Addrs(), ","), st.CA.CAFile())
	}
	sys, err := devstack.StartSystem(ctx, cfg)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	fmt.Fprintf(stdout, "\nquickchat: up in %v\n", time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "  web UI and API   %s\n", sys.GatewayURL)
	for i, u := range sys.RealtimeURLs {
		fmt.Fprintf(stdout, "  realtime %d       %s\n", i+1, u)
	}
	// Probes, metrics and profiles are on each service's ops port, never the public one.
	fmt.Fprintln(stdout, "  ops endpoints (/healthz, /readyz, /metrics):")
	for _, svc := range sys.Services() {
		fmt.Fprintf(stdout, "    %-14s %s\n", svc.Name(), svc.OpsURL())
	}
	fmt.Fprintf(stdout, "  PostgreSQL       %s\n", sys.DatabaseURL)
	if sys.Stack != nil {
		fmt.Fprintf(stdout, "  Redis            %s\n", sys.Stack.Redis.Addr())
		fmt.Fprintf(stdout, "  Kafka (%s)    %s\n", sys.Stack.Kafka.Version(), strings.Join(sys.Stack.Kafka.Brokers(), ","))
		fmt.Fprintf(stdout, "  S3 (SeaweedFS)   %s bucket %s\n", sys.Stack.S3.Endpoint(), sys.Stack.S3.Bucket())
	}
	fmt.Fprintf(stdout, "  logs             %s\n", filepath.Join(abs, "logs"))
	fmt.Fprintln(stdout, "Press Ctrl-C to stop everything.")

	<-ctx.Done()
	fmt.Fprintln(stdout, "quickchat: stopping ...")
	stopCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := sys.Close(stopCtx); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	fmt.Fprintln(stdout, "quickchat: stopped")
	return nil
}
