package faults_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quickchat-go/quickchat/harness/devstack"
	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
	"github.com/quickchat-go/quickchat/harness/faults"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Environment variables that select the full run.
const (
	// envMode "full" runs every scenario on servers of this test's own; anything else
	// runs the short version on the shared test servers.
	envMode = "QC_FAULTS"
	// envReport names the Markdown file the full run writes (docs/reliability.md).
	envReport = "QC_FAULTS_REPORT"
	// envBinaries names a directory of prebuilt service binaries (gateway, realtime,
	// persister) to run instead of building the workspace's, e.g. to measure another
	// commit with this harness.
	envBinaries = "QC_FAULTS_BINARIES"
	// envOnly runs only the named scenarios (comma-separated), for debugging one;
	// abuseSection among them runs the abuse section.
	envOnly = "QC_FAULTS_ONLY"
)

// clusterSection names, in envOnly, every scenario of the secured, clustered stack; each
// of them can also be named alone. They run only in the full run, on servers of their own.
const clusterSection = "cluster"

// abuseSection names the abuse section in envOnly. It runs only in the full run: it
// takes minutes and measures latency, which the shared test servers would disturb.
const abuseSection = "abuse"

// shortScenarios are what plain go test runs: faults of service processes only, which
// cannot disturb other tests on the shared servers.
var shortScenarios = []string{"kill-realtime", "kill-persister"}

var (
	fullTraffic  = faults.Traffic{Rooms: 4, MembersPerRoom: 4, SendInterval: 250 * time.Millisecond, Before: 5 * time.Second, After: 10 * time.Second, Drain: time.Minute}
	shortTraffic = faults.Traffic{Rooms: 2, MembersPerRoom: 3, SendInterval: 200 * time.Millisecond, Before: 2 * time.Second, After: 4 * time.Second, Drain: 45 * time.Second}
)

// TestAcknowledgedMessagesSurviveFaults runs each fault scenario against the whole system
// under traffic and fails on any broken guarantee: an acknowledged message lost or stored
// twice, a member missing a message without being told to reload, a duplicate or
// out-of-order frame.
func TestAcknowledgedMessagesSurviveFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection: skipped in -short mode")
	}
	full := os.Getenv(envMode) == "full"
	scenarios, traffic, abuse := pick(t, full)
	started := time.Now()
	bins := buildServices(t)
	var stack *devstack.Stack
	if full && (len(scenarios) > 0 || abuse) {
		stack = ownStack(t)
	}

	report := &faults.Report{Command: "make test-faults", Started: started, Failed: map[string]string{}, Environment: environment(),
		ShortScenarios: shortScenarios,
		ShortTraffic: fmt.Sprintf("%d rooms × %d members, %v before and %v after the fault",
			shortTraffic.Rooms, shortTraffic.MembersPerRoom, shortTraffic.Before, shortTraffic.After)}
	if !full {
		report.Command = "go test ./harness/faults (short)"
	}
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			logf := func(format string, args ...any) { t.Logf(format, args...) }
			sys := startSystem(t, bins, stack, sc.Name)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			res, err := faults.Run(ctx, sys, sc, traffic, logf)
			if err != nil {
				report.Failed[sc.Title] = err.Error()
				t.Fatalf("run: %v", err)
			}
			report.Results = append(report.Results, res)
			t.Logf("acked %d, stored %d, lost %d, duplicated %d/%d, delivered %d + %d from history of %d, missing %d, out of order %d, rejoins %d (recovered %d, replayed %d), resets %d, unrecovered %d, longest ack wait %v, longest storage delay %v",
				res.Acked, res.Stored, res.Lost, res.DuplicatesStored, res.DuplicateDeliveries, res.Delivered, res.FromHistory, res.Deliveries,
				res.Missing, res.OrderViolations, res.Rejoins, res.RecoveredJoins, res.Replayed, res.Resets, res.Unrecovered,
				res.LongestAckWait.Round(time.Millisecond), res.StorageDelay.Round(time.Millisecond))
			for _, p := range res.Problems {
				t.Errorf("%s: %s", sc.Title, p)
			}
		})
	}
	if cluster := pickCluster(t, full); len(cluster) > 0 {
		t.Run(clusterSection, func(t *testing.T) {
			runCluster(t, bins, cluster, traffic, report)
		})
	}
	if abuse {
		t.Run(abuseSection, func(t *testing.T) {
			runAbuse(t, bins, stack, report)
		})
	}
	report.Took = time.Since(started)
	if path := os.Getenv(envReport); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := report.WriteMarkdown(f); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
	}
}

