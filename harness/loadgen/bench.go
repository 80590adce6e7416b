package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quickchat-go/quickchat/harness/devstack"
	"github.com/quickchat-go/quickchat/harness/loadgen/internal/report"
	"github.com/quickchat-go/quickchat/harness/loadgen/internal/scenario"
)

// Scenario names for LOADGEN_BENCH_ONLY.
const (
	scenarioIdle      = "idle"
	scenarioFanout    = "fanout"
	scenarioLargeRoom = "large-room"
	scenarioStorm     = "storm"
	scenarioTwo       = "two-instances"
	scenarioSecure    = "secure"
)

// secureRate is the one rate scenario 2 runs again on the secured cluster stack.
const secureRate = 2000

// benchEnv configures the services for load from one machine: cheap password hashing and
// no abuse limits, so creating tens of thousands of members takes seconds, and
// per-address connection limits that 200 loopback source addresses stay under.
var benchEnv = []string{
	"GATEWAY_PASSWORD_HASH_MEMORY_KIB=8",
	"GATEWAY_PASSWORD_HASH_ITERATIONS=1",
	"GATEWAY_PASSWORD_HASH_PARALLELISM=1",
	"GATEWAY_RATE_PASSCODE_PER_IP=off",
	"GATEWAY_RATE_PASSCODE_PER_GROUP=off",
	"GATEWAY_RATE_LOGIN_PER_IP=off",
	"GATEWAY_RATE_LOGIN_PER_ACCOUNT=off",
	// One owner creates every room of a scenario (up to thousands).
	"GATEWAY_RATE_GROUP_CREATE_PER_ACCOUNT=off",
	"GATEWAY_MAX_GROUPS_PER_ACCOUNT=0",
	"GATEWAY_LOG_LEVEL=warn",
	"REALTIME_LOG_LEVEL=warn",
	"REALTIME_PPROF=true",
	"PERSISTER_LOG_LEVEL=warn",
}

