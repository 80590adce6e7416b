package devstack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// tempPrefix names every temporary directory this package creates under os.TempDir().
const tempPrefix = "devstack-"

// ownerFile, inside a temporary directory, holds the pid of the process that created it.
const ownerFile = ".devstack-owner"

var sweepOnce sync.Once

// serverDir returns dir, created if needed, or a new temporary directory when dir is empty;
// created reports the latter, in which case Close removes it.
func serverDir(dir, kind string) (path string, created bool, err error) {
	if dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", false, fmt.Errorf("%s: dir %q: %w", kind, dir, err)
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return "", false, fmt.Errorf("%s: create dir: %w", kind, err)
		}
		return abs, false, nil
	}
	path, err = newTempDir("", kind)
	if err != nil {
		return "", false, err
	}
	return path, true, nil
}

// newTempDir makes a temporary server directory under base (os.TempDir() when empty),
// searchable by other users and marked with its owner's pid for the stale-directory sweep.
func newTempDir(base, kind string) (path string, err error) {
	sweepOnce.Do(sweepStaleTempDirs)
	path, err = os.MkdirTemp(base, tempPrefix+kind+"-")
	if err != nil {
		return "", fmt.Errorf("%s: create temp dir: %w", kind, err)
	}
	// MkdirTemp makes it 0700; other users (postgres) need to traverse it.
	if err := os.Chmod(path, 0o755); err != nil {
		return "", fmt.Errorf("%s: chmod temp dir: %w", kind, err)
	}
	pid := strconv.Itoa(os.Getpid())
	if err := os.WriteFile(filepath.Join(path, ownerFile), []byte(pid), 0o644); err != nil {
		return "", fmt.Errorf("%s: write owner file: %w", kind, err)
	}
	return path, nil
}

// sweepStaleTempDirs removes temporary directories left by processes that died without
// closing their servers (a test binary killed on timeout), so /tmp does not fill up.
// Directories whose owner is alive, or whose owner is unknown, are left alone.
func sweepStaleTempDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			continue // alive, or not ours to judge
		}
		if st, err := os.Stat(d); err != nil || time.Since(st.ModTime()) < time.Minute {
			continue
		}
		_ = os.RemoveAll(d)
	}
}
