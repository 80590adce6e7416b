package devstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// defaultStopTimeout bounds a graceful shutdown before the process group is killed.
const defaultStopTimeout = 30 * time.Second

// procSpec describes how to run one server process.
type procSpec struct {
	name    string   // for errors: "postgres", "redis", "kafka"
	path    string   // executable
	args    []string // arguments, without argv[0]
	dir     string   // working directory
	env     []string // nil means the parent's environment
	logPath string   // stdout and stderr are appended here
	// cred, when set, runs the process as another user (PostgreSQL refuses root).
	cred *syscall.Credential
	// stopSignal asks the server to shut down gracefully.
	stopSignal syscall.Signal
}

// process is one running server. Its methods are safe for concurrent use.
type process struct {
	spec procSpec
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has been waited for
	err  error         // Wait's result; read only after done is closed
}

// startProcess starts spec in its own process group with SIGKILL as its parent-death
// signal, so it dies with the Go process even when that process is killed.
func startProcess(spec procSpec) (*process, error) {
	logFile, err := os.OpenFile(spec.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: open log: %w", spec.name, err)
	}
	cmd := exec.Command(spec.path, spec.args...)
	cmd.Dir = spec.dir
	cmd.Env = spec.env
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
		Credential: spec.cred,
	}
	fmt.Fprintf(logFile, "--- devstack %s: starting %s %s\n",
		time.Now().Format(time.RFC3339Nano), spec.path, strings.Join(spec.args, " "))
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("%s: start %s: %w", spec.name, spec.path, err)
	}
	p := &process{spec: spec, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// pid is the process id, which is also its process group id.
func (p *process) pid() int { return p.cmd.Process.Pid }

// exited is closed when the process has exited.
func (p *process) exited() <-chan struct{} { return p.done }

// exitError describes how the process ended, with the tail of its log.
func (p *process) exitError() error {
	return fmt.Errorf("exited early (%v); last log lines from %s:\n%s",
		p.err, p.spec.logPath, tailFile(p.spec.logPath, 20))
}

// stop asks the process to shut down with its stop signal, kills the process group once
// timeout or ctx expire, and returns when no process of the group is left.
func (p *process) stop(ctx context.Context, timeout time.Duration) error {
	select {
	case <-p.done:
		return p.waitGroupGone(ctx)
	default:
	}
	// Only the leader gets the graceful signal: it shuts its own children down in order.
	if err := syscall.Kill(p.pid(), p.spec.stopSignal); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("%s: signal %v: %w", p.spec.name, p.spec.stopSignal, err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return p.waitGroupGone(ctx)
	case <-timer.C:
	case <-ctx.Done():
	}
	return p.kill()
}

// kill sends SIGKILL to the whole process group and waits until it is gone.
func (p *process) kill() error {
	if err := syscall.Kill(-p.pid(), syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("%s: kill process group %d: %w", p.spec.name, p.pid(), err)
	}
	// Waiting must not be cut short by a cancelled context: a caller that restarts the
	// server needs the old processes and their ports gone.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case <-p.done:
	case <-ctx.Done():
		return fmt.Errorf("%s: process %d did not exit after SIGKILL", p.spec.name, p.pid())
	}
	return p.waitGroupGone(ctx)
}

// waitGroupGone waits until no live (non-zombie) process is left in the process group:
// children of the leader (PostgreSQL backends) may outlive it by a few milliseconds, and
// a restart must not find them still holding the data directory.
func (p *process) waitGroupGone(ctx context.Context) error {
	pgid := p.pid()
	for first := true; ; first = false {
		pids := liveGroupMembers(pgid)
		if len(pids) == 0 {
			return nil
		}
		if !first {
			// Anything still there after the leader exited is an orphan: kill it.
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: processes %v of group %d still running: %w", p.spec.name, pids, pgid, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// liveGroupMembers lists the processes in group pgid that are not zombies.
func liveGroupMembers(pgid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the parenthesised command name: state ppid pgrp ...
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 3 || fields[0] == "Z" || fields[0] == "X" {
			continue
		}
		if g, err := strconv.Atoi(fields[2]); err == nil && g == pgid {
			pids = append(pids, pid)
		}
	}
	return pids
}

// tailFile returns up to n last lines of the file at path, for error messages.
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	defer f.Close()
	const max = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > max {
		_, _ = f.Seek(st.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// logMentionsBindFailure reports whether the last lines of a log say that a port was
// taken, so a start on a port picked by us can be retried on another one.
func logMentionsBindFailure(path string) bool {
	t := strings.ToLower(tailFile(path, 40))
	for _, s := range []string{"address already in use", "could not bind", "bindexception", "could not create any tcp/ip sockets"} {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}
