package e2e

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/quickchat-go/quickchat/harness/devstack"
	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var (
	buildOnce sync.Once
	binaries  map[string]string
	buildErr  error
	binDir    string
)

// servicesBuilt compiles the three services once per test process.
func servicesBuilt(tb testing.TB) map[string]string {
	tb.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "qc-e2e-bin-")
		if buildErr == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			binaries, buildErr = devstack.BuildServices(ctx, binDir)
		}
	})
	if buildErr != nil {
		tb.Fatalf("build services: %v", buildErr)
	}
	return binaries
}

// startSystem runs the whole system on the shared test servers, isolated by its own
// database, Kafka topic and Redis key prefix, and stops it when the test ends.
func startSystem(tb testing.TB, cfg devstack.SystemConfig) *devstack.System {
	tb.Helper()
	if testing.Short() {
		tb.Skip("end-to-end test: skipped in -short mode")
	}
	cfg.Binaries = servicesBuilt(tb)
	cfg.DatabaseURL = testenv.PostgresURL(tb)
	cfg.RedisAddr = testenv.RedisAddr(tb)
	cfg.RedisPrefix = testenv.KeyPrefix(tb)
	cfg.KafkaBrokers = testenv.KafkaBrokers(tb)
	cfg.Topic = testenv.Topic(tb, 4)
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(tb.TempDir(), "system")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sys, err := devstack.StartSystem(ctx, cfg)
	if err != nil {
		tb.Fatalf("start system: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := sys.Close(ctx); err != nil {
			tb.Errorf("stop system: %v", err)
		}
		if tb.Failed() {
			for _, s := range sys.Services() {
				tb.Logf("log of %s: %s", s.Name(), s.LogPath())
			}
		}
	})
	return sys
}
