package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/quickchat-go/quickchat/harness/chatclient"
	"github.com/quickchat-go/quickchat/harness/devstack"
	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
	"github.com/quickchat-go/quickchat/pkg/kafka"
	"github.com/quickchat-go/quickchat/pkg/redisconn"
)

// secureStack is the secured, clustered stack of `devstack up -secure`, read from the
// QC_TEST_SECURE_* variables it writes: SASL_SSL Kafka on three brokers, a TLS + ACL Redis
// Cluster and a TLS-only PostgreSQL, all trusting one throwaway CA.
type secureStack struct {
	kafkaBrokers, redisAddrs                    []string
	kafkaCA, kafkaMechanism, kafkaUser, kafkaPW string
	redisCA, redisUser, redisPW                 string
	postgresURL                                 string
}

// secured returns the secured stack, or skips tb when its variables are not set.
func secured(tb testing.TB) secureStack {
	tb.Helper()
	if testing.Short() {
		tb.Skip("end-to-end test: skipped in -short mode")
	}
	s := secureStack{
		kafkaBrokers: splitList(os.Getenv("QC_TEST_SECURE_KAFKA_BROKERS")),
		redisAddrs:   splitList(os.Getenv("QC_TEST_SECURE_REDIS_ADDRS")),
		kafkaCA:      os.Getenv("QC_TEST_SECURE_KAFKA_CA_FILE"), kafkaMechanism: os.Getenv("QC_TEST_SECURE_KAFKA_SASL_MECHANISM"),
		kafkaUser: os.Getenv("QC_TEST_SECURE_KAFKA_USERNAME"), kafkaPW: os.Getenv("QC_TEST_SECURE_KAFKA_PASSWORD"),
		redisCA: os.Getenv("QC_TEST_SECURE_REDIS_CA_FILE"), redisUser: os.Getenv("QC_TEST_SECURE_REDIS_USERNAME"),
		redisPW: os.Getenv("QC_TEST_SECURE_REDIS_PASSWORD"), postgresURL: os.Getenv("QC_TEST_SECURE_POSTGRES_URL"),
	}
	if len(s.kafkaBrokers) == 0 || len(s.redisAddrs) == 0 || s.postgresURL == "" {
		tb.Skip("QC_TEST_SECURE_KAFKA_BROKERS, QC_TEST_SECURE_REDIS_ADDRS and QC_TEST_SECURE_POSTGRES_URL are not set: start `devstack up -secure` and source its env file")
	}
	return s
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (s secureStack) kafkaSettings() kafka.Settings {
	return kafka.Settings{TLS: true, TLSCAFile: s.kafkaCA, SASLMechanism: s.kafkaMechanism, SASLUsername: s.kafkaUser, SASLPassword: s.kafkaPW}
}

func (s secureStack) redisSettings() redisconn.Settings {
	return redisconn.Settings{TLS: true, TLSCAFile: s.redisCA, Username: s.redisUser, Password: s.redisPW}
}

// kafkaEnv and redisEnv are a service's variables for the secured servers; prefix is the
// service's (REALTIME, PERSISTER, GATEWAY).
func (s secureStack) kafkaEnv(prefix string) []string {
	return []string{
		prefix + "_KAFKA_BROKERS=" + strings.Join(s.kafkaBrokers, ","),
		prefix + "_KAFKA_TLS=true", prefix + "_KAFKA_TLS_CA_FILE=" + s.kafkaCA,
		prefix + "_KAFKA_SASL_MECHANISM=" + s.kafkaMechanism,
		prefix + "_KAFKA_SASL_USERNAME=" + s.kafkaUser, prefix + "_KAFKA_SASL_PASSWORD=" + s.kafkaPW,
	}
}

func (s secureStack) redisEnv(prefix string) []string {
	addrs := "_REDIS_ADDRS="
	if prefix == "GATEWAY" {
		addrs = "_REDIS_ADDR="
	}
	return []string{
		prefix + addrs + strings.Join(s.redisAddrs, ","),
		prefix + "_REDIS_TLS=true", prefix + "_REDIS_TLS_CA_FILE=" + s.redisCA,
		prefix + "_REDIS_USERNAME=" + s.redisUser, prefix + "_REDIS_PASSWORD=" + s.redisPW,
	}
}

// database creates a database of its own on the secured PostgreSQL and returns its URL,
// which keeps sslmode=verify-full and sslrootcert; it is dropped when tb ends.
func (s secureStack) database(tb testing.TB) string {
	tb.Helper()
	name := testenv.UniqueName(tb)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dbURL, err := devstack.CreateDatabase(ctx, s.postgresURL, name)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := devstack.DropDatabase(ctx, s.postgresURL, name); err != nil {
			tb.Logf("drop database: %v", err)
		}
	})
	return dbURL
}

