package devstack

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// ServiceConfig describes one Quick Chat service process (a built binary).
type ServiceConfig struct {
	// Name identifies the process in logs and errors, e.g. "realtime-2".
	Name string
	// Binary is the executable to run.
	Binary string
	// Args are its arguments.
	Args []string
	// Env is added to the parent's environment (KEY=VALUE).
	Env []string
	// Dir holds the process log (Dir/<Name>.log).
	Dir string
	// ReadyURL is polled until it answers 200 (the service's /readyz on its ops address).
	ReadyURL string
	// OpsURL is the base URL of the service's ops listener (/healthz, /readyz, /metrics),
	// e.g. http://127.0.0.1:8090; empty when not known.
	OpsURL string
	// StopTimeout bounds a graceful stop (SIGTERM) before SIGKILL; default 30s.
	StopTimeout time.Duration
}

// Service is a running service process that can be stopped, killed, paused and started
// again with the same configuration, as fault-injection tests need.
type Service struct {
	cfg  ServiceConfig
	slot slot
}

// StartService starts the process and waits until ReadyURL answers 200.
func StartService(ctx context.Context, cfg ServiceConfig) (*Service, error) {
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 30 * time.Second
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("%s: create dir: %w", cfg.Name, err)
	}
	s := &Service{cfg: cfg, slot: slot{name: cfg.Name}}
	if err := s.Start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Start (re)starts the process if it is not running and waits until it is ready.
func (s *Service) Start(ctx context.Context) error {
	return s.slot.start(ctx, func(bool) (*process, error) {
		return startProcess(procSpec{
			name: s.cfg.Name, path: s.cfg.Binary, args: s.cfg.Args, dir: s.cfg.Dir,
			env: append(os.Environ(), s.cfg.Env...), logPath: s.LogPath(), stopSignal: syscall.SIGTERM,
		})
	}, s.waitReady)
}

func (s *Service) waitReady(ctx context.Context, p *process) error {
	if s.cfg.ReadyURL == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.ReadyURL, nil)
		if err != nil {
			return fmt.Errorf("%s: ready URL: %w", s.cfg.Name, err)
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited():
			return p.exitError()
		case <-ctx.Done():
			_ = p.kill()
			return fmt.Errorf("%s: not ready at %s: %w; last log lines:\n%s", s.cfg.Name, s.cfg.ReadyURL, ctx.Err(), tailFile(s.LogPath(), 20))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop sends SIGTERM and waits for a graceful exit (SIGKILL after StopTimeout).
func (s *Service) Stop(ctx context.Context) error {
	return s.slot.stop(ctx, s.cfg.StopTimeout)
}

// Kill sends SIGKILL, as a crash would.
func (s *Service) Kill() error {
	return s.slot.kill()
}

// Pause stops the process with SIGSTOP (it keeps its sockets but does nothing).
func (s *Service) Pause() error { return s.signal(syscall.SIGSTOP) }

// Resume continues a paused process.
func (s *Service) Resume() error { return s.signal(syscall.SIGCONT) }

func (s *Service) signal(sig syscall.Signal) error {
	p := s.slot.current()
	if p == nil {
		return fmt.Errorf("%s: not started", s.cfg.Name)
	}
	if err := syscall.Kill(-p.pid(), sig); err != nil {
		return fmt.Errorf("%s: signal %v: %w", s.cfg.Name, sig, err)
	}
	return nil
}

// Running reports whether the process is alive.
func (s *Service) Running() bool {
	return s.slot.running()
}

// Pid returns the process id of the current process (0 if never started).
func (s *Service) Pid() int {
	return s.slot.pid()
}

// Name returns the configured name.
func (s *Service) Name() string { return s.cfg.Name }

// OpsURL is the base URL of the service's ops listener, where /healthz, /readyz and
// /metrics are (the public port answers 404 for them).
func (s *Service) OpsURL() string { return s.cfg.OpsURL }

// LogPath is the file the process writes its output to.
func (s *Service) LogPath() string { return filepath.Join(s.cfg.Dir, s.cfg.Name+".log") }
