package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quickchat-go/quickchat/harness/devstack"
	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
	"github.com/quickchat-go/quickchat/pkg/event"
	"github.com/quickchat-go/quickchat/pkg/kafka"
	"github.com/quickchat-go/quickchat/pkg/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// waitLimit bounds every wait for an outcome; reaching it fails the test rather than
// asserting anything about speed.
const waitLimit = 3 * time.Minute

// bundle is what a persister test works with: its own database, topic and consumer group.
type bundle struct {
	dbURL   string
	pool    *pgxpool.Pool
	groups  []uuid.UUID // chat groups that exist
	brokers []string
	topic   string
	dlq     string
	group   string
}

// setup creates a migrated database holding a few chat groups, and a topic with the given
// partitions. dbURL, when not empty, is used instead of a fresh shared database.
func setup(t *testing.T, partitions int, dbURL string) *bundle {
	t.Helper()
	b := setupDB(t, dbURL)
	b.brokers = testenv.KafkaBrokers(t)
	b.topic = testenv.Topic(t, partitions)
	b.dlq = testenv.Topic(t, 1)
	b.group = testenv.ConsumerGroup(t)
	return b
}

// setupDB is setup without Kafka.
func setupDB(t *testing.T, dbURL string) *bundle {
	t.Helper()
	if dbURL == "" {
		dbURL = testenv.PostgresURL(t)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{URL: dbURL, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	owner, err := st.CreateUser(ctx, store.User{ID: uuid.New(), Email: "owner@example.com", Name: "Owner", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{dbURL: dbURL}
	for i := range 16 {
		g, err := st.CreateGroup(ctx, store.Group{ID: uuid.New(), OwnerID: owner.ID, Title: "room " + strconv.Itoa(i), PasscodeHash: "x"})
		if err != nil {
			t.Fatal(err)
		}
		b.groups = append(b.groups, g.ID)
	}
	b.pool, err = pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.pool.Close)
	return b
}

// config is a persister configuration for b's database, topics and group.
func (b *bundle) config() Config {
	return Config{
		OpsAddr: "127.0.0.1:0", DatabaseURL: b.dbURL, DatabaseMaxConns: 4,
		KafkaBrokers: b.brokers, KafkaTopic: b.topic, KafkaTopicPartitions: 1, KafkaGroup: b.group,
		KafkaFetchBytes: 1 << 20, KafkaSessionTimeout: 6 * time.Second, DeadLetterTopic: b.dlq,
		BatchSize: 500, BatchLinger: 5 * time.Millisecond,
		WriteTimeout: 5 * time.Second, RetryBackoffMin: 50 * time.Millisecond, RetryBackoffMax: time.Second,
		ShutdownGrace: 5 * time.Second, LogLevel: "warn", LogFormat: "json",
	}
}

// messages returns n valid messages spread over groups, each with its own sender and
// client id and a body of a typical chat line.
func messages(tb testing.TB, groups []uuid.UUID, n int) []*event.Message {
	tb.Helper()
	out := make([]*event.Message, n)
	for i := range out {
		id, err := event.NewID()
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = &event.Message{
			Id: id.String(), GroupId: groups[i%len(groups)].String(), SenderId: uuid.NewString(),
			SenderName: "member " + strconv.Itoa(i%97), ClientMsgId: uuid.NewString(),
			Body:            "message " + strconv.Itoa(i) + ": the quick brown fox jumps over the lazy dog, again and again",
			CreatedAtUnixMs: time.Now().UnixMilli(),
		}
	}
	return out
}

// produced says where a record landed.
type produced struct {
	partition int32
	offset    int64
}

// produce writes values to topic keyed by key (the group id, as realtime does) and waits
// until Kafka has acknowledged every one.
func produce(tb testing.TB, brokers []string, topic string, keys []string, values [][]byte) []produced {
	tb.Helper()
	cfg := kafka.NewDurableProducerConfig("persister-test")
	cfg.Producer.Flush.Frequency = 5 * time.Millisecond
	p, err := sarama.NewAsyncProducer(brokers, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	defer p.Close()
	out := make([]produced, len(values))
	go func() {
		for i, v := range values {
			p.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(keys[i]), Value: sarama.ByteEncoder(v), Metadata: i}
		}
	}()
	for range values {
		select {
		case m := <-p.Successes():
			out[m.Metadata.(int)] = produced{m.Partition, m.Offset}
		case e := <-p.Errors():
			tb.Fatalf("produce: %v", e.Err)
		}
	}
	return out
}

// produceMessages encodes and produces msgs.
func produceMessages(tb testing.TB, b *bundle, msgs []*event.Message) []produced {
	tb.Helper()
	keys, values := make([]string, len(msgs)), make([][]byte, len(msgs))
	for i, m := range msgs {
		v, err := event.Encode(m)
		if err != nil {
			tb.Fatal(err)
		}
		keys[i], values[i] = m.GetGroupId(), v
	}
	return produce(tb, b.brokers, b.topic, keys, values)
}

// storedIDs returns the id of every stored message.
func (b *bundle) storedIDs(tb testing.TB) map[uuid.UUID]bool {
	tb.Helper()
	rows, err := b.pool.Query(context.Background(), "SELECT id FROM messages")
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	out := map[uuid.UUID]bool{}
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			tb.Fatal(err)
		}
		out[id] = true
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// rowCount returns how many messages are stored, or an error while the database is down.
func (b *bundle) rowCount(ctx context.Context) (int, error) {
	var n int
	err := b.pool.QueryRow(ctx, "SELECT count(*) FROM messages").Scan(&n)
	return n, err
}

// waitRows waits until at least n messages are stored.
func (b *bundle) waitRows(tb testing.TB, n int) int {
	tb.Helper()
	var got int
	waitFor(tb, fmt.Sprintf("%d stored messages", n), func() bool {
		var err error
		got, err = b.rowCount(context.Background())
		return err == nil && got >= n
	})
	return got
}

// assertExactly checks that the stored messages are exactly msgs, each once.
func (b *bundle) assertExactly(tb testing.TB, msgs []*event.Message) {
	tb.Helper()
	want := map[uuid.UUID]bool{}
	for _, m := range msgs {
		want[uuid.MustParse(m.GetId())] = true
	}
	n, err := b.rowCount(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	got := b.storedIDs(tb)
	missing := 0
	for id := range want {
		if !got[id] {
			missing++
		}
	}
	if n != len(want) || len(got) != len(want) || missing > 0 {
		tb.Fatalf("stored %d rows (%d distinct ids), want %d; %d of the produced messages are missing", n, len(got), len(want), missing)
	}
}

// waitCommitted waits until the group's committed offsets over partitions add up to n.
func (b *bundle) waitCommitted(t *testing.T, partitions int, n int64) {
	t.Helper()
	waitFor(t, "every record to be committed", func() bool {
		var sum int64
		for _, c := range b.committed(t, partitions) {
			sum += max(c, 0)
		}
		return sum == n
	})
}

// committed returns the consumer group's committed offset per partition (-1: none).
func (b *bundle) committed(tb testing.TB, partitions int) []int64 {
	tb.Helper()
	admin, err := sarama.NewClusterAdmin(b.brokers, kafka.NewConfig("persister-test-admin"))
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	ps := make([]int32, partitions)
	for i := range ps {
		ps[i] = int32(i)
	}
	resp, err := admin.ListConsumerGroupOffsets(b.group, map[string][]int32{b.topic: ps})
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]int64, partitions)
	for i := range out {
		out[i] = -1
		if blk := resp.GetBlock(b.topic, int32(i)); blk != nil {
			out[i] = blk.Offset
		}
	}
	return out
}

// membersWithPartitions returns how many members of the consumer group own partitions
// once the group is stable, and 0 while it is rebalancing.
func (b *bundle) membersWithPartitions(tb testing.TB) int {
	tb.Helper()
	admin, err := sarama.NewClusterAdmin(b.brokers, kafka.NewConfig("persister-test-admin"))
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	groups, err := admin.DescribeConsumerGroups([]string{b.group})
	if err != nil || len(groups) != 1 || groups[0].State != "Stable" {
		return 0
	}
	n := 0
	for _, m := range groups[0].Members {
		if a, err := m.GetMemberAssignment(); err == nil && len(a.Topics[b.topic]) > 0 {
			n++
		}
	}
	return n
}

// deadLetters returns every record in the dead-letter topic.
func (b *bundle) deadLetters(tb testing.TB) []*sarama.ConsumerMessage {
	tb.Helper()
	client, err := sarama.NewClient(b.brokers, kafka.NewConfig("persister-test-dlq"))
	if err != nil {
		tb.Fatal(err)
	}
	defer client.Close()
	end, err := client.GetOffset(b.dlq, 0, sarama.OffsetNewest)
	if err != nil {
		tb.Fatal(err)
	}
	if end == 0 {
		return nil
	}
	c, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition(b.dlq, 0, sarama.OffsetOldest)
	if err != nil {
		tb.Fatal(err)
	}
	defer pc.Close()
	var out []*sarama.ConsumerMessage
	for m := range pc.Messages() {
		out = append(out, m)
		if m.Offset >= end-1 {
			break
		}
	}
	return out
}

// waitFor polls cond until it holds; it fails tb if that takes longer than waitLimit.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startInProcess runs the persister in this process until the test ends and returns its
// ops address.
func startInProcess(t *testing.T, cfg Config) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, ready) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case addr := <-ready:
		return addr.String()
	case err := <-done:
		t.Fatalf("run: %v", err)
		return ""
	}
}

