package devstack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/IBM/sarama"
)

func TestStackStartsAllThreeUnderOneDirAndCloseStopsThem(t *testing.T) {
	t.Parallel()
	// t.TempDir() is not reachable by the postgres OS user when running as root, so this
	// also covers PostgreSQL moving its cluster to a directory it can reach.
	dir := t.TempDir()
	s, err := StartStack(t.Context(), StackConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })

	for _, p := range []string{s.Postgres.LogPath(), s.Redis.LogPath(), s.Kafka.LogPath(), s.S3.LogPath()} {
		if !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			t.Errorf("log %s is not under the stack dir %s", p, dir)
		}
	}
	if got := count(t, s.Postgres.URL(), "SELECT 1"); got != 1 {
		t.Fatalf("SELECT 1 = %d", got)
	}
	if got := redisDo(t, s.Redis.Addr(), "PING"); got != "PONG" {
		t.Fatalf("PING = %v", got)
	}
	client, err := sarama.NewClient(s.Kafka.Brokers(), newSaramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(client.Brokers()); n != 1 {
		t.Fatalf("metadata lists %d brokers, want 1", n)
	}
	client.Close()

	env := strings.Join(s.Env(), "\n")
	for _, want := range []string{
		EnvPostgresURL + "=" + s.Postgres.URL(),
		EnvRedisAddr + "=" + s.Redis.Addr(),
		EnvKafkaBrokers + "=" + s.Kafka.Brokers()[0],
		"DATABASE_URL=", "REDIS_ADDR=", "KAFKA_BROKERS=",
	} {
		if !strings.Contains(env, want) {
			t.Errorf("Env() lacks %q:\n%s", want, env)
		}
	}

	pids := []int{s.Postgres.Pid(), s.Redis.Pid(), s.Kafka.Pid()}
	pgData := s.Postgres.DataDir()
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	for _, pid := range pids {
		requireGone(t, pid, dir)
	}
	requireGone(t, pids[0], pgData)
	if _, err := os.Stat(filepath.Join(dir, "kafka", "kafka.log")); err != nil {
		t.Errorf("Close removed a directory the caller chose: %v", err)
	}
}
