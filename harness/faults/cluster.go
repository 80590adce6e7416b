package faults

import (
	"context"
	"fmt"

	"github.com/quickchat-go/quickchat/harness/devstack"
)

// ClusterScenarios are the faults of the secured, clustered stack s, whose chat topic is
// topic: a broker or a Redis master dies under load, and every broker restarts in turn.
// s is used only when a fault is injected.
func ClusterScenarios(s *devstack.SecureStack, topic string) []Scenario {
	return []Scenario{
		{
			Name: "kill-kafka-leader", Title: "SIGKILL the Kafka broker leading a partition (3 brokers, RF 3, min ISR 2)", RestartsServers: true,
			Note: "The broker leading partition 0 of the chat topic is killed with SIGKILL under load, left down for 5 s and started again. The controller moves leadership to an in-sync follower; sends in flight on the dead leader fail or time out, are answered `unavailable` and resent by the clients with the same client id. With acks=all and two replicas in sync, every acknowledged record is on a surviving broker.",
			Inject: func(ctx context.Context, sys *devstack.System, logf func(string, ...any)) error {
				leader, err := s.Kafka.Leader(ctx, topic, 0)
				if err != nil {
					return err
				}
				logf("SIGKILL Kafka node %d (leader of %s/0, pid %d)", leader.ID(), topic, leader.Pid())
				if err := leader.Kill(); err != nil {
					return err
				}
				sleep(ctx, serverDown)
				logf("starting Kafka node %d", leader.ID())
				if err := leader.Start(ctx); err != nil {
					return err
				}
				return s.Kafka.WaitInSync(ctx, topic)
			},
		},
		{
			Name: "kill-redis-master", Title: "SIGKILL a Redis Cluster master (3 masters + 3 replicas, TLS + ACL)", RestartsServers: true,
			Note: "The master holding shard stream 0 (each master holds about a third of the rooms' streams) is killed with SIGKILL under load; after the cluster's node timeout its replica is promoted. Redis replicates asynchronously, so the newest entries of the dead master may never reach the replica: realtime then finds positions missing from a room's stream, fills what it can from the room's history and tells the members it cannot fill to reload (`reset`), and a resend whose first attempt's record was lost is published again. The killed node is started again and rejoins as a replica. Silently missing a message would fail the run.",
			Inject: func(ctx context.Context, sys *devstack.System, logf func(string, ...any)) error {
				master, err := s.SecureRedis.MasterFor(ctx, "{stream.0}")
				if err != nil {
					return err
				}
				logf("SIGKILL Redis master %s (pid %d)", master.Addr(), master.Pid())
				if err := master.Kill(); err != nil {
					return err
				}
				if err := s.SecureRedis.WaitHealthy(ctx); err != nil {
					return fmt.Errorf("cluster after the master's death: %w", err)
				}
				logf("replica promoted; starting %s again", master.Addr())
				if err := master.Start(ctx); err != nil {
					return err
				}
				return s.SecureRedis.WaitHealthy(ctx)
			},
		},
		{
			Name: "rolling-restart-kafka", Title: "Rolling restart of all three Kafka brokers", RestartsServers: true,
			Note: "Each broker in turn is stopped (controlled shutdown: it hands its leaderships over first), started again and waited for until every partition is back in sync, under load. The producers follow leadership; nothing acknowledged may be lost, nothing stored twice.",
			Inject: func(ctx context.Context, sys *devstack.System, logf func(string, ...any)) error {
				logf("rolling restart of %d Kafka brokers", len(s.Kafka.Nodes()))
				return s.Kafka.RollingRestart(ctx)
			},
		},
	}
}
