package devstack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// processesMentioning lists live processes whose command line or working directory
// contains needle (a server's unique directory). PostgreSQL backends rename themselves
// but keep the data directory as their working directory.
func processesMentioning(tb testing.TB, needle string) []string {
	tb.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		tb.Fatal(err)
	}
	var found []string
	for _, p := range procs {
		b, err := os.ReadFile(filepath.Join(p, "cmdline"))
		if err != nil || len(b) == 0 {
			continue // gone, or a zombie
		}
		cmd := strings.ReplaceAll(string(b), "\x00", " ")
		cwd, _ := os.Readlink(filepath.Join(p, "cwd"))
		if strings.Contains(cmd, needle) || strings.Contains(cwd, needle) {
			found = append(found, cmd+" (cwd "+cwd+")")
		}
	}
	return found
}

// requireGone fails tb unless no process of group pgid and none mentioning needle is alive.
func requireGone(tb testing.TB, pgid int, needle string) {
	tb.Helper()
	// Orphaned children are reaped by init asynchronously; give them a moment.
	deadline := time.Now().Add(5 * time.Second)
	for {
		members := liveGroupMembers(pgid)
		procs := processesMentioning(tb, needle)
		if len(members) == 0 && len(procs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("processes still alive: group %d members %v; mentioning %q: %q", pgid, members, needle, procs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// requireNoDir fails tb if path exists.
func requireNoDir(tb testing.TB, path string) {
	tb.Helper()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		tb.Fatalf("%s still exists (stat error: %v)", path, err)
	}
}