// bench is bench mode: it starts PostgreSQL, Redis, Kafka and the services with
// pkg/devstack (what `make dev` runs), runs the standard scenarios and rewrites the
// benchmark document.
func bench(ctx context.Context, cfg Config) (err error) {
	started := time.Now()
	if err := raiseFileLimit(); err != nil {
		return err
	}
	dir, err := filepath.Abs(cfg.BenchDir)
	if err != nil {
		return err
	}
	// A fresh stack every time: old rooms and topics would only blur the figures.
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("bench: clear %s: %w", dir, err)
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
	}
	logf("building services and starting PostgreSQL, Redis and Kafka in %s", dir)
	bins, err := devstack.BuildServices(ctx, filepath.Join(dir, "bin"))
	if err != nil {
		return err
	}
	// The broker keeps the test servers' C1-only JVM: the optimizing compiler would still be
	// warming up (and taking CPU) in the first windows (docs/benchmarks.md).
	stack, err := devstack.StartStack(ctx, devstack.StackConfig{Dir: filepath.Join(dir, "stack")})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := stack.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err := enableCommitTimestamps(ctx, stack); err != nil {
		return err
	}
	sys, err := devstack.StartSystem(ctx, devstack.SystemConfig{
		Dir: filepath.Join(dir, "system"), Stack: stack, Binaries: bins,
		Realtimes: 2, Persisters: 1, Env: benchEnv,
	})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := sys.Close(context.WithoutCancel(ctx)); cerr != nil && err == nil {
			err = cerr
		}
	}()
	logf("system up: gateway %s, realtime %v", sys.GatewayURL, sys.RealtimeURLs)

	t, err := newTarget(cfg, os.Stderr)
	if err != nil {
		return err
	}
	t.GatewayURL, t.DatabaseURL = sys.GatewayURL, sys.DatabaseURL
	for _, rt := range sys.Realtime {
		t.RealtimeOpsURLs = append(t.RealtimeOpsURLs, rt.OpsURL())
	}
	t.Procs = []scenario.Proc{
		{Name: "realtime-1", Pid: sys.Realtime[0].Pid},
		{Name: "realtime-2", Pid: sys.Realtime[1].Pid},
		{Name: "gateway", Pid: sys.Gateway.Pid},
		{Name: "persister", Pid: sys.Persister[0].Pid},
		{Name: "redis", Pid: stack.Redis.Pid},
		{Name: "kafka", Pid: stack.Kafka.Pid},
		{Name: "postgres", Pid: stack.Postgres.Pid, Tree: true},
	}
	t.RestartRealtime = func(ctx context.Context, i int) error {
		if err := sys.Realtime[i].Stop(ctx); err != nil {
			return err
		}
		return sys.Realtime[i].Start(ctx)
	}
	t.CollectGarbage = func(ctx context.Context, i int) error {
		// The heap profile endpoint collects garbage first when asked to (gc=1). Twice:
		// what sync.Pools hold survives one collection.
		url := sys.Realtime[i].OpsURL() + "/debug/pprof/heap?gc=1"
		for range 2 {
			if err := fetchTo(ctx, url, os.DevNull); err != nil {
				return err
			}
		}
		return nil
	}
	if cfg.BenchProfile {
		t.Profile = profiler(filepath.Join(dir, "profiles"), sys.Realtime[0].OpsURL(), logf)
	}
	// Scenarios 1-5 use one instance: a second one would read every stream too.
	if err := sys.Realtime[1].Stop(ctx); err != nil {
		return err
	}
	t.RealtimeURLs = sys.RealtimeURLs[:1]

	sizes := scenario.StandardSizes()
	if cfg.BenchScale < 1 {
		// A scaled-down (smoke) run also takes its window length and run count from the
		// run-mode settings.
		sizes = sizes.Scaled(cfg.BenchScale)
		sizes.Duration, sizes.Warmup, sizes.Runs = cfg.Duration, cfg.Warmup, cfg.Runs
	}
	want := func(name string) bool { return len(cfg.BenchOnly) == 0 || slices.Contains(cfg.BenchOnly, name) }
	res := report.Bench{Started: started, Machine: report.DescribeMachine(), Sizes: sizes, Env: benchEnv, Scale: cfg.BenchScale}
	jsonPath := filepath.Join(dir, "bench.json")
	save := func() {
		if err := writeJSON(jsonPath, res); err != nil {
			logf("save results: %v", err)
		}
	}

	if want(scenarioIdle) {
		logf("scenario 1: idle capacity, %d connections", sizes.IdleConns)
		for i := 0; i < sizes.Runs; i++ {
			r, err := scenario.Idle(ctx, t, sizes.IdleConns, sizes.RoomSize)
			if err != nil {
				return fmt.Errorf("idle: %w", err)
			}
			res.Idle = append(res.Idle, r)
			save()
		}
	}
	if want(scenarioFanout) {
		logf("scenario 2+4: fan-out in %d rooms of %d at %v msgs/s", sizes.FanoutRooms, sizes.RoomSize, sizes.FanoutRates)
		c, w, err := scenario.Fanout(ctx, t, "fanout", sizes.FanoutRooms, sizes.RoomSize, sizes.FanoutRates, sizes.Runs, sizes.Duration, sizes.Warmup, false)
		if err != nil {
			return fmt.Errorf("fan-out: %w", err)
		}
		res.Fanout = &report.FanoutResult{Connect: c, Windows: w}
		save()
	}
	if want(scenarioLargeRoom) {
		logf("scenario 3: one room of %d at %.0f msgs/s", sizes.LargeRoomMembers, sizes.LargeRoomRate)
		c, w, err := scenario.LargeRoom(ctx, t, sizes.LargeRoomMembers, sizes.LargeRoomRate, sizes.Runs, sizes.Duration, sizes.Warmup)
		if err != nil {
			return fmt.Errorf("large room: %w", err)
		}
		res.LargeRoom = &report.FanoutResult{Connect: c, Windows: scenario.ByRate{sizes.LargeRoomRate: w}}
		save()
	}
	if want(scenarioStorm) {
		logf("scenario 5: reconnect storm of %d clients", sizes.StormConns)
		c, runs, err := scenario.Storm(ctx, t, sizes.StormConns, sizes.RoomSize, sizes.StormRate, sizes.Runs, sizes.Duration, sizes.Warmup)
		if err != nil {
			return fmt.Errorf("storm: %w", err)
		}
		res.Storm = &report.StormResult{Connect: c, Runs: runs}
		save()
	}
	if want(scenarioTwo) {
		logf("scenario 6: two instances, rooms split across them")
		if err := sys.Realtime[1].Start(ctx); err != nil {
			return err
		}
		t.RealtimeURLs = sys.RealtimeURLs
		c, w, err := scenario.Fanout(ctx, t, "two-instances", sizes.FanoutRooms, sizes.RoomSize, sizes.TwoInstanceRates, sizes.Runs, sizes.Duration, sizes.Warmup, true)
		if err != nil {
			return fmt.Errorf("two instances: %w", err)
		}
		res.Two = &report.FanoutResult{Connect: c, Windows: w}
	}
	if want(scenarioSecure) {
		logf("scenario 7: fan-out at %d msgs/s on the secured cluster stack", secureRate)
		// Only one system at a time takes the machine: the plain one is idle from here on,
		// and its second realtime instance reads nothing.
		if sys.Realtime[1].Running() {
			if err := sys.Realtime[1].Stop(ctx); err != nil {
				return err
			}
		}
		sec, err := benchSecure(ctx, cfg, dir, bins, sizes, logf)
		if err != nil {
			return fmt.Errorf("secured stack: %w", err)
		}
		res.Secure = sec
	}
	res.Elapsed = time.Since(started)
	save()
	report.WriteBench(os.Stdout, res)
	if cfg.JSONOut != "" {
		if err := writeJSON(cfg.JSONOut, res); err != nil {
			return err
		}
	}
	if cfg.BenchDoc != "" && cfg.BenchScale == 1 && len(cfg.BenchOnly) == 0 {
		if err := report.UpdateDoc(cfg.BenchDoc, report.Markdown(res)); err != nil {
			return err
		}
		logf("wrote %s", cfg.BenchDoc)
	}
	logf("bench done in %v (results: %s)", time.Since(started).Round(time.Second), jsonPath)
	return nil
}

