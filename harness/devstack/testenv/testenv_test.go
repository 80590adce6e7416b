package testenv_test

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"

	"github.com/quickchat-go/quickchat/harness/devstack"
	"github.com/quickchat-go/quickchat/harness/devstack/internal/resp"
	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestPostgresURLGivesEachTestAnEmptyDatabaseDroppedAfterwards(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs PostgreSQL (skipped with -short)")
	}
	t.Parallel()
	var names []string
	for _, sub := range []string{"first", "second"} {
		t.Run(sub, func(t *testing.T) {
			url := testenv.PostgresURL(t)
			conn := connect(t, url)
			var tables int
			if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil {
				t.Fatal(err)
			}
			if tables != 0 {
				t.Fatalf("new database has %d tables, want 0", tables)
			}
			// A table made here must not show up in the other subtest's database.
			if _, err := conn.Exec(t.Context(), "CREATE TABLE only_here (id int)"); err != nil {
				t.Fatal(err)
			}
			var name string
			if err := conn.QueryRow(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
				t.Fatal(err)
			}
			names = append(names, name)
		})
	}
	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("databases %q, want two different ones", names)
	}
	admin := connect(t, testenv.PostgresAdminURL(t))
	var left int
	if err := admin.QueryRow(t.Context(), "SELECT count(*) FROM pg_database WHERE datname = ANY($1)", names).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d of the subtests' databases %q still exist after they ended", left, names)
	}
}

func TestKeyPrefixIsUniqueAndItsKeysAreDeletedAfterwards(t *testing.T) {
	t.Parallel()
	addr := testenv.RedisAddr(t)
	var prefixes []string
	for _, sub := range []string{"a", "b"} {
		t.Run(sub, func(t *testing.T) {
			p := testenv.KeyPrefix(t)
			if _, err := resp.Do(t.Context(), addr, "SET", p+"k", "v"); err != nil {
				t.Fatal(err)
			}
			if _, err := resp.Do(t.Context(), addr, "XADD", p+"stream", "*", "f", "v"); err != nil {
				t.Fatal(err)
			}
			prefixes = append(prefixes, p)
		})
	}
	if len(prefixes) != 2 || prefixes[0] == prefixes[1] {
		t.Fatalf("prefixes %q, want two different ones", prefixes)
	}
	for _, p := range prefixes {
		for _, key := range []string{p + "k", p + "stream"} {
			n, err := resp.Do(t.Context(), addr, "EXISTS", key)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(0) {
				t.Errorf("%s still exists after its test ended", key)
			}
		}
	}
}

func TestTopicIsCreatedWithItsPartitionsAndDeletedAfterwards(t *testing.T) {
	t.Parallel()
	brokers := testenv.KafkaBrokers(t)
	var topic string
	t.Run("user", func(t *testing.T) {
		topic = testenv.Topic(t, 3)
		client := kafkaClient(t, brokers)
		parts, err := client.Partitions(topic)
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) != 3 {
			t.Fatalf("topic %s has %d partitions, want 3", topic, len(parts))
		}
	})
	client := kafkaClient(t, brokers)
	deadline := time.Now().Add(10 * time.Second)
	for {
		topics, err := client.Topics()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, tp := range topics {
			found = found || tp == topic
		}
		if !found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s still exists after its test ended", topic)
		}
		time.Sleep(100 * time.Millisecond)
		_ = client.RefreshMetadata()
	}
	if g1, g2 := testenv.ConsumerGroup(t), testenv.ConsumerGroup(t); g1 == g2 {
		t.Fatalf("ConsumerGroup returned %q twice", g1)
	}
}

func TestUniqueNameIsValidEverywhere(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z][a-z0-9_]{0,49}$`)
	tests := []struct {
		name string
	}{
		{"plain"},
		{"With Spaces And CAPS"},
		{"123 starts with a digit"},
		{"symbols !@#$%^&*()+=/\\.-"},
		{"ünïcödé"},
		{strings.Repeat("very long name ", 20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := testenv.UniqueName(t)
			if !valid.MatchString(got) {
				t.Fatalf("UniqueName = %q, not a valid identifier of at most 50 bytes", got)
			}
			if again := testenv.UniqueName(t); again == got {
				t.Fatalf("UniqueName returned %q twice", got)
			}
		})
	}
}

// TestHelpersUseServersFromTheEnvironment runs this test binary again with the
// QC_TEST_ variables pointing at servers started here, and checks the child used them.
func TestHelpersUseServersFromTheEnvironment(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		t.Skip("running as a child")
	}
	if testing.Short() {
		t.Skip("integration test")
	}
	t.Parallel()
	r, err := devstack.StartRedis(t.Context(), devstack.RedisConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	// PostgreSQL and Kafka come from this process's own shared servers.
	env := []string{
		"TESTENV_CHILD=1",
		devstack.EnvRedisAddr + "=" + r.Addr(),
		devstack.EnvPostgresURL + "=" + testenv.PostgresAdminURL(t),
		devstack.EnvKafkaBrokers + "=" + strings.Join(testenv.KafkaBrokers(t), ","),
	}
	out := runChild(t, env, "-test.run=^TestChild", "-test.v")
	for _, want := range []string{
		"--- PASS: TestChildUsesEnvironment",
		"redis=" + r.Addr() + " ",
		"postgres=" + testenv.PostgresAdminURL(t) + " ",
		"kafka=" + strings.Join(testenv.KafkaBrokers(t), ",") + " ",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("child output lacks %q:\n%s", want, out)
		}
	}
}

func TestHelpersSkipInShortMode(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		t.Skip("running as a child")
	}
	t.Parallel()
	out := runChild(t, []string{"TESTENV_CHILD=1"}, "-test.run=^TestChildUsesEnvironment$", "-test.v", "-test.short")
	if !strings.Contains(out, "--- SKIP: TestChildUsesEnvironment") || !strings.Contains(out, "skipped with -short") {
		t.Fatalf("child did not skip under -short:\n%s", out)
	}
}

// TestChildUsesEnvironment only does work inside a child started by the tests above.
func TestChildUsesEnvironment(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") != "1" {
		t.Skip("only runs as a child")
	}
	t.Logf("redis=%s ", testenv.RedisAddr(t))
	t.Logf("postgres=%s ", testenv.PostgresAdminURL(t))
	t.Logf("kafka=%s ", strings.Join(testenv.KafkaBrokers(t), ","))
	connect(t, testenv.PostgresURL(t))
	testenv.Topic(t, 1)
}

func runChild(tb testing.TB, env []string, args ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("child %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func connect(tb testing.TB, url string) *pgx.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func kafkaClient(tb testing.TB, brokers []string) sarama.Client {
	tb.Helper()
	c := sarama.NewConfig()
	c.Version = devstack.SaramaVersion
	client, err := sarama.NewClient(brokers, c)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { client.Close() })
	return client
}
