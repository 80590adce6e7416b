package main

import (
	"context"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/harness/devstack"
	"github.com/quickchat-go/quickchat/pkg/event"
	"github.com/quickchat-go/quickchat/pkg/kafka"
	"github.com/quickchat-go/quickchat/services/persister/internal/deadletter"
)

func TestPersisterStoresEachDistinctMessageExactlyOnce(t *testing.T) {
	const n, partitions = 6000, 4
	b := setup(t, partitions, "")
	msgs := messages(t, b.groups, n)
	// Redeliveries and producer retries: the same record again.
	resent := append(slices.Clone(msgs), msgs[:600]...)
	// Client retries: the same sender and client id under a new message id.
	for _, m := range msgs[1000:1300] {
		retry := messages(t, b.groups, 1)[0]
		retry.GroupId, retry.SenderId, retry.ClientMsgId = m.GetGroupId(), m.GetSenderId(), m.GetClientMsgId()
		resent = append(resent, retry)
	}
	produceMessages(t, b, resent)

	addr := startInProcess(t, b.config())
	b.waitCommitted(t, partitions, int64(len(resent)))

	b.assertExactly(t, msgs)
	if got := metric(t, addr, "persister_rows_written_total"); got != n {
		t.Errorf("persister_rows_written_total = %v, want %d", got, n)
	}
	if got := metric(t, addr, "persister_duplicates_skipped_total"); got != float64(len(resent)-n) {
		t.Errorf("persister_duplicates_skipped_total = %v, want %d", got, len(resent)-n)
	}
	if got := metric(t, addr, "persister_consumer_lag"); got != 0 {
		t.Errorf("persister_consumer_lag summed over partitions = %v, want 0", got)
	}
	for _, name := range []string{"persister_batch_size_count", "persister_insert_duration_seconds_count"} {
		if got := metric(t, addr, name); got == 0 {
			t.Errorf("%s = 0, want batches observed", name)
		}
	}
	if dl := b.deadLetters(t); len(dl) != 0 {
		t.Errorf("%d dead letters, want none", len(dl))
	}
}