// benchSecure runs scenario 2 at secureRate on the production-like stack: three SASL_SSL
// Kafka brokers (RF 3, min ISR 2), a TLS + ACL Redis Cluster of 3 masters and 3 replicas,
// TLS PostgreSQL, with one realtime instance and one persister as in scenario 2.
func benchSecure(ctx context.Context, cfg Config, dir string, bins map[string]string, sizes scenario.Sizes, logf func(string, ...any)) (res *report.FanoutResult, err error) {
	st, err := devstack.StartSecureStack(ctx, devstack.SecureStackConfig{Dir: filepath.Join(dir, "secure-stack")})
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	sys, err := devstack.StartSystem(ctx, devstack.SystemConfig{
		Dir: filepath.Join(dir, "secure-system"), Binaries: bins, Realtimes: 1, Persisters: 1,
		DatabaseURL: st.Postgres.URL(), RedisAddr: st.SecureRedis.Addrs()[0], KafkaBrokers: st.Kafka.Brokers(),
		Env: append(append([]string(nil), benchEnv...), st.ServiceEnv()...),
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := sys.Close(context.WithoutCancel(ctx)); cerr != nil && err == nil {
			err = cerr
		}
	}()
	logf("secured system up: gateway %s, realtime %v", sys.GatewayURL, sys.RealtimeURLs)
	t, err := newTarget(cfg, os.Stderr)
	if err != nil {
		return nil, err
	}
	t.GatewayURL, t.RealtimeURLs = sys.GatewayURL, sys.RealtimeURLs
	t.RealtimeOpsURLs = []string{sys.Realtime[0].OpsURL()}
	t.Procs = []scenario.Proc{
		{Name: "realtime-1", Pid: sys.Realtime[0].Pid},
		{Name: "gateway", Pid: sys.Gateway.Pid},
		{Name: "persister", Pid: sys.Persister[0].Pid},
		{Name: "postgres", Pid: st.Postgres.Pid, Tree: true},
	}
	for _, n := range st.Kafka.Nodes() {
		t.Procs = append(t.Procs, scenario.Proc{Name: fmt.Sprintf("kafka-%d", n.ID()), Pid: n.Pid})
	}
	for i, n := range st.SecureRedis.Nodes() {
		t.Procs = append(t.Procs, scenario.Proc{Name: fmt.Sprintf("redis-%d", i+1), Pid: n.Pid})
	}
	c, w, err := scenario.Fanout(ctx, t, "secure", sizes.FanoutRooms, sizes.RoomSize, []float64{secureRate}, sizes.Runs, sizes.Duration, sizes.Warmup, false)
	if err != nil {
		return nil, err
	}
	return &report.FanoutResult{Connect: c, Windows: w}, nil
}

// enableCommitTimestamps turns on track_commit_timestamp (a restart is needed) so every
// stored message's commit time is known and the Kafka → PostgreSQL lag can be measured
// per message.
func enableCommitTimestamps(ctx context.Context, stack *devstack.Stack) error {
	conn, err := pgx.Connect(ctx, stack.Postgres.URL())
	if err != nil {
		return fmt.Errorf("bench: connect to PostgreSQL: %w", err)
	}
	_, err = conn.Exec(ctx, `ALTER SYSTEM SET track_commit_timestamp = on`)
	_ = conn.Close(ctx)
	if err != nil {
		return fmt.Errorf("bench: enable commit timestamps: %w", err)
	}
	if err := stack.Postgres.Stop(ctx); err != nil {
		return err
	}
	return stack.Postgres.Start(ctx)
}

// profiler returns a Target.Profile that saves realtime profiles from the pprof endpoint
// (REALTIME_PPROF) of the ops listener at opsURL into dir as <label>.<kind>.pb.gz.
func profiler(dir, opsURL string, logf func(string, ...any)) func(context.Context, string, string, time.Duration) {
	base := opsURL + "/debug/pprof/"
	return func(ctx context.Context, label, kind string, d time.Duration) {
		url := base + kind
		if kind == "cpu" {
			url = fmt.Sprintf("%sprofile?seconds=%d", base, max(int(d.Seconds()), 1))
		}
		path := filepath.Join(dir, label+"."+kind+".pb.gz")
		if err := fetchTo(ctx, url, path); err != nil {
			logf("profile %s: %v", path, err)
			return
		}
		logf("saved %s", path)
	}
}

func fetchTo(ctx context.Context, url, path string) error {
	if path != os.DevNull {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
