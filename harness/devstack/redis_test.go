package devstack

import (
	"context"
	"testing"
	"time"

	"github.com/quickchat-go/quickchat/harness/devstack/internal/resp"
)

func TestRedisKeepsStreamEntriesAcrossStopAndKill(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	start := time.Now()
	r, err := StartRedis(ctx, RedisConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("StartRedis took %v (log %s)", time.Since(start), r.LogPath())
	t.Cleanup(func() { _ = r.Close() })

	redisDo(t, r.Addr(), "SET", "greeting", "hello")
	if got := redisDo(t, r.Addr(), "GET", "greeting"); got != "hello" {
		t.Fatalf("GET greeting = %v, want hello", got)
	}
	redisDo(t, r.Addr(), "XADD", "room", "*", "body", "before stop")

	if err := r.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatalf("start after stop: %v", err)
	}
	redisDo(t, r.Addr(), "XADD", "room", "*", "body", "before kill")

	pid := r.Pid()
	if err := r.Kill(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	requireGone(t, pid, r.Dir())
	if err := r.Start(ctx); err != nil {
		t.Fatalf("start after kill: %v", err)
	}
	if got := redisDo(t, r.Addr(), "XLEN", "room"); got != int64(2) {
		t.Fatalf("XLEN room after stop and kill = %v, want 2", got)
	}
	if got := redisDo(t, r.Addr(), "GET", "greeting"); got != "hello" {
		t.Fatalf("GET greeting after restarts = %v, want hello", got)
	}

	dir, pid := r.Dir(), r.Pid()
	if err := r.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	requireGone(t, pid, dir)
	requireNoDir(t, dir)
}

func redisDo(tb testing.TB, addr string, args ...string) any {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := resp.Do(ctx, addr, args...)
	if err != nil {
		tb.Fatalf("%v: %v", args, err)
	}
	return v
}