// cleanUp deletes the test's topics and its Redis keys from the secured servers when tb
// ends.
func (s secureStack) cleanUp(tb testing.TB, prefix string, topics ...string) {
	tb.Cleanup(func() {
		if cfg, err := s.kafkaSettings().NewConfig("e2e-admin"); err == nil {
			if admin, err := sarama.NewClusterAdmin(s.kafkaBrokers, cfg); err == nil {
				for _, t := range topics {
					_ = admin.DeleteTopic(t)
				}
				_ = admin.Close()
			}
		}
		client, err := redisconn.NewClient(s.redisAddrs, s.redisSettings())
		if err != nil {
			tb.Logf("redis cleanup: %v", err)
			return
		}
		defer client.Close()
		testenv.DeleteClusterKeys(tb, client, prefix)
	})
}

// TestSecuredStackCarriesAMessageEndToEnd runs the whole system on the secured stack: the
// gateway migrates and serves over verify-full TLS, realtime reaches a TLS + ACL Redis
// Cluster and produces over SASL_SSL to three brokers, the persister consumes over
// SASL_SSL and stores over TLS. A message sent on one instance reaches the other and the
// history, and the topic realtime created has three replicas and min.insync.replicas 2.
func TestSecuredStackCarriesAMessageEndToEnd(t *testing.T) {
	s := secured(t)
	topic := "qctest." + testenv.UniqueName(t)
	prefix := "qctest:" + testenv.UniqueName(t) + ":"
	s.cleanUp(t, prefix, topic, topic+".dead-letter")
	env := append(append(append(s.redisEnv("REALTIME"), s.redisEnv("GATEWAY")...), s.kafkaEnv("REALTIME")...), s.kafkaEnv("PERSISTER")...)
	env = append(env, "PERSISTER_DEAD_LETTER_TOPIC="+topic+".dead-letter")
	cfg := devstack.SystemConfig{
		Realtimes: 2, Persisters: 1, Binaries: servicesBuilt(t),
		DatabaseURL: s.database(t), RedisAddr: strings.Join(s.redisAddrs, ","), KafkaBrokers: s.kafkaBrokers,
		RedisPrefix: prefix, Topic: topic, Env: env, Dir: filepath.Join(t.TempDir(), "system"),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sys, err := devstack.StartSystem(ctx, cfg)
	if err != nil {
		t.Fatalf("start system: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := sys.Close(ctx); err != nil {
			t.Errorf("stop system: %v", err)
		}
	})

	api := chatclient.NewAPI(sys.GatewayURL)
	owner, err := api.Register(ctx, "owner@example.com", "correct horse battery", "Owner")
	if err != nil {
		t.Fatal(err)
	}
	g, err := api.CreateGroup(ctx, owner.AccessToken, "Secured", "open sesame")
	if err != nil {
		t.Fatal(err)
	}
	ada, err := api.Join(ctx, g.ID, "Ada", "open sesame", "")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := api.Join(ctx, g.ID, "Bob", "open sesame", "")
	if err != nil {
		t.Fatal(err)
	}
	received := make(chan chatclient.Frame, 16)
	a, err := chatclient.Dial(ctx, sys.RealtimeURLs[0], chatclient.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.CloseNow()
	b, err := chatclient.Dial(ctx, sys.RealtimeURLs[1], chatclient.DialOptions{OnFrame: func(f chatclient.Frame) {
		if f.Type == "message" {
			received <- f
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.CloseNow()
	if _, err := a.Join(ctx, g.ID, ada.Token, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Join(ctx, g.ID, bob.Token, nil); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf("over TLS at %d", time.Now().UnixNano())
	ack, err := a.Send(ctx, g.ID, "c-1", body)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Type != "ack" || ack.ID == "" {
		t.Fatalf("no ack: %s", ack.Raw)
	}
	select {
	case got := <-received:
		if got.Message == nil || got.Message.ID != ack.ID || got.Message.Body != body {
			t.Fatalf("other instance received %s", got.Raw)
		}
	case <-ctx.Done():
		t.Fatal("the client on the other instance received nothing")
	}
	for {
		page, err := api.History(ctx, g.ID, bob.Token, "", "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Messages) == 1 && page.Messages[0].ID == ack.ID {
			break
		}
		if len(page.Messages) > 1 {
			t.Fatalf("history has %d messages, want 1", len(page.Messages))
		}
		select {
		case <-ctx.Done():
			t.Fatal("the message never reached PostgreSQL")
		case <-time.After(200 * time.Millisecond):
		}
	}

	kcfg, err := s.kafkaSettings().NewConfig("e2e-admin")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sarama.NewClusterAdmin(s.kafkaBrokers, kcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	md, err := admin.DescribeTopics([]string{topic})
	if err != nil || len(md) != 1 || len(md[0].Partitions) == 0 {
		t.Fatalf("describe %s: %v %+v", topic, err, md)
	}
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic, ConfigNames: []string{"min.insync.replicas"}})
	if err != nil || len(entries) != 1 {
		t.Fatalf("describe config: %v %+v", err, entries)
	}
	if rf := len(md[0].Partitions[0].Replicas); rf != 3 || entries[0].Value != "2" {
		t.Fatalf("topic %s has %d replicas and min.insync.replicas %s; want 3 and 2", topic, rf, entries[0].Value)
	}
}

// TestSecuredStackRefusesWrongSettingsAtStart starts each service with one backend setting
// wrong and the others right: it must exit within seconds, never answer /readyz with 200,
// and say in its log which backend refused it and why.
func TestSecuredStackRefusesWrongSettingsAtStart(t *testing.T) {
	s := secured(t)
	bins := servicesBuilt(t)
	otherCA, err := devstack.NewCertAuthority(filepath.Join(t.TempDir(), "other-ca"))
	if err != nil {
		t.Fatal(err)
	}
	dbURL := s.database(t)
	pg := func(mutate func(q url.Values, u *url.URL)) string {
		u, err := url.Parse(dbURL)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		mutate(q, u)
		u.RawQuery = q.Encode()
		return u.String()
	}
	// set replaces (or adds) variables in env.
	set := func(env []string, kvs ...string) []string {
		out := append([]string(nil), env...)
		for _, kv := range kvs {
			k, _, _ := strings.Cut(kv, "=")
			replaced := false
			for i, old := range out {
				if strings.HasPrefix(old, k+"=") {
					out[i], replaced = kv, true
				}
			}
			if !replaced {
				out = append(out, kv)
			}
		}
		return out
	}
	type fault struct {
		name, backend string
		env           func(prefix string, env []string) []string
		want          string
	}
	pgFaults := []fault{
		{"a wrong password", "PostgreSQL", func(p string, env []string) []string {
			return set(env, p+"_DATABASE_URL="+pg(func(_ url.Values, u *url.URL) { u.User = url.UserPassword(u.User.Username(), "wrong") }))
		}, "password authentication failed"},
		{"a CA that did not sign the server's certificate", "PostgreSQL", func(p string, env []string) []string {
			return set(env, p+"_DATABASE_URL="+pg(func(q url.Values, _ *url.URL) { q.Set("sslrootcert", otherCA.CAFile()) }))
		}, "not signed by a trusted authority"},
		{"a plaintext connection to the TLS-only server", "PostgreSQL", func(p string, env []string) []string {
			return set(env, p+"_DATABASE_URL="+pg(func(q url.Values, _ *url.URL) { q.Set("sslmode", "disable"); q.Del("sslrootcert") }))
		}, "no encryption"},
	}
	redisFaults := []fault{
		{"a wrong password", "redis", func(p string, env []string) []string { return set(env, p+"_REDIS_PASSWORD=wrong") }, "authentication failed"},
		{"a CA that did not sign the server's certificate", "redis", func(p string, env []string) []string {
			return set(env, p+"_REDIS_TLS_CA_FILE="+otherCA.CAFile())
		}, "not signed by a trusted authority"},
		{"a plaintext client on the TLS port", "redis", func(p string, env []string) []string {
			return set(env, p+"_REDIS_TLS=false", p+"_REDIS_TLS_CA_FILE=")
		}, "TLS port reached without TLS"},
	}
	kafkaFaults := []fault{
		{"a wrong password", "kafka", func(p string, env []string) []string { return set(env, p+"_KAFKA_SASL_PASSWORD=wrong") }, "SASL authentication failed"},
		{"a CA that did not sign the brokers' certificates", "kafka", func(p string, env []string) []string {
			return set(env, p+"_KAFKA_TLS_CA_FILE="+otherCA.CAFile())
		}, "not signed by a trusted authority"},
		{"a plaintext client on the SASL_SSL listener", "kafka", func(p string, env []string) []string {
			return set(env, p+"_KAFKA_TLS=false", p+"_KAFKA_TLS_CA_FILE=", p+"_KAFKA_SASL_WITHOUT_TLS=true")
		}, "closed the connection"},
	}
	topic := "qctest." + testenv.UniqueName(t)
	s.cleanUp(t, "qctest:never:", topic, topic+".dead-letter")
	services := []struct {
		name, prefix string
		env          []string
		faults       []fault
	}{
		{"gateway", "GATEWAY", append([]string{"GATEWAY_DATABASE_URL=" + dbURL}, s.redisEnv("GATEWAY")...),
			append(append([]fault(nil), pgFaults...), redisFaults...)},
		{"realtime", "REALTIME", append(append([]string{
			"REALTIME_JWKS_URL=http://127.0.0.1:1/.well-known/jwks.json", "REALTIME_KAFKA_TOPIC=" + topic,
		}, s.redisEnv("REALTIME")...), s.kafkaEnv("REALTIME")...),
			append(append([]fault(nil), redisFaults...), kafkaFaults...)},
		{"persister", "PERSISTER", append([]string{
			"PERSISTER_DATABASE_URL=" + dbURL, "PERSISTER_KAFKA_TOPIC=" + topic, "PERSISTER_DEAD_LETTER_TOPIC=" + topic + ".dead-letter",
		}, s.kafkaEnv("PERSISTER")...),
			append(append([]fault(nil), pgFaults...), kafkaFaults...)},
	}
	for _, svc := range services {
		for _, f := range svc.faults {
			t.Run(svc.name+" with "+f.backend+": "+f.name, func(t *testing.T) {
				ops, err := devstack.FreePort()
				if err != nil {
					t.Fatal(err)
				}
				env := set(svc.env, fmt.Sprintf("%s_OPS_ADDR=127.0.0.1:%d", svc.prefix, ops))
				if svc.name != "persister" { // the persister has no public listener
					env = set(env, svc.prefix+"_ADDR=127.0.0.1:0")
				}
				env = f.env(svc.prefix, env)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				start := time.Now()
				svcProc, err := devstack.StartService(ctx, devstack.ServiceConfig{
					Name: svc.name, Binary: bins[svc.name], Env: env, Dir: t.TempDir(),
					ReadyURL: fmt.Sprintf("http://127.0.0.1:%d/readyz", ops),
				})
				took := time.Since(start)
				if err == nil {
					_ = svcProc.Stop(context.Background())
					t.Fatalf("%s became ready with %s", svc.name, f.name)
				}
				// The error carries the log's last lines: the service's one line on exit.
				msg := err.Error()
				if !strings.Contains(msg, "exited early") || !strings.Contains(msg, f.backend) || !strings.Contains(msg, f.want) {
					t.Fatalf("start failed without naming %s and %q:\n%s", f.backend, f.want, msg)
				}
				if took > 45*time.Second {
					t.Fatalf("took %v to give up", took)
				}
				lines := strings.Split(strings.TrimSpace(msg), "\n")
				t.Logf("exited after %v: %s", took.Round(time.Millisecond), lines[len(lines)-1])
			})
		}
	}
}