func TestPoisonMessagesAreDeadLetteredAndTheRestOfThePartitionIsStored(t *testing.T) {
	b := setup(t, 1, "")
	good := messages(t, b.groups, 12)
	unknownGroup := messages(t, []uuid.UUID{uuid.New()}, 1)[0]
	nulBody := messages(t, b.groups, 1)[0]
	nulBody.Body = "NUL \x00 is valid UTF-8 but not PostgreSQL text"

	type rec struct {
		key   string
		value []byte
		code  string // dead-letter code expected, "" when the record is stored
	}
	enc := func(m *event.Message) []byte {
		v, err := event.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var recs []rec
	for i, m := range good {
		recs = append(recs, rec{key: m.GetGroupId(), value: enc(m)})
		switch i {
		case 2:
			recs = append(recs, rec{key: "garbage", value: []byte("\xff\xfe not a chat message"), code: "undecodable"})
		case 5:
			recs = append(recs, rec{key: unknownGroup.GetGroupId(), value: enc(unknownGroup), code: "not_found"})
		case 8:
			recs = append(recs, rec{key: nulBody.GetGroupId(), value: enc(nulBody), code: "invalid"})
		}
	}
	keys, values := make([]string, len(recs)), make([][]byte, len(recs))
	for i, r := range recs {
		keys[i], values[i] = r.key, r.value
	}
	at := produce(t, b.brokers, b.topic, keys, values)

	addr := startInProcess(t, b.config())
	waitFor(t, "every record to be committed", func() bool {
		return b.committed(t, 1)[0] == int64(len(recs))
	})

	b.assertExactly(t, good)
	dl := b.deadLetters(t)
	var want []rec
	var wantOffsets []int64
	for i, r := range recs {
		if r.code != "" {
			want = append(want, r)
			wantOffsets = append(wantOffsets, at[i].offset)
		}
	}
	if len(dl) != len(want) {
		t.Fatalf("%d dead letters, want %d", len(dl), len(want))
	}
	for i, m := range dl {
		h := map[string]string{}
		for _, rh := range m.Headers {
			h[string(rh.Key)] = string(rh.Value)
		}
		if h[deadletter.HeaderCode] != want[i].code {
			t.Errorf("dead letter %d: code %q, want %q", i, h[deadletter.HeaderCode], want[i].code)
		}
		if h[deadletter.HeaderReason] == "" {
			t.Errorf("dead letter %d: no reason header", i)
		}
		if h[deadletter.HeaderTopic] != b.topic || h[deadletter.HeaderOffset] != strconv.FormatInt(wantOffsets[i], 10) {
			t.Errorf("dead letter %d: from %s@%s, want %s@%d", i, h[deadletter.HeaderTopic], h[deadletter.HeaderOffset], b.topic, wantOffsets[i])
		}
		if string(m.Value) != string(want[i].value) || string(m.Key) != want[i].key {
			t.Errorf("dead letter %d: key or value differ from the original record", i)
		}
	}
	if got := metric(t, addr, "persister_dead_letters_total"); got != 3 {
		t.Errorf("persister_dead_letters_total = %v, want 3", got)
	}
}

func TestPersisterKilledWithSIGKILLMidBacklogStoresEveryMessageOnceAfterRestart(t *testing.T) {
	const n, partitions = 40000, 6
	b := setup(t, partitions, "")
	msgs := messages(t, b.groups, n)
	produceMessages(t, b, msgs)
	bin := buildPersister(t)
	cfg := b.config()
	// Small batches on one connection keep the backlog long enough to kill into.
	cfg.BatchSize, cfg.DatabaseMaxConns = 100, 1

	first := startProc(t, bin, cfg)
	b.waitRows(t, n/10)
	first.kill(t)
	atKill, err := b.rowCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if atKill >= n {
		t.Fatalf("the backlog was fully stored (%d rows) before the kill; the test proves nothing", atKill)
	}
	t.Logf("killed with %d of %d messages stored", atKill, n)

	cfg.BatchSize, cfg.DatabaseMaxConns = 2000, 4
	startProc(t, bin, cfg)
	b.waitCommitted(t, partitions, n)
	b.assertExactly(t, msgs)
}

func TestPersisterRidesOutAPostgresOutageWithoutLossDeadLettersOrEarlyCommits(t *testing.T) {
	const n, partitions = 30000, 4
	ctx := context.Background()
	pg, err := devstack.StartPostgres(ctx, devstack.PostgresConfig{StopTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Close() })
	b := setup(t, partitions, pg.URL())
	msgs := messages(t, b.groups, n)
	where := map[uuid.UUID]produced{}
	record := func(ms []*event.Message, at []produced) {
		for i, m := range ms {
			where[uuid.MustParse(m.GetId())] = at[i]
		}
	}
	record(msgs[:n/2], produceMessages(t, b, msgs[:n/2]))
	bin := buildPersister(t)
	p := startProc(t, bin, b.config())
	b.waitRows(t, n/10)

	if err := pg.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// The rest of the backlog arrives while the database is down.
	record(msgs[n/2:], produceMessages(t, b, msgs[n/2:]))
	time.Sleep(10 * time.Second)

	// Freeze the persister so that what it committed during the outage can be compared
	// with what is stored before it writes anything more.
	p.signal(t, syscall.SIGSTOP)
	committed := b.committed(t, partitions)
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stored := make([][]int64, partitions) // stored offsets per partition
	for id := range b.storedIDs(t) {
		w := where[id]
		stored[w.partition] = append(stored[w.partition], w.offset)
	}
	for part, offs := range stored {
		slices.Sort(offs)
		// Each partition's batches are stored in order, so the stored records are a prefix.
		for i, o := range offs {
			if o != int64(i) {
				t.Fatalf("partition %d: stored offsets are not a prefix: offset %d at position %d", part, o, i)
			}
		}
		if committed[part] > int64(len(offs)) {
			t.Errorf("partition %d: committed offset %d is past the %d stored records", part, committed[part], len(offs))
		}
	}
	t.Logf("during the outage: committed %v, stored per partition %v", committed, lens(stored))
	p.signal(t, syscall.SIGCONT)

	b.waitCommitted(t, partitions, n)
	b.assertExactly(t, msgs)
	if dl := b.deadLetters(t); len(dl) != 0 {
		t.Errorf("%d dead letters after an outage, want none", len(dl))
	}
	if got := metric(t, p.addr, "persister_write_retries_total"); got == 0 {
		t.Errorf("persister_write_retries_total = 0; the outage was not noticed")
	}
}

func TestTwoPersistersShareTheBacklogAndOneBeingKilledLosesNothing(t *testing.T) {
	const n, partitions = 40000, 8
	b := setup(t, partitions, "")
	msgs := messages(t, b.groups, n)
	bin := buildPersister(t)
	cfg := b.config()
	cfg.BatchSize, cfg.DatabaseMaxConns = 100, 1

	a, c := startProc(t, bin, cfg), startProc(t, bin, cfg)
	waitFor(t, "both persisters to own partitions", func() bool { return b.membersWithPartitions(t) == 2 })
	produceMessages(t, b, msgs[:3*n/4])
	waitFor(t, "both persisters to store messages", func() bool {
		return a.rows(t) > 0 && c.rows(t) > 0
	})
	a.kill(t)
	atKill, err := b.rowCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if atKill >= 3*n/4 {
		t.Fatalf("the backlog was fully stored (%d rows) before the kill; the test proves nothing", atKill)
	}
	t.Logf("killed one of two persisters with %d of %d messages stored", atKill, 3*n/4)
	produceMessages(t, b, msgs[3*n/4:])

	b.waitCommitted(t, partitions, n)
	b.assertExactly(t, msgs)
	if dl := b.deadLetters(t); len(dl) != 0 {
		t.Errorf("%d dead letters, want none", len(dl))
	}
}

func lens(s [][]int64) []int {
	out := make([]int, len(s))
	for i, x := range s {
		out[i] = len(x)
	}
	return out
}

// TestConfig checks the defaults and what Validate rejects.
func TestConfig(t *testing.T) {
	t.Setenv("PERSISTER_DATABASE_URL", "postgres://x@127.0.0.1/db")
	def, err := loadConfig()
	if err != nil {
		t.Fatalf("defaults are invalid: %v", err)
	}
	tests := []struct {
		name   string
		change func(c *Config)
		ok     bool
	}{
		{"the defaults are valid", func(*Config) {}, true},
		{"a batch of zero is rejected", func(c *Config) { c.BatchSize = 0 }, false},
		{"a negative linger is rejected", func(c *Config) { c.BatchLinger = -time.Millisecond }, false},
		{"a dead-letter topic equal to the input topic is rejected", func(c *Config) { c.DeadLetterTopic = c.KafkaTopic }, false},
		{"a backoff cap below its start is rejected", func(c *Config) { c.RetryBackoffMax = c.RetryBackoffMin / 2 }, false},
		{"a tiny fetch size is rejected", func(c *Config) { c.KafkaFetchBytes = 1024 }, false},
		{"an empty ops address is rejected", func(c *Config) { c.OpsAddr = "" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := def
			tt.change(&c)
			if err := c.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok: %v", err, tt.ok)
			}
		})
	}

	t.Run("run refuses an invalid configuration before it connects to anything", func(t *testing.T) {
		c := def
		c.DatabaseURL, c.KafkaBrokers, c.BatchSize = "postgres://x@127.0.0.1:1/db", []string{"127.0.0.1:1"}, 0
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := run(ctx, c, nil)
		if err == nil || !strings.Contains(err.Error(), "PERSISTER_BATCH_SIZE") {
			t.Errorf("run = %v, want the configuration error about PERSISTER_BATCH_SIZE", err)
		}
	})

	t.Run("every field survives the environment the process tests pass", func(t *testing.T) {
		// Every field differs from its default, so a field envOf forgets shows up.
		want := Config{
			OpsAddr: "127.0.0.1:9999", DatabaseURL: "postgres://y@127.0.0.1/other", DatabaseMaxConns: 3,
			KafkaBrokers: []string{"127.0.0.1:1", "127.0.0.1:2"}, KafkaTopic: "t", KafkaTopicPartitions: 5,
			KafkaGroup: "g", KafkaFetchBytes: 1 << 20, KafkaSessionTimeout: 7 * time.Second, DeadLetterTopic: "d", BatchSize: 123,
			BatchLinger: 7 * time.Millisecond, WriteTimeout: 3 * time.Second, RetryBackoffMin: 10 * time.Millisecond,
			RetryBackoffMax: 2 * time.Second, ShutdownGrace: 4 * time.Second, LogLevel: "debug", LogFormat: "console",
			Kafka: kafka.Settings{
				TLS: true, TLSCAFile: "/ca.pem", TLSCertFile: "/c.pem", TLSKeyFile: "/k.pem", TLSServerName: "kafka.internal",
				SASLMechanism: "SCRAM-SHA-512", SASLUsername: "u", SASLPassword: "p", SASLWithoutTLS: true,
				TopicReplication: 3, TopicMinInsync: 2, TopicManaged: true,
			},
		}
		for _, kv := range envOf(want) {
			k, v, _ := strings.Cut(kv, "=")
			t.Setenv(k, v)
		}
		got, err := loadConfig()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("loaded %+v, want %+v", got, want)
		}
	})
}
