package devstack

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
)

// startRedisCluster starts a cluster of 3 masters and 3 replicas for one test.
func startRedisCluster(t *testing.T, cfg RedisClusterConfig) *RedisCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts a Redis Cluster")
	}
	start := time.Now()
	c, err := StartRedisCluster(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("StartRedisCluster (TLS %v, ACL %v) took %v (dir %s)", c.TLS(), c.Password() != "", time.Since(start), c.Dir())
	t.Cleanup(func() {
		start := time.Now()
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		t.Logf("Close took %v", time.Since(start))
	})
	return c
}

// clusterClient connects a rueidis cluster client with the cluster's application user.
func clusterClient(tb testing.TB, c *RedisCluster, mutate func(*rueidis.ClientOption)) (rueidis.Client, error) {
	tb.Helper()
	tlsCfg, err := c.ClientTLSConfig()
	if err != nil {
		tb.Fatal(err)
	}
	opt := rueidis.ClientOption{
		InitAddress:  c.Addrs(),
		Username:     c.Username(),
		Password:     c.Password(),
		TLSConfig:    tlsCfg,
		DisableCache: true,
		Dialer:       net.Dialer{Timeout: 3 * time.Second},
	}
	if mutate != nil {
		mutate(&opt)
	}
	return rueidis.NewClient(opt)
}

// keysOnEveryMaster returns one key per master of c.
func keysOnEveryMaster(ctx context.Context, tb testing.TB, c *RedisCluster) []string {
	tb.Helper()
	masters, err := c.Masters(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	seen := map[*RedisNode]bool{}
	var keys []string
	for i := 0; len(seen) < len(masters) && i < 1000; i++ {
		key := fmt.Sprintf("devstack:key:%d", i)
		m, err := c.MasterFor(ctx, key)
		if err != nil {
			tb.Fatal(err)
		}
		if !seen[m] {
			seen[m] = true
			keys = append(keys, key)
		}
	}
	if len(keys) != 3 {
		tb.Fatalf("found keys on %d masters, want 3", len(keys))
	}
	return keys
}

func TestRedisClusterWithTLSAndACLServesEverySlotToItsUserOnly(t *testing.T) {
	c := startRedisCluster(t, RedisClusterConfig{TLS: true, Password: "app-secret"})
	ctx := t.Context()
	if n := len(c.Nodes()); n != 6 {
		t.Fatalf("%d nodes, want 6", n)
	}
	client, err := clusterClient(t, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	keys := keysOnEveryMaster(ctx, t, c)
	for _, key := range keys {
		if err := client.Do(ctx, client.B().Set().Key(key).Value("v-"+key).Build()).Error(); err != nil {
			t.Fatalf("SET %s: %v", key, err)
		}
	}
	for _, key := range keys {
		got, err := client.Do(ctx, client.B().Get().Key(key).Build()).ToString()
		if err != nil || got != "v-"+key {
			t.Fatalf("GET %s = %q, %v", key, got, err)
		}
	}
	script := rueidis.NewLuaScript(`redis.call('XADD', KEYS[1], '*', 'n', ARGV[1]); return redis.call('XLEN', KEYS[1])`)
	if n, err := script.Exec(ctx, client, []string{"devstack:{room}:stream"}, []string{"1"}).AsInt64(); err != nil || n != 1 {
		t.Fatalf("Lua script with XADD = %d, %v", n, err)
	}
	if err := client.Do(ctx, client.B().Flushall().Build()).Error(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Fatalf("FLUSHALL as the application user: err = %v, want NOPERM", err)
	}

	refusals := []struct {
		name   string
		mutate func(*rueidis.ClientOption)
		want   string
	}{
		{name: "a wrong password is refused", mutate: func(o *rueidis.ClientOption) { o.Password = "wrong" }, want: "WRONGPASS"},
		{name: "the default user is disabled", mutate: func(o *rueidis.ClientOption) { o.Username, o.Password = "", "" }, want: "NOAUTH"},
		{name: "a client without the CA refuses the nodes' certificate", mutate: func(o *rueidis.ClientOption) {
			o.TLSConfig = &tls.Config{RootCAs: x509.NewCertPool()}
		}, want: "certificate"},
		{name: "a plaintext client gets no answer", mutate: func(o *rueidis.ClientOption) { o.TLSConfig = nil }, want: ""},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			bad, err := clusterClient(t, c, tt.mutate)
			if err == nil {
				// rueidis may connect lazily; the first command must fail then.
				err = bad.Do(ctx, bad.B().Get().Key(keys[0]).Build()).Error()
				bad.Close()
			}
			if err == nil {
				t.Fatal("client was served")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
			t.Logf("refused after %v: %v", time.Since(start).Round(time.Millisecond), err)
			if d := time.Since(start); d > 15*time.Second {
				t.Fatalf("refusal took %v", d)
			}
		})
	}
}

func TestRedisClusterFailsOverWhenAMasterIsKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts Redis Clusters")
	}
	for _, tt := range []struct {
		name string
		cfg  RedisClusterConfig
	}{
		{name: "plain", cfg: RedisClusterConfig{}},
		{name: "TLS and ACL", cfg: RedisClusterConfig{TLS: true, Password: "app-secret"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := startRedisCluster(t, tt.cfg)
			ctx := t.Context()
			client, err := clusterClient(t, c, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()

			const key = "devstack:failover"
			master, err := c.MasterFor(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			setAndWaitForReplica(t, master, key, "before kill")
			if err := master.Kill(); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			if err := c.WaitHealthy(wctx); err != nil {
				t.Fatal(err)
			}
			t.Logf("healthy again %v after killing master %s", time.Since(start), master.Addr())
			promoted, err := c.MasterFor(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if promoted == master {
				t.Fatalf("killed node %s still masters the key", master.Addr())
			}
			requireValue(t, client, key, "before kill")
			if err := client.Do(ctx, client.B().Set().Key(key).Value("after failover").Build()).Error(); err != nil {
				t.Fatalf("SET after failover: %v", err)
			}

			start = time.Now()
			if err := master.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if err := c.WaitHealthy(wctx); err != nil {
				t.Fatal(err)
			}
			t.Logf("healthy again %v after restarting the former master", time.Since(start))
			if role, err := master.Role(ctx); err != nil || role != "replica" {
				t.Fatalf("restarted former master's role = %q, %v; want replica", role, err)
			}
			requireValue(t, client, key, "after failover")
		})
	}
}

// setAndWaitForReplica sets key on its master and waits until a replica has the write, so
// that a failover cannot lose it.
func setAndWaitForReplica(tb testing.TB, master *RedisNode, key, value string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := master.dial(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Do(ctx, "SET", key, value); err != nil {
		tb.Fatal(err)
	}
	if n, err := conn.Do(ctx, "WAIT", "1", "5000"); err != nil || n != int64(1) {
		tb.Fatalf("WAIT 1 = %v, %v", n, err)
	}
}

// requireValue reads key through the cluster client until it answers (the client
// learns the new topology by itself) and checks the value.
func requireValue(tb testing.TB, client rueidis.Client, key, want string) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		got, err := client.Do(ctx, client.B().Get().Key(key).Build()).ToString()
		cancel()
		if err == nil {
			if got != want {
				tb.Fatalf("GET %s = %q, want %q", key, got, want)
			}
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("GET %s: %v", key, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
