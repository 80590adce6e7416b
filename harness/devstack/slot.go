package devstack

import (
	"context"
	"errors"
	"sync"
	"time"
)

// slot holds the current process of a server or service that can be stopped, killed and
// started again on the same data, which is what fault-injection tests do with them. Its
// methods are safe for concurrent use.
type slot struct {
	name   string // for errors
	mu     sync.Mutex
	proc   *process
	closed bool
}

// start runs launch unless the slot is closed or its process still runs. launch starts the
// process and waits until it is ready; restarting tells it an earlier process existed.
// On a readiness failure the new process is killed.
func (s *slot) start(ctx context.Context, launch func(restarting bool) (*process, error), ready func(context.Context, *process) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New(s.name + ": start: closed")
	}
	restarting := s.proc != nil
	if restarting {
		select {
		case <-s.proc.exited():
		default:
			return errors.New(s.name + ": start: already running")
		}
	}
	p, err := launch(restarting)
	if err != nil {
		return err
	}
	s.proc = p
	if err := ready(ctx, p); err != nil {
		_ = p.kill()
		return err
	}
	return nil
}

// stop stops the process gracefully (killing it after timeout or when ctx ends).
func (s *slot) stop(ctx context.Context, timeout time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	return s.proc.stop(ctx, timeout)
}

// kill kills the process group with SIGKILL.
func (s *slot) kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	return s.proc.kill()
}

// close stops the process like stop and refuses later starts.
func (s *slot) close(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	defer cancel()
	err := s.stop(ctx, timeout)
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return err
}

// current returns the latest process, or nil before the first start.
func (s *slot) current() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

// pid is the latest process's id, or 0 before the first start.
func (s *slot) pid() int {
	if p := s.current(); p != nil {
		return p.pid()
	}
	return 0
}

// running reports whether the slot's current process is alive.
func (s *slot) running() bool {
	p := s.current()
	if p == nil {
		return false
	}
	select {
	case <-p.exited():
		return false
	default:
		return true
	}
}
