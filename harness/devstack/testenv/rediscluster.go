package testenv

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/redis/rueidis"

	"github.com/quickchat-go/quickchat/harness/devstack"
)

// RedisCluster is a Redis Cluster announced by `devstack up -secure` and how to reach it.
// Callers turn it into their own client settings (this package cannot import the
// product's).
type RedisCluster struct {
	// Name says which of the stack's clusters it is ("plain", "TLS and ACL").
	Name  string
	Addrs []string
	// TLS, CAFile, Username and Password are set for the TLS + ACL cluster.
	TLS                bool
	CAFile             string
	Username, Password string
}

// RedisClusters returns the Redis Clusters whose variables are set (the plain one and the
// TLS + ACL one of `devstack up -secure`), skipping tb when none is or in -short mode.
func RedisClusters(tb testing.TB) []RedisCluster {
	tb.Helper()
	if testing.Short() {
		tb.Skip("integration test: needs a Redis Cluster (skipped with -short)")
	}
	var out []RedisCluster
	if addrs := os.Getenv(devstack.EnvClusterRedisAddrs); addrs != "" {
		out = append(out, RedisCluster{Name: "plain", Addrs: strings.Split(addrs, ",")})
	}
	if addrs := os.Getenv(devstack.EnvSecureRedisAddrs); addrs != "" {
		out = append(out, RedisCluster{
			Name: "TLS and ACL", Addrs: strings.Split(addrs, ","), TLS: true,
			CAFile:   os.Getenv(devstack.EnvSecureRedisCAFile),
			Username: os.Getenv(devstack.EnvSecureRedisUsername), Password: os.Getenv(devstack.EnvSecureRedisPassword),
		})
	}
	if len(out) == 0 {
		tb.Skipf("%s and %s are not set: start `devstack up -secure` and source its env file",
			devstack.EnvClusterRedisAddrs, devstack.EnvSecureRedisAddrs)
	}
	return out
}

// ClusterKeyPrefix returns a key prefix no other test uses, ending in ":"; its keys are
// deleted from every master of client's cluster when tb ends (before client is closed,
// if the caller registered that cleanup first).
func ClusterKeyPrefix(tb testing.TB, client rueidis.Client) string {
	tb.Helper()
	prefix := "qctest:" + UniqueName(tb) + ":"
	tb.Cleanup(func() { DeleteClusterKeys(tb, client, prefix) })
	return prefix
}

// DeleteClusterKeys deletes the keys under prefix on every node of client's cluster.
func DeleteClusterKeys(tb testing.TB, client rueidis.Client, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	for addr, node := range client.Nodes() {
		var cursor uint64
		for {
			e, err := node.Do(ctx, node.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
			if err != nil {
				tb.Logf("testenv: scan %s: %v", addr, err)
				break
			}
			for _, k := range e.Elements {
				// Through the cluster client, so each DEL reaches the key's master.
				_ = client.Do(ctx, client.B().Del().Key(k).Build()).Error()
			}
			if cursor = e.Cursor; cursor == 0 {
				break
			}
		}
	}
}