// metric sums every series of the named metric (counter, gauge or untyped) served at
// addr's /metrics.
func metric(tb testing.TB, addr, name string) float64 {
	tb.Helper()
	v, err := scrape(addr, name)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func scrape(addr, name string) (float64, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "{")) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				return 0, err
			}
			sum += v
		}
	}
	return sum, sc.Err()
}

// buildPersister builds this command into a temporary directory.
func buildPersister(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "persister")
	out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// persisterProc is a persister running as a child process.
type persisterProc struct {
	cmd  *exec.Cmd
	addr string
	log  string
	done chan struct{}
}

// startProc starts the binary with cfg as PERSISTER_* variables, in its own process group
// and with SIGKILL as its parent-death signal, so it never outlives the test.
func startProc(t *testing.T, bin string, cfg Config) *persisterProc {
	t.Helper()
	port, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg.OpsAddr = "127.0.0.1:" + strconv.Itoa(port)
	logFile, err := os.CreateTemp(t.TempDir(), "persister-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), envOf(cfg)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &persisterProc{cmd: cmd, addr: cfg.OpsAddr, log: logFile.Name(), done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill(t)
		if t.Failed() {
			out, _ := os.ReadFile(p.log)
			t.Logf("persister %d output:\n%s", cmd.Process.Pid, tail(string(out), 40))
		}
	})
	waitFor(t, "the persister's ops endpoint", func() bool {
		select {
		case <-p.done:
			out, _ := os.ReadFile(p.log)
			t.Fatalf("persister exited early:\n%s", tail(string(out), 40))
		default:
		}
		_, err := scrape(p.addr, "persister_rows_written_total")
		return err == nil
	})
	return p
}