// pick returns the fault scenarios to run, their traffic, and whether to run the abuse
// section.
func pick(t *testing.T, full bool) ([]faults.Scenario, faults.Traffic, bool) {
	t.Helper()
	names := shortScenarios
	traffic := shortTraffic
	abuse := false
	if full {
		names, traffic, abuse = nil, fullTraffic, true
	}
	if only := os.Getenv(envOnly); only != "" {
		names, abuse = nil, false
		for _, n := range strings.Split(only, ",") {
			switch n = strings.TrimSpace(n); {
			case n == abuseSection:
				abuse = true
			case n == clusterSection || isClusterScenario(n) || n == "":
			default:
				names = append(names, n)
			}
		}
		if abuse && !full {
			t.Fatalf("the abuse section measures latency on servers of its own: run it with %s=full", envMode)
		}
		if len(names) == 0 {
			return nil, traffic, abuse
		}
	}
	var out []faults.Scenario
	for _, sc := range faults.Scenarios() {
		if names == nil || contains(names, sc.Name) {
			if sc.RestartsServers && !full {
				t.Fatalf("scenario %s restarts servers: run it with %s=full", sc.Name, envMode)
			}
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no scenario matches %q", names)
	}
	return out, traffic, abuse
}

// runAbuse runs the abuse section on a system of its own and adds its result to report.
// It fails on a broken guarantee of the well-behaved room or an attack that could not be
// run, never on a latency figure: those are for the report.
func runAbuse(t *testing.T, bins map[string]string, stack *devstack.Stack, report *faults.Report) {
	sys := startSystem(t, bins, stack, abuseSection)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	res, err := faults.RunAbuse(ctx, sys, faults.Attacks(), faults.DefaultAbuse, func(format string, args ...any) { t.Logf(format, args...) })
	if err != nil {
		report.AbuseFailed = err.Error()
		t.Fatalf("abuse: %v", err)
	}
	report.Abuse = res
	for _, a := range res.Attacks {
		t.Logf("%s: attacker got %s; refused %s; room p99 %v → %v (%.2f×), sign-in p99 %v → %v (%.2f×), sign-ins refused/failed %d/%d; within 2×: %v",
			a.Attack.Title, a.Outcome.Got, a.Outcome.Refused, a.Idle.Room.P99, a.Under.Room.P99, a.RoomRatio(),
			a.Idle.SignIn.P99, a.Under.SignIn.P99, a.SignInRatio(), a.Under.SignInRefused, a.Under.SignInFailed, a.WithinTwice())
	}
	for name, why := range res.Failed {
		t.Errorf("abuse %s could not be run: %s", name, why)
	}
	r := res.Room
	t.Logf("well-behaved room: acked %d, stored %d, lost %d, duplicated %d/%d, delivered %d of %d, missing %d, out of order %d",
		r.Acked, r.Stored, r.Lost, r.DuplicatesStored, r.DuplicateDeliveries, r.Delivered, r.Deliveries, r.Missing, r.OrderViolations)
	for _, p := range r.Problems {
		t.Errorf("well-behaved room under abuse: %s", p)
	}
}

// clusterScenarioNames are the names of faults.ClusterScenarios (whose faults use the
// stack only when injected, so a nil one lists them).
var clusterScenarioNames = func() []string {
	var names []string
	for _, sc := range faults.ClusterScenarios(nil, "") {
		names = append(names, sc.Name)
	}
	return names
}()

func isClusterScenario(name string) bool { return contains(clusterScenarioNames, name) }

// pickCluster returns the names of the cluster scenarios to run: all of them in the full
// run, or those envOnly names.
func pickCluster(t *testing.T, full bool) []string {
	t.Helper()
	only := os.Getenv(envOnly)
	var names []string
	switch {
	case only == "" && full:
		names = clusterScenarioNames
	case only != "":
		for _, n := range strings.Split(only, ",") {
			if n = strings.TrimSpace(n); n == clusterSection {
				names = clusterScenarioNames
				break
			} else if isClusterScenario(n) {
				names = append(names, n)
			}
		}
	}
	if len(names) > 0 && !full {
		t.Fatalf("the cluster scenarios kill servers of their own: run them with %s=full", envMode)
	}
	return names
}

// runCluster starts the secured, clustered stack (3 SASL_SSL Kafka brokers, a TLS + ACL
// Redis Cluster, TLS PostgreSQL) and runs the named cluster scenarios on it, each with a
// system of its own, adding their results to report.
func runCluster(t *testing.T, bins map[string]string, names []string, traffic faults.Traffic, report *faults.Report) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	st, err := devstack.StartSecureStack(ctx, devstack.SecureStackConfig{Dir: filepath.Join(t.TempDir(), "secure-stack")})
	cancel()
	if err != nil {
		t.Fatalf("start the secured stack: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("stop the secured stack: %v", err)
		}
	})
	for _, scName := range names {
		t.Run(scName, func(t *testing.T) {
			name := testenv.UniqueName(t)
			topic := "faults." + name
			scs := faults.ClusterScenarios(st, topic)
			i := slices.IndexFunc(scs, func(s faults.Scenario) bool { return s.Name == scName })
			if i < 0 {
				t.Fatalf("no cluster scenario %s", scName)
			}
			sc := scs[i]
			sys := startSecureSystem(t, bins, st, topic, "faults:"+name+":")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			res, err := faults.Run(ctx, sys, sc, traffic, func(format string, args ...any) { t.Logf(format, args...) })
			if err != nil {
				report.Failed[sc.Title] = err.Error()
				t.Fatalf("run: %v", err)
			}
			report.Results = append(report.Results, res)
			t.Logf("acked %d, stored %d, lost %d, duplicated %d/%d, missing %d, out of order %d, resets %d",
				res.Acked, res.Stored, res.Lost, res.DuplicatesStored, res.DuplicateDeliveries, res.Missing, res.OrderViolations, res.Resets)
			for _, p := range res.Problems {
				t.Errorf("%s: %s", sc.Title, p)
			}
		})
	}
}

