package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quickchat-go/quickchat/harness/devstack/internal/resp"
)

// TestMain lets the tests run this binary as the devstack command itself.
func TestMain(m *testing.M) {
	if os.Getenv("DEVSTACK_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestUpServesUntilSIGTERMAndLeavesNothingBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	dir := testDir(t)
	envFile := filepath.Join(dir, "stack.env")

	cmd := exec.Command(os.Args[0], "up", "-dir", filepath.Join(dir, "stack"), "-env-file", envFile)
	cmd.Env = append(os.Environ(), "DEVSTACK_TEST_RUN_MAIN=1")
	logPath := filepath.Join(dir, "devstack.out")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	env := waitForEnvFile(t, envFile, exited, logPath)
	for _, k := range []string{"QC_TEST_POSTGRES_URL", "QC_TEST_REDIS_ADDR", "QC_TEST_KAFKA_BROKERS", "QC_TEST_S3_ENDPOINT", "DATABASE_URL", "REDIS_ADDR", "KAFKA_BROKERS"} {
		if env[k] == "" {
			t.Errorf("env file lacks %s", k)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, env["DATABASE_URL"])
	if err != nil {
		t.Fatalf("connect to %s: %v", env["DATABASE_URL"], err)
	}
	conn.Close(ctx)
	if v, err := resp.Do(ctx, env["REDIS_ADDR"], "PING"); err != nil || v != "PONG" {
		t.Fatalf("PING %s = %v, %v", env["REDIS_ADDR"], v, err)
	}

	start := time.Now()
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
	t.Logf("stopped %v after SIGTERM", time.Since(start))
	if left := processesMentioning(t, dir); len(left) > 0 {
		t.Fatalf("processes left after devstack exited: %q", left)
	}
	if _, err := os.Stat(envFile); !os.IsNotExist(err) {
		t.Fatalf("env file %s still exists after shutdown (stat: %v)", envFile, err)
	}
}

func TestUpExitsWithItsParent(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	dir := testDir(t)
	envFile := filepath.Join(dir, "stack.env")
	logPath := filepath.Join(dir, "devstack.out")

	// A shell starts devstack and waits; killing the shell outright must stop devstack
	// and its servers, as when make dev's make is killed.
	parent := exec.Command("bash", "-c", `"$0" up -dir "$1" -env-file "$2" -exit-with-parent >"$3" 2>&1 & wait`,
		os.Args[0], filepath.Join(dir, "stack"), envFile, logPath)
	parent.Env = append(os.Environ(), "DEVSTACK_TEST_RUN_MAIN=1")
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- parent.Wait() }()
	t.Cleanup(func() {
		_ = parent.Process.Kill()
		// Whatever outlived a failure must not outlive the test.
		for _, p := range processIDsMentioning(t, dir) {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	})
	waitForEnvFile(t, envFile, exited, logPath)

	if err := parent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	deadline := time.Now().Add(60 * time.Second)
	for len(processesMentioning(t, dir)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("devstack and its servers still run 60s after their parent was killed: %q\noutput:\n%s",
				processesMentioning(t, dir), readFile(t, logPath))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// testDir returns a fresh directory for one devstack run. Not t.TempDir(): its 0700
// parents would make PostgreSQL's data go elsewhere, and the tests find leftover
// processes by this directory in their command lines.
func testDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "devstack-cmd-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// waitForEnvFile waits until devstack has written envFile and parses it by sourcing it in
// bash, as the Makefile would.
func waitForEnvFile(tb testing.TB, envFile string, exited <-chan error, logPath string) map[string]string {
	tb.Helper()
	deadline := time.After(2 * time.Minute)
	for {
		if _, err := os.Stat(envFile); err == nil {
			break
		}
		select {
		case err := <-exited:
			tb.Fatalf("devstack exited early (%v); output:\n%s", err, readFile(tb, logPath))
		case <-deadline:
			tb.Fatalf("no env file after 2m; output:\n%s", readFile(tb, logPath))
		case <-time.After(100 * time.Millisecond):
		}
	}
	out, err := exec.Command("bash", "-c", `set -eu; source "$1"; env`, "bash", envFile).Output()
	if err != nil {
		tb.Fatalf("source %s: %v", envFile, err)
	}
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	return env
}

func readFile(tb testing.TB, path string) string {
	tb.Helper()
	b, _ := os.ReadFile(path)
	return string(b)
}

// processesMentioning lists live processes whose command line or working directory
// contains needle. PostgreSQL backends rename themselves but keep the data directory as
// their working directory.
func processesMentioning(tb testing.TB, needle string) []string {
	tb.Helper()
	var found []string
	for _, p := range mentioning(needle) {
		found = append(found, p.desc)
	}
	return found
}

// processIDsMentioning is processesMentioning's process ids.
func processIDsMentioning(tb testing.TB, needle string) []int {
	tb.Helper()
	var ids []int
	for _, p := range mentioning(needle) {
		ids = append(ids, p.pid)
	}
	return ids
}

type proc struct {
	pid  int
	desc string
}

func mentioning(needle string) []proc {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var found []proc
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || len(b) == 0 {
			continue // gone, or a zombie
		}
		cmd := strings.ReplaceAll(string(b), "\x00", " ")
		cwd, _ := os.Readlink(filepath.Join(d, "cwd"))
		if strings.Contains(cmd, needle) || strings.Contains(cwd, needle) {
			pid, _ := strconv.Atoi(filepath.Base(d))
			found = append(found, proc{pid, cmd + " (cwd " + cwd + ")"})
		}
	}
	return found
}
