package devstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/quickchat-go/quickchat/harness/devstack/internal/resp"
)

// RedisConfig configures StartRedis. The zero value is ready to use.
type RedisConfig struct {
	// Dir holds the append-only file ("data") and the log ("redis.log"). Existing data is
	// reused. Empty means a new temporary directory, which Close removes.
	Dir string
	// Port is the TCP port on 127.0.0.1. Default 0: a free port.
	Port int
	// StopTimeout bounds a graceful shutdown before the server is killed. Default 30s.
	StopTimeout time.Duration
}

// redisReadyTimeout bounds how long a start waits for PING to be answered.
const redisReadyTimeout = 30 * time.Second

// Redis is a redis-server started by StartRedis. Its methods are safe for concurrent use.
type Redis struct {
	cfg     RedisConfig
	dir     string
	created bool
	bin     string
	logPath string

	slot slot
}

// StartRedis starts redis-server on 127.0.0.1 with the append-only file on (so a restart
// keeps streams) and RDB snapshots off, and waits until it answers PING.
func StartRedis(ctx context.Context, cfg RedisConfig) (*Redis, error) {
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = defaultStopTimeout
	}
	bin, err := findRedisServer()
	if err != nil {
		return nil, err
	}
	dir, created, err := serverDir(cfg.Dir, "redis")
	if err != nil {
		return nil, err
	}
	r := &Redis{slot: slot{name: "redis"}, cfg: cfg, dir: dir, created: created, bin: bin, logPath: filepath.Join(dir, "redis.log")}
	if err := os.MkdirAll(r.dataDir(), 0o755); err != nil {
		r.removeDir()
		return nil, fmt.Errorf("redis: create data dir: %w", err)
	}
	pickPort := cfg.Port == 0
	for attempt := 1; ; attempt++ {
		if pickPort {
			if r.cfg.Port, err = FreePort(); err != nil {
				r.removeDir()
				return nil, err
			}
		}
		err = r.Start(ctx)
		if err == nil || !pickPort || attempt == 3 || !logMentionsBindFailure(r.logPath) {
			break
		}
	}
	if err != nil {
		r.removeDir()
		return nil, err
	}
	return r, nil
}

func findRedisServer() (string, error) {
	if p := os.Getenv("QC_REDIS_SERVER"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
		return "/usr/bin/redis-server", nil
	}
	return "", errors.New("redis: redis-server not found (set QC_REDIS_SERVER, or run .ci/install-deps.sh)")
}

// Start starts the server again on the same directory and port, and waits until it
// answers PING. Starting a running server is an error.
func (r *Redis) Start(ctx context.Context) error {
	return r.slot.start(ctx, func(bool) (*process, error) {
		return startProcess(procSpec{
			name: "redis",
			path: r.bin,
			args: []string{
				"--port", strconv.Itoa(r.cfg.Port),
				"--bind", "127.0.0.1",
				"--save", "",
				"--appendonly", "yes",
				"--appendfsync", "everysec",
				"--dir", r.dataDir(),
				"--maxclients", "10000",
				"--daemonize", "no",
				"--logfile", "",
			},
			dir:        r.dir,
			logPath:    r.logPath,
			stopSignal: syscall.SIGTERM,
		})
	}, r.waitReady)
}

func (r *Redis) waitReady(ctx context.Context, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, redisReadyTimeout)
	defer cancel()
	var lastErr error
	for {
		cctx, ccancel := context.WithTimeout(ctx, time.Second)
		v, err := resp.Do(cctx, r.Addr(), "PING")
		ccancel()
		if err == nil && v == "PONG" {
			select {
			case <-p.exited():
				// What answered was another server on the same port.
				return fmt.Errorf("redis: %w", p.exitError())
			default:
				return nil
			}
		}
		if err == nil {
			err = fmt.Errorf("PING answered %v", v)
		}
		lastErr = err
		select {
		case <-p.exited():
			return fmt.Errorf("redis: %w", p.exitError())
		case <-ctx.Done():
			return fmt.Errorf("redis: not ready on port %d: %w (last error: %v); log %s:\n%s",
				r.cfg.Port, ctx.Err(), lastErr, r.logPath, tailFile(r.logPath, 20))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop shuts the server down gracefully (it flushes the append-only file) and keeps its
// data. It kills the server if it has not exited after the stop timeout or when ctx ends.
func (r *Redis) Stop(ctx context.Context) error {
	return r.slot.stop(ctx, r.cfg.StopTimeout)
}

// Kill kills the server with SIGKILL, as a crash would, and keeps its data.
func (r *Redis) Kill() error {
	return r.slot.kill()
}

// Close stops the server and removes its directory if StartRedis created it.
func (r *Redis) Close() error {
	return errors.Join(r.slot.close(r.cfg.StopTimeout), r.removeDir())
}

func (r *Redis) removeDir() error {
	if !r.created {
		return nil
	}
	r.created = false
	if err := os.RemoveAll(r.dir); err != nil {
		return fmt.Errorf("redis: remove %s: %w", r.dir, err)
	}
	return nil
}

// Addr is the server's address, "127.0.0.1:port".
func (r *Redis) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.cfg.Port)) }

// Port is the TCP port the server listens on.
func (r *Redis) Port() int { return r.cfg.Port }

// Dir is the directory holding the server's data and log.
func (r *Redis) Dir() string { return r.dir }

// LogPath is the file the server's output goes to.
func (r *Redis) LogPath() string { return r.logPath }

// Pid is the server's process id, or 0 before the first start.
func (r *Redis) Pid() int {
	return r.slot.pid()
}

func (r *Redis) dataDir() string { return filepath.Join(r.dir, "data") }
