package devstack

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFreePortReturnsDistinctBindablePorts(t *testing.T) {
	// Not parallel: servers started by parallel tests would take the ports under test.
	seen := map[int]bool{}
	for range 20 {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("port %d returned twice", p)
		}
		seen[p] = true
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d from FreePort cannot be bound: %v", p, err)
		}
		l.Close()
	}
}

func TestFindKafkaJars(t *testing.T) {
	withJar := t.TempDir()
	if err := os.WriteFile(filepath.Join(withJar, "kafka_2.13-4.4.0.jar"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	tests := []struct {
		name        string
		dir         string
		env         string
		wantDir     string
		wantVersion string
		wantErr     string
	}{
		{name: "explicit dir with the broker jar", dir: withJar, wantDir: withJar, wantVersion: "4.4.0"},
		{name: "QC_KAFKA_JARS when no dir is given", env: withJar, wantDir: withJar, wantVersion: "4.4.0"},
		{name: "explicit dir wins over QC_KAFKA_JARS", dir: empty, env: withJar, wantErr: "install-deps.sh"},
		{name: "dir without jars tells how to get them", dir: empty, wantErr: "run .ci/install-deps.sh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("QC_KAFKA_JARS", tt.env)
			dir, version, err := findKafkaJars(tt.dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if dir != tt.wantDir || version != tt.wantVersion {
				t.Fatalf("got (%s, %s), want (%s, %s)", dir, version, tt.wantDir, tt.wantVersion)
			}
		})
	}
}

func TestStartKafkaWithoutJarsFailsWithAHint(t *testing.T) {
	_, err := StartKafka(t.Context(), KafkaConfig{JarsDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), ".ci/install-deps.sh") {
		t.Fatalf("err = %v, want one telling to run .ci/install-deps.sh", err)
	}
}

func TestRedisOnATakenPortFailsFastWithItsLog(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	start := time.Now()
	_, err = StartRedis(ctx, RedisConfig{Port: l.Addr().(*net.TCPAddr).Port})
	if err == nil {
		t.Fatal("StartRedis on a taken port succeeded")
	}
	if !strings.Contains(err.Error(), "exited early") || !strings.Contains(strings.ToLower(err.Error()), "address already in use") {
		t.Fatalf("err = %v, want an early exit with the log's bind error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v to notice the server exited", d)
	}
}

func TestRedisLifecycleErrors(t *testing.T) {
	t.Parallel()
	r, err := StartRedis(t.Context(), RedisConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("Start on a running server: err = %v, want already running", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := r.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Start after Close: err = %v, want closed", err)
	}
}
