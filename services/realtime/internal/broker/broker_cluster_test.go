package broker

import (
	"context"
	"strconv"
	"testing"

	"github.com/redis/rueidis"

	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
	"github.com/quickchat-go/quickchat/pkg/redisconn"
	"github.com/quickchat-go/quickchat/pkg/wire"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node/nodetest"
)

// redisCluster is a Redis Cluster of `devstack up -secure`: the plain one
// (QC_TEST_CLUSTER_REDIS_ADDRS) or the TLS + ACL one (QC_TEST_SECURE_REDIS_*).
type redisCluster struct {
	name     string
	addrs    []string
	settings redisconn.Settings
}

// redisClusters returns the clusters `devstack up -secure` announced, skipping tb when
// none is.
func redisClusters(tb testing.TB) []redisCluster {
	tb.Helper()
	var out []redisCluster
	for _, c := range testenv.RedisClusters(tb) {
		out = append(out, redisCluster{name: c.Name, addrs: c.Addrs, settings: redisconn.Settings{
			TLS: c.TLS, TLSCAFile: c.CAFile, Username: c.Username, Password: c.Password,
		}})
	}
	return out
}

// setupCluster returns a broker over a client of c, under a key prefix no other test
// uses; the prefix's keys are deleted from every master when tb ends.
func setupCluster(tb testing.TB, c redisCluster, mutate func(*RedisBrokerConfig)) bundle {
	tb.Helper()
	client, err := redisconn.NewClient(c.addrs, c.settings)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(client.Close)
	return newBundle(tb, client, testenv.ClusterKeyPrefix(tb, client), mutate)
}

// TestRedisBrokerConformsOnARedisCluster runs the broker's conformance suite on a real
// Redis Cluster: a script or XREAD whose keys were not all in one hash slot would fail
// with CROSSSLOT (or, in rueidis, refuse to build), and a key layout that put every
// shard in one slot would show in the spread test below.
func TestRedisBrokerConformsOnARedisCluster(t *testing.T) {
	for _, c := range redisClusters(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Run("broker", func(t *testing.T) {
				nodetest.TestBroker(t, func(t *testing.T) node.Broker { return setupCluster(t, c, nil).broker })
			})
			t.Run("revocation", func(t *testing.T) {
				nodetest.TestRevocation(t, func(t *testing.T) (node.Broker, nodetest.Revoke) {
					b := setupCluster(t, c, nil)
					return b.broker, func(t *testing.T, room string, members ...string) {
						t.Helper()
						revoke(t, b, room, wire.ReasonRemoved, members...)
					}
				})
			})
			t.Run("the shards spread over more than one master", func(t *testing.T) {
				b := setupCluster(t, c, func(cfg *RedisBrokerConfig) { cfg.Shards = 16 })
				masters := map[string]bool{}
				for i := 0; i < 16; i++ {
					slot := b.client.B().ClusterKeyslot().Key(b.broker.layout.Stream(i)).Build()
					n, err := b.client.Do(context.Background(), slot).AsInt64()
					if err != nil {
						t.Fatal(err)
					}
					masters[masterOf(t, b.client, n)] = true
				}
				if len(masters) < 2 {
					t.Fatalf("16 shard streams live on %d master(s)", len(masters))
				}
			})
		})
	}
}

// masterOf returns the address of the master serving hash slot slot.
func masterOf(tb testing.TB, client rueidis.Client, slot int64) string {
	tb.Helper()
	res, err := client.Do(context.Background(), client.B().ClusterSlots().Build()).ToArray()
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range res {
		rng, err := r.ToArray()
		if err != nil || len(rng) < 3 {
			tb.Fatalf("CLUSTER SLOTS entry %v: %v", r, err)
		}
		lo, _ := rng[0].AsInt64()
		hi, _ := rng[1].AsInt64()
		if slot < lo || slot > hi {
			continue
		}
		node, _ := rng[2].ToArray()
		host, _ := node[0].ToString()
		port, _ := node[1].AsInt64()
		return host + ":" + strconv.FormatInt(port, 10)
	}
	tb.Fatalf("no master serves slot %d", slot)
	return ""
}
