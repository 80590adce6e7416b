package faults

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/quickchat-go/quickchat/harness/devstack"
)

// PersisterPause is how long the pause scenario keeps a persister stopped.
const PersisterPause = 30 * time.Second

// serverDown is how long a restarted server stays down, and processDown a killed service
// process: long enough for every client to notice and for retries to pile up.
const (
	serverDown  = 5 * time.Second
	processDown = 5 * time.Second
)

// Scenarios are every fault of make test-faults, in the order they run. The ones that
// stop a server come after the ones that only touch services, and the one that wipes
// Redis comes last.
func Scenarios() []Scenario {
	return []Scenario{
		{
			Name: "kill-persister", Title: "SIGKILL a persister",
			Note: "persister-1 is killed with SIGKILL mid-batch and started again 5 s later. Its partitions move to persister-2 after the consumer-group session times out; what it had written but not committed is read again and skipped by primary key and client key.",
			Inject: func(ctx context.Context, sys *devstack.System, logf func(string, ...any)) error {
				return killAndRestart(ctx, sys.Persister[0], processDown, logf)
			},
		},
		{
			Name: "kill-realtime", Title: "SIGKILL a realtime instance",
			Note: "realtime-1 is killed with SIGKILL and started again 5 s later. Its clients see the connection drop, reconnect to realtime-2, rejoin with their last position and resend what was not acknowledged.",
			Inject: func(ctx context.Context, sys *devstack.System, logf func(string, ...any)) error {
				return killAndRestart(ctx, sys.Realtime[0], processDown, logf)
			},
		},
		{
			Name: "rolling-restart-realtime", Title: "Rolling restart of both realtime instances (SIGTERM)",
			Note: "realtime-1 is stopped with SIGTERM and started again, then realtime-2. Each drains: finishes the sends in flight, closes its clients with 4012, and exits; clients reconnect to the other instance.",
			Inject: func(ctx context.Context, sys *devstack.System, logf func(string, ...any)) error {
				for _, rt := range sys.Realtime {
					logf("SIGTERM %s", rt.Name())
					if err := rt.Stop(ctx); err != nil {
						return err
					}
					if err := rt.Start(ctx); err != nil {
						return err
					}
					logf("%s is ready again", rt.Name())
				}
				return nil
			},
		},
		{
			Name: "restart-kafka", Title: "Restart Kafka", RestartsServers: true,
			Note: "The Kafka broker (the only one) is stopped, left down for 5 s and started again. Meanwhile no message can be made durable, so sends are answered `unavailable` and resent by the clients; nothing is acknowledged that Kafka did not acknowledge.",
			Inject: func(ctx context.Context, sys *devstack.System, logf func(string, ...any)) error {
				logf("stopping Kafka")
				if err := sys.Stack.Kafka.Stop(ctx); err != nil {
					return err
				}
				sleep(ctx, serverDown)
				logf("starting Kafka")
				return sys.Stack.Kafka.Start(ctx)
			},
		},
		{
			Name: "restart-redis", Title: "Restart Redis", RestartsServers: true,
			Note: "Redis is shut down (it writes its append-only file), left down for 5 s and started again on the same data. Sends fail with `unavailable` and are resent; joins wait; rooms keep their epoch and offsets, so rejoins recover.",
			Inject: func(ctx context.Context, sys *devstack.System, logf func(string, ...any)) error {
				logf("stopping Redis")
				if err := sys.Stack.Redis.Stop(ctx); err != nil {
					return err
				}
				sleep(ctx, serverDown)
				logf("starting Redis")
				return sys.Stack.Redis.Start(ctx)
			},
		},
		{
			Name: "restart-postgres", Title: "Restart PostgreSQL", RestartsServers: true,
			Note: "PostgreSQL is stopped (fast shutdown: open transactions roll back), left down for 5 s and started again. Chat keeps flowing (it does not touch PostgreSQL); the persisters retry their batches and commit Kafka offsets only after a batch is stored.",
			Inject: func(ctx context.Context, sys *devstack.System, logf func(string, ...any)) error {
				logf("stopping PostgreSQL")
				if err := sys.Stack.Postgres.Stop(ctx); err != nil {
					return err
				}
				sleep(ctx, serverDown)
				logf("starting PostgreSQL")
				return sys.Stack.Postgres.Start(ctx)
			},
		},
		{
			Name: "kill-kafka", Title: "Kafka crashes (SIGKILL)", RestartsServers: true,
			Note: "The Kafka broker is killed with SIGKILL, left down for 5 s and started again; it recovers its log on start. What it acknowledged was in its log files (the page cache survives a process crash), so nothing acknowledged is lost.",
			Inject: func(ctx context.Context, sys *devstack.System, logf func(string, ...any)) error {
				logf("SIGKILL Kafka")
				if err := sys.Stack.Kafka.Kill(); err != nil {
					return err
				}
				sleep(ctx, serverDown)
				logf("starting Kafka")
				return sys.Stack.Kafka.Start(ctx)
			},
		},
		{
			Name: "kill-redis", Title: "Redis crashes (SIGKILL)", RestartsServers: true,
			Note: "Redis is killed with SIGKILL, left down for 5 s and started again on its append-only file. Redis writes each command to the file before it answers, so a process crash loses nothing it answered; only a crash of the machine could lose up to a second (fsync every second), which this run cannot simulate.",
			Inject: func(ctx context.Context, sys *devstack.System, logf func(string, ...any)) error {
				logf("SIGKILL Redis")
				if err := sys.Stack.Redis.Kill(); err != nil {
					return err
				}
				sleep(ctx, serverDown)
				logf("starting Redis")
				return sys.Stack.Redis.Start(ctx)
			},
		},
		{
			Name: "kill-postgres", Title: "PostgreSQL crashes (SIGKILL)", RestartsServers: true,
			Note: "PostgreSQL and all its backends are killed with SIGKILL, left down for 5 s and started again; it replays its write-ahead log on start. A batch whose transaction had not committed is retried by the persister; one that had committed is skipped as duplicate.",
			Inject: func(ctx context.Context, sys *devstack.System, logf func(string, ...any)) error {
				logf("SIGKILL PostgreSQL")
				if err := sys.Stack.Postgres.Kill(); err != nil {
					return err
				}
				sleep(ctx, serverDown)
				logf("starting PostgreSQL")
				return sys.Stack.Postgres.Start(ctx)
			},
		},
		{
			Name: "pause-persister", Title: fmt.Sprintf("Pause a persister (SIGSTOP) for %v", PersisterPause),
			Note: fmt.Sprintf("persister-1 is frozen with SIGSTOP for %v and continued with SIGCONT. It keeps its sockets but does nothing: its partitions wait until the group evicts it, then persister-2 takes them; when it wakes, its session is gone and what it wrote is skipped as duplicate.", PersisterPause),
			Inject: func(ctx context.Context, sys *devstack.System, logf func(string, ...any)) error {
				p := sys.Persister[0]
				logf("SIGSTOP %s", p.Name())
				if err := p.Pause(); err != nil {
					return err
				}
				sleep(ctx, PersisterPause)
				logf("SIGCONT %s", p.Name())
				return p.Resume()
			},
		},
		{
			Name: "redis-data-loss", Title: "Redis crashes and loses its data", RestartsServers: true, Degraded: true,
			Note: "Redis is killed with SIGKILL and its data deleted before it starts again, as a Redis without persistence (or with a lost disk) would come back. Storage is unaffected (Kafka and PostgreSQL hold every acknowledged message), but the rooms' recovery history, offsets and resend records are gone: rooms start a new epoch, and every member must be told — `recovered: false` on rejoin or a `reset` — to reload history from the gateway. Silently missing a message would fail the run. A resend of a message whose first attempt reached Kafka before the loss may be stored under the first attempt's id while the ack names the second; the table counts those.",
			Inject: func(ctx context.Context, sys *devstack.System, logf func(string, ...any)) error {
				logf("SIGKILL Redis and delete its data")
				if err := sys.Stack.Redis.Kill(); err != nil {
					return err
				}
				data := filepath.Join(sys.Stack.Redis.Dir(), "data")
				if err := os.RemoveAll(data); err != nil {
					return fmt.Errorf("delete Redis data: %w", err)
				}
				if err := os.MkdirAll(data, 0o755); err != nil {
					return fmt.Errorf("recreate Redis data dir: %w", err)
				}
				logf("starting Redis empty")
				return sys.Stack.Redis.Start(ctx)
			},
		},
	}
}

// killAndRestart kills svc with SIGKILL and starts it again after down.
func killAndRestart(ctx context.Context, svc *devstack.Service, down time.Duration, logf func(string, ...any)) error {
	logf("SIGKILL %s (pid %d)", svc.Name(), svc.Pid())
	if err := svc.Kill(); err != nil {
		return err
	}
	sleep(ctx, down)
	logf("starting %s again", svc.Name())
	return svc.Start(ctx)
}
