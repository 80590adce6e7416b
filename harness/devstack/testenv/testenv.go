package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/quickchat-go/quickchat/harness/devstack"
	"github.com/quickchat-go/quickchat/harness/devstack/internal/resp"
)

// startTimeout bounds starting one server on first use.
const startTimeout = 3 * time.Minute

// opTimeout bounds one administrative call: creating or dropping a database or topic.
const opTimeout = time.Minute

// shared is one lazily started server (or one taken from the environment).
type shared[T any] struct {
	once sync.Once
	val  T
	err  error
}

var (
	postgres shared[string]   // admin URL
	redis    shared[string]   // address
	kafka    shared[[]string] // brokers

	mu         sync.Mutex
	started    []func() error // Close functions of the servers this process started
	mainCalled bool
)

// Main runs the tests, stops the servers this process started and exits with the tests'
// exit code. Call it from TestMain.
func Main(m *testing.M) {
	mu.Lock()
	mainCalled = true
	mu.Unlock()
	code := m.Run()
	if err := shutdown(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: stopping servers: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// shutdown closes every server this process started, concurrently.
func shutdown() error {
	mu.Lock()
	closers := started
	started = nil
	mu.Unlock()
	errs := make([]error, len(closers))
	var wg sync.WaitGroup
	for i, c := range closers {
		wg.Go(func() { errs[i] = c() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func register(closer func() error) {
	mu.Lock()
	defer mu.Unlock()
	started = append(started, closer)
}

// get returns s's value, starting it with start unless env names one; it skips tb under
// -short and fails it when the server cannot be had.
func get[T any](tb testing.TB, s *shared[T], what, env string, parse func(string) T, start func(context.Context) (T, func() error, error)) T {
	tb.Helper()
	if testing.Short() {
		tb.Skipf("integration test: needs %s (skipped with -short)", what)
	}
	s.once.Do(func() {
		if v := os.Getenv(env); v != "" {
			s.val = parse(v)
			return
		}
		mu.Lock()
		hint := !mainCalled
		mu.Unlock()
		if hint {
			tb.Logf("testenv: starting %s for this process; call testenv.Main from TestMain so it is stopped and its directory removed", what)
		}
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		var closer func() error
		s.val, closer, s.err = start(ctx)
		if s.err == nil {
			register(closer)
		}
	})
	if s.err != nil {
		tb.Fatalf("testenv: %s unavailable (set %s to use a running one): %v", what, env, s.err)
	}
	return s.val
}

func identity(s string) string { return s }

// PostgresAdminURL returns the URL of the shared PostgreSQL server's admin database, on
// which CREATE DATABASE is allowed. Tests should not use it for data: see PostgresURL.
func PostgresAdminURL(tb testing.TB) string {
	tb.Helper()
	return get(tb, &postgres, "PostgreSQL", devstack.EnvPostgresURL, identity,
		func(ctx context.Context) (string, func() error, error) {
			pg, err := devstack.StartPostgres(ctx, devstack.PostgresConfig{})
			if err != nil {
				return "", nil, err
			}
			return pg.URL(), pg.Close, nil
		})
}

// PostgresURL creates a new empty database on the shared server and returns its URL. The
// database is dropped, with any connections still open to it, when tb ends.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	admin := PostgresAdminURL(tb)
	name := UniqueName(tb)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	url, err := devstack.CreateDatabase(ctx, admin, name)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if err := devstack.DropDatabase(ctx, admin, name); err != nil {
			tb.Logf("testenv: %v", err)
		}
	})
	return url
}

// RedisAddr returns the address (host:port) of the shared Redis server. Tests isolate
// their keys with KeyPrefix.
func RedisAddr(tb testing.TB) string {
	tb.Helper()
	return get(tb, &redis, "Redis", devstack.EnvRedisAddr, identity,
		func(ctx context.Context) (string, func() error, error) {
			r, err := devstack.StartRedis(ctx, devstack.RedisConfig{})
			if err != nil {
				return "", nil, err
			}
			return r.Addr(), r.Close, nil
		})
}

// KeyPrefix returns a Redis key prefix no other test uses, ending in ":". Keys under it
// are deleted when tb ends.
func KeyPrefix(tb testing.TB) string {
	tb.Helper()
	addr := RedisAddr(tb)
	prefix := "qctest:" + UniqueName(tb) + ":"
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if _, err := resp.DeletePrefix(ctx, addr, prefix); err != nil {
			tb.Logf("testenv: delete keys %s*: %v", prefix, err)
		}
	})
	return prefix
}

// KafkaBrokers returns the bootstrap addresses of the shared Kafka cluster. Tests isolate
// themselves with Topic and ConsumerGroup.
func KafkaBrokers(tb testing.TB) []string {
	tb.Helper()
	brokers := get(tb, &kafka, "Kafka", devstack.EnvKafkaBrokers, splitBrokers,
		func(ctx context.Context) ([]string, func() error, error) {
			k, err := devstack.StartKafka(ctx, devstack.KafkaConfig{})
			if err != nil {
				return nil, nil, err
			}
			return k.Brokers(), k.Close, nil
		})
	return append([]string(nil), brokers...)
}

func splitBrokers(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// Topic creates a topic no other test uses, with the given partitions, waits until every
// partition has a leader and returns its name. The topic is deleted when tb ends.
func Topic(tb testing.TB, partitions int) string {
	tb.Helper()
	brokers := KafkaBrokers(tb)
	name := "qctest." + UniqueName(tb)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := devstack.CreateTopic(ctx, brokers, name, partitions); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if err := devstack.DeleteTopic(ctx, brokers, name); err != nil {
			tb.Logf("testenv: %v", err)
		}
	})
	return name
}

// ConsumerGroup returns a Kafka consumer group id no other test uses.
func ConsumerGroup(tb testing.TB) string {
	tb.Helper()
	return "qctest." + UniqueName(tb)
}

// maxNamePart keeps UniqueName within PostgreSQL's 63-byte identifiers.
const maxNamePart = 40

// UniqueName returns a name derived from tb.Name() and a random suffix, made of lower-case
// letters, digits and underscores, at most 50 bytes long, so it is valid as a PostgreSQL
// database, a Kafka topic or group, or part of a Redis key.
func UniqueName(tb testing.TB) string {
	tb.Helper()
	var b strings.Builder
	lastUnderscore := true // no leading underscore
	for _, r := range strings.ToLower(tb.Name()) {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
			lastUnderscore = false
		} else if !lastUnderscore {
			b.WriteByte('_')
			lastUnderscore = true
		}
	}
	base := strings.TrimRight(b.String(), "_")
	if len(base) > maxNamePart {
		base = strings.TrimRight(base[:maxNamePart], "_")
	}
	if base == "" || !unicode.IsLetter(rune(base[0])) {
		base = "t" + base
	}
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		tb.Fatalf("testenv: random name: %v", err)
	}
	return base + "_" + hex.EncodeToString(suffix)
}