// kill sends SIGKILL to the persister's process group and waits for it to exit.
func (p *persisterProc) kill(tb testing.TB) {
	tb.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		tb.Errorf("kill persister: %v", err)
	}
	<-p.done
}

// signal sends sig to the persister's process group.
func (p *persisterProc) signal(tb testing.TB, sig syscall.Signal) {
	tb.Helper()
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil {
		tb.Fatalf("signal persister: %v", err)
	}
}

// rows returns how many rows the process has written, per its metrics.
func (p *persisterProc) rows(tb testing.TB) float64 {
	tb.Helper()
	return metric(tb, p.addr, "persister_rows_written_total")
}

// envOf renders cfg as the PERSISTER_* variables loadConfig reads.
func envOf(c Config) []string {
	d := func(v time.Duration) string { return v.String() }
	return []string{
		"PERSISTER_OPS_ADDR=" + c.OpsAddr,
		"PERSISTER_DATABASE_URL=" + c.DatabaseURL,
		"PERSISTER_DATABASE_MAX_CONNS=" + strconv.Itoa(int(c.DatabaseMaxConns)),
		"PERSISTER_KAFKA_BROKERS=" + strings.Join(c.KafkaBrokers, ","),
		"PERSISTER_KAFKA_TOPIC=" + c.KafkaTopic,
		"PERSISTER_KAFKA_TOPIC_PARTITIONS=" + strconv.Itoa(int(c.KafkaTopicPartitions)),
		"PERSISTER_KAFKA_GROUP=" + c.KafkaGroup,
		"PERSISTER_KAFKA_FETCH_BYTES=" + strconv.Itoa(int(c.KafkaFetchBytes)),
		"PERSISTER_KAFKA_SESSION_TIMEOUT=" + d(c.KafkaSessionTimeout),
		"PERSISTER_KAFKA_TLS=" + strconv.FormatBool(c.Kafka.TLS),
		"PERSISTER_KAFKA_TLS_CA_FILE=" + c.Kafka.TLSCAFile,
		"PERSISTER_KAFKA_TLS_CERT_FILE=" + c.Kafka.TLSCertFile,
		"PERSISTER_KAFKA_TLS_KEY_FILE=" + c.Kafka.TLSKeyFile,
		"PERSISTER_KAFKA_TLS_SERVER_NAME=" + c.Kafka.TLSServerName,
		"PERSISTER_KAFKA_SASL_MECHANISM=" + c.Kafka.SASLMechanism,
		"PERSISTER_KAFKA_SASL_USERNAME=" + c.Kafka.SASLUsername,
		"PERSISTER_KAFKA_SASL_PASSWORD=" + c.Kafka.SASLPassword,
		"PERSISTER_KAFKA_SASL_WITHOUT_TLS=" + strconv.FormatBool(c.Kafka.SASLWithoutTLS),
		"PERSISTER_KAFKA_TOPIC_REPLICATION=" + strconv.Itoa(int(c.Kafka.TopicReplication)),
		"PERSISTER_KAFKA_TOPIC_MIN_INSYNC=" + strconv.Itoa(c.Kafka.TopicMinInsync),
		"PERSISTER_KAFKA_TOPIC_MANAGED=" + strconv.FormatBool(c.Kafka.TopicManaged),
		"PERSISTER_DEAD_LETTER_TOPIC=" + c.DeadLetterTopic,
		"PERSISTER_BATCH_SIZE=" + strconv.Itoa(c.BatchSize),
		"PERSISTER_BATCH_LINGER=" + d(c.BatchLinger),
		"PERSISTER_WRITE_TIMEOUT=" + d(c.WriteTimeout),
		"PERSISTER_RETRY_BACKOFF_MIN=" + d(c.RetryBackoffMin),
		"PERSISTER_RETRY_BACKOFF_MAX=" + d(c.RetryBackoffMax),
		"PERSISTER_SHUTDOWN_GRACE=" + d(c.ShutdownGrace),
		"PERSISTER_LOG_LEVEL=" + c.LogLevel,
		"PERSISTER_LOG_FORMAT=" + c.LogFormat,
	}
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
