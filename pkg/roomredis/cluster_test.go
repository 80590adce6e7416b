package roomredis

import (
	"testing"

	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
	"github.com/quickchat-go/quickchat/pkg/redisconn"
)

// TestOnARedisCluster runs this package's Redis tests on the Redis Clusters of `devstack
// up -secure` (plain, and TLS + ACL): the revoke script's keys and the presence keys must
// all hash to one slot, or Redis refuses the script with CROSSSLOT.
func TestOnARedisCluster(t *testing.T) {
	clusters := testenv.RedisClusters(t)
	tests := []struct {
		name string
		run  func(*testing.T, bundle)
	}{
		{"revoking marks members and tells the room's stream once", testRevokeMarksMembersAndTellsTheRoomsStreamOnce},
		{"revoking many members splits into batches", testRevokeOfManyMembersSplitsIntoEntriesOfAtMostABatch},
		{"revoking refuses what realtime could not read", testRevokeRefusesWhatRealtimeCouldNotRead},
		{"online lists members with a live connection", testOnlineListsMembersWithALiveConnection},
	}
	for _, c := range clusters {
		settings := redisconn.Settings{TLS: c.TLS, TLSCAFile: c.CAFile, Username: c.Username, Password: c.Password}
		t.Run(c.Name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) { tt.run(t, setupCluster(t, c.Addrs, settings)) })
			}
		})
	}
}

// setupCluster returns a bundle over a client of the cluster at addrs, under a key prefix
// no other test uses; the prefix's keys are deleted from every master when tb ends.
func setupCluster(tb testing.TB, addrs []string, s redisconn.Settings) bundle {
	tb.Helper()
	client, err := redisconn.NewClient(addrs, s)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(client.Close)
	return bundle{client: client, layout: Layout{Prefix: testenv.ClusterKeyPrefix(tb, client), Shards: 4}}
}