// startSecureSystem starts gateway, two realtime instances and two persisters on the
// secured stack st, isolated by topic and key prefix.
func startSecureSystem(t *testing.T, bins map[string]string, st *devstack.SecureStack, topic, prefix string) *devstack.System {
	t.Helper()
	return startSystemWith(t, bins, "cluster", func(ctx context.Context, cfg *devstack.SystemConfig) {
		cfg.DatabaseURL, cfg.RedisAddr, cfg.KafkaBrokers = st.Postgres.URL(), st.SecureRedis.Addrs()[0], st.Kafka.Brokers()
		cfg.Topic, cfg.RedisPrefix = topic, prefix
		cfg.Env = append(cfg.Env, st.ServiceEnv()...)
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.TrimSpace(v) == s {
			return true
		}
	}
	return false
}

var (
	buildOnce sync.Once
	binaries  map[string]string
	buildErr  error
)

func buildServices(tb testing.TB) map[string]string {
	tb.Helper()
	buildOnce.Do(func() {
		if dir := os.Getenv(envBinaries); dir != "" {
			binaries = map[string]string{}
			for _, name := range devstack.ServiceNames {
				binaries[name] = filepath.Join(dir, name)
			}
			return
		}
		dir, err := os.MkdirTemp("", "qc-faults-bin-")
		if err != nil {
			buildErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		binaries, buildErr = devstack.BuildServices(ctx, dir)
	})
	if buildErr != nil {
		tb.Fatalf("build services: %v", buildErr)
	}
	return binaries
}

// ownStack starts PostgreSQL, Redis and Kafka for this test alone, so scenarios may stop
// and restart them.
func ownStack(tb testing.TB) *devstack.Stack {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := devstack.StartStack(ctx, devstack.StackConfig{Dir: filepath.Join(tb.TempDir(), "stack")})
	if err != nil {
		tb.Fatalf("start stack: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("stop stack: %v", err)
		}
	})
	return s
}

// startSystem starts gateway, two realtime instances and two persisters, isolated by
// their own database, topic and key prefix, on stack or (nil) on the shared servers.
func startSystem(t *testing.T, bins map[string]string, stack *devstack.Stack, what string) *devstack.System {
	t.Helper()
	return startSystemWith(t, bins, what, func(ctx context.Context, cfg *devstack.SystemConfig) {
		name := testenv.UniqueName(t)
		if stack != nil {
			cfg.Stack, cfg.Database, cfg.Topic, cfg.RedisPrefix = stack, name, "faults."+name, "faults:"+name+":"
			if err := stack.Kafka.CreateTopic(ctx, cfg.Topic, 4); err != nil {
				t.Fatal(err)
			}
			return
		}
		cfg.DatabaseURL = testenv.PostgresURL(t)
		cfg.RedisAddr = testenv.RedisAddr(t)
		cfg.RedisPrefix = testenv.KeyPrefix(t)
		cfg.KafkaBrokers = testenv.KafkaBrokers(t)
		cfg.Topic = testenv.Topic(t, 4)
	})
}

// startSystemWith starts gateway, two realtime instances and two persisters with the
// servers, topic and key prefix that place sets, and stops them when t ends.
func startSystemWith(t *testing.T, bins map[string]string, what string, place func(context.Context, *devstack.SystemConfig)) *devstack.System {
	t.Helper()
	dir, err := os.MkdirTemp("", "qc-faults-"+what+"-")
	if err != nil {
		t.Fatal(err)
	}
	cfg := devstack.SystemConfig{
		Dir: dir, Binaries: bins, Realtimes: 2, Persisters: 2,
		Env: []string{
			// One address opens every member's session: keep the abuse limits out of the way.
			"GATEWAY_RATE_PASSCODE_PER_IP=100000/1m", "GATEWAY_RATE_PASSCODE_PER_GROUP=100000/1m",
			"GATEWAY_RATE_LOGIN_PER_IP=100000/1m", "GATEWAY_RATE_LOGIN_PER_ACCOUNT=100000/1m",
			"GATEWAY_RATE_LOGIN_PER_ACCOUNT_ADDRESS=100000/1m",
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	place(ctx, &cfg)
	cfg.Env = append(cfg.Env, "PERSISTER_DEAD_LETTER_TOPIC="+cfg.Topic+".dead-letter")
	sys, err := devstack.StartSystem(ctx, cfg)
	if err != nil {
		t.Fatalf("start system: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := sys.Close(ctx); err != nil {
			t.Errorf("stop system: %v", err)
		}
		// Logs of a failed scenario are kept for whoever investigates.
		if t.Failed() {
			for _, s := range sys.Services() {
				t.Logf("log of %s: %s", s.Name(), s.LogPath())
			}
		} else if err := os.RemoveAll(dir); err != nil {
			t.Error(err)
		}
	})
	return sys
}

// environment describes the machine and the code for the report.
func environment() []string {
	out := []string{fmt.Sprintf("machine: %d CPU cores (GOMAXPROCS %d), %s/%s, %s", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())}
	if rev, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		line := "code: commit " + strings.TrimSpace(string(rev))
		if st, err := exec.Command("git", "status", "--porcelain").Output(); err == nil && len(st) > 0 {
			line += " plus uncommitted changes"
		}
		out = append(out, line)
	}
	return out
}
