package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quickchat-go/quickchat/harness/devstack"
	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
	"github.com/quickchat-go/quickchat/harness/loadgen/internal/fleet"
	"github.com/quickchat-go/quickchat/harness/loadgen/internal/scenario"
)

// TestMain doubles as a worker: the driver in the smoke test starts this test binary as
// its workers ("<test binary> worker <i>"), as the real command starts itself.
func TestMain(m *testing.M) {
	if len(os.Args) >= 3 && os.Args[1] == "worker" {
		os.Exit(workerMain(os.Args[2]))
	}
	testenv.Main(m)
}

func TestLoadAgainstARealSystemLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("smoke test against a real system: skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bins, err := devstack.BuildServices(ctx, filepath.Join(t.TempDir(), "bin"))
	if err != nil {
		t.Fatal(err)
	}
	sys, err := devstack.StartSystem(ctx, devstack.SystemConfig{
		Dir: filepath.Join(t.TempDir(), "system"), Binaries: bins, Realtimes: 2, Persisters: 1,
		DatabaseURL: testenv.PostgresURL(t), RedisAddr: testenv.RedisAddr(t), RedisPrefix: testenv.KeyPrefix(t),
		KafkaBrokers: testenv.KafkaBrokers(t), Topic: testenv.Topic(t, 4), Env: benchEnv,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Close(context.Background()) })

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tgt := &scenario.Target{
		GatewayURL: sys.GatewayURL, RealtimeURLs: sys.RealtimeURLs, DatabaseURL: sys.DatabaseURL,
		Procs: []scenario.Proc{
			{Name: "realtime-1", Pid: sys.Realtime[0].Pid},
			{Name: "realtime-2", Pid: sys.Realtime[1].Pid},
		},
		Workers: fleet.Config{Exe: exe, Args: []string{"worker"}, Stderr: os.Stderr},
		// Two workers for 12 connections, spread over three source addresses.
		ConnsPerWorker: 6, LocalIPs: []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"},
		JoinConcurrency: 4, DialConcurrency: 4, BodyBytes: 100,
	}
	conn, byRate, err := scenario.Fanout(ctx, tgt, "smoke", 3, 4, []float64{30}, 1, 2*time.Second, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if conn.Joined != 12 || conn.Workers != 2 {
		t.Fatalf("joined %d connections from %d workers, want 12 from 2", conn.Joined, conn.Workers)
	}
	w := byRate[30][0]
	if w.Acked < 40 || w.Acked != w.Sent {
		t.Errorf("sent %d, acked %d; want about 60, all acked", w.Sent, w.Acked)
	}
	// Rooms of 4 split over two instances: every message reaches all 4 members.
	if w.Deliveries != 4*w.Acked {
		t.Errorf("%d deliveries of %d messages in rooms of 4, want %d", w.Deliveries, w.Acked, 4*w.Acked)
	}
	if !scenario.Clean(w.Check) || w.Check.Expected != uint64(w.Deliveries) {
		t.Errorf("receivers' account %+v; want nothing lost, duplicated or reordered", w.Check)
	}
	if w.Latency.Count != w.Deliveries || w.Latency.P50 <= 0 {
		t.Errorf("latency %+v for %d deliveries", w.Latency, w.Deliveries)
	}
	if w.Persist == nil || w.Persist.Stored != w.Acked || w.Persist.AllStoredAfter <= 0 {
		t.Errorf("persistence %+v; want all %d messages stored", w.Persist, w.Acked)
	}
	if len(w.Procs) < 2 || w.Procs[0].RSS <= 0 {
		t.Errorf("process usage %+v; want both realtime instances sampled", w.Procs)
	}
}

func TestParseIPRange(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{name: "none lets the kernel choose", in: "none"},
		{name: "an empty setting is none too", in: ""},
		{name: "a range lists every address in it", in: "127.0.0.2-127.0.0.4", want: []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}},
		{name: "one address is a range of one", in: "127.0.0.9", want: []string{"127.0.0.9"}},
		{name: "a backwards range is refused", in: "127.0.0.4-127.0.0.2", wantErr: true},
		{name: "an IPv6 range is refused", in: "::1-::2", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseIPRange(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
