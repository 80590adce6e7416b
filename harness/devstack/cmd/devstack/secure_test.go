package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"

	"github.com/quickchat-go/quickchat/harness/devstack"
)

func TestUpSecurePublishesTheSecuredStackAndStopsIt(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	dir := testDir(t)
	envFile := filepath.Join(dir, "secure.env")
	logPath := filepath.Join(dir, "devstack.out")
	cmd := exec.Command(os.Args[0], "up", "-secure", "-dir", filepath.Join(dir, "stack"), "-env-file", envFile)
	cmd.Env = append(os.Environ(), "DEVSTACK_TEST_RUN_MAIN=1")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		for _, p := range processIDsMentioning(t, dir) {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	})

	env := waitForEnvFile(t, envFile, exited, logPath)
	t.Logf("secure stack ready after %v", time.Since(start))
	for _, k := range []string{
		devstack.EnvSecureKafkaBrokers, devstack.EnvSecureKafkaCAFile, devstack.EnvSecureKafkaSASLMechanism,
		devstack.EnvSecureKafkaUsername, devstack.EnvSecureKafkaPassword,
		devstack.EnvSecureRedisAddrs, devstack.EnvSecureRedisCAFile, devstack.EnvSecureRedisUsername, devstack.EnvSecureRedisPassword,
		devstack.EnvClusterRedisAddrs, devstack.EnvSecurePostgresURL, devstack.EnvSecurePostgresCAFile,
	} {
		if env[k] == "" {
			t.Errorf("env file lacks %s", k)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if n := len(strings.Split(env[devstack.EnvSecureKafkaBrokers], ",")); n != 3 {
		t.Errorf("%d Kafka brokers, want 3", n)
	}
	for _, k := range []string{devstack.EnvSecureRedisAddrs, devstack.EnvClusterRedisAddrs} {
		if n := len(strings.Split(env[k], ",")); n != 6 {
			t.Errorf("%s lists %d nodes, want 6", k, n)
		}
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, env[devstack.EnvSecurePostgresURL])
	if err != nil {
		t.Fatalf("connect to %s: %v", env[devstack.EnvSecurePostgresURL], err)
	}
	conn.Close(ctx)

	kcfg, err := devstack.SecureSaramaConfig(env[devstack.EnvSecureKafkaCAFile], devstack.KafkaUser{
		Name: env[devstack.EnvSecureKafkaUsername], Password: env[devstack.EnvSecureKafkaPassword],
		Mechanism: env[devstack.EnvSecureKafkaSASLMechanism],
	})
	if err != nil {
		t.Fatal(err)
	}
	client, err := sarama.NewClient(strings.Split(env[devstack.EnvSecureKafkaBrokers], ","), kcfg)
	if err != nil {
		t.Fatalf("Kafka over SASL_SSL: %v", err)
	}
	if n := len(client.Brokers()); n != 3 {
		t.Errorf("metadata lists %d brokers, want 3", n)
	}
	client.Close()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("devstack exited with %v after SIGTERM; output:\n%s", err, readFile(t, logPath))
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("devstack still running 60s after SIGTERM; output:\n%s", readFile(t, logPath))
	}
	if left := processesMentioning(t, dir); len(left) > 0 {
		t.Fatalf("processes left after devstack exited: %q", left)
	}
}
