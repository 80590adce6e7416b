package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
	"github.com/quickchat-go/quickchat/pkg/event"
	"github.com/quickchat-go/quickchat/pkg/kafka"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/services/persister/internal/consumer"
)

// Benchmark sizes: the batched writer drains the whole backlog; the one-INSERT-per-message
// writers, far slower, are measured over their first seedRows and parallelRows rows.
const (
	benchMessages   = 600_000
	benchPartitions = 12
	seedRows        = 10_000
	parallelRows    = 20_000
	benchRounds     = 3
	benchGroups     = 200
)

// benchHeading is the section of docs/benchmarks.md this benchmark owns.
const benchHeading = "## Persister: Kafka → PostgreSQL"

// TestPersistThroughput measures sustained Kafka → PostgreSQL throughput of the persister's
// batched writer and, in the same run on the same backlog, of a writer that stores each
// message with its own INSERT like the seed did. It is skipped unless QC_BENCH is set; with
// QC_BENCH_DOC set to a markdown file it rewrites that file's persister section:
//
//	QC_BENCH=1 QC_BENCH_DOC=$PWD/docs/benchmarks.md go test -count=1 -run '^TestPersistThroughput$' -v -timeout 30m ./services/persister
func TestPersistThroughput(t *testing.T) {
	if os.Getenv("QC_BENCH") == "" {
		t.Skip("benchmark: set QC_BENCH=1 (make bench)")
	}
	brokers := testenv.KafkaBrokers(t)
	topic := testenv.Topic(t, benchPartitions)
	groups := make([]uuid.UUID, benchGroups)
	for i := range groups {
		groups[i] = uuid.New()
	}
	start := time.Now()
	produceBacklog(t, brokers, topic, messages(t, groups, benchMessages))
	t.Logf("produced %d messages to %d partitions in %v", benchMessages, benchPartitions, time.Since(start).Round(time.Millisecond))

	writers := []benchWriter{
		{name: "batched", rows: benchMessages, sink: func(st *store.Store) consumer.Sink { return st }},
		{name: "seed", rows: seedRows, conns: 1, sink: newRowByRowSink},
		{name: "parallel", rows: parallelRows, sink: newRowByRowSink},
	}
	results := make([][]benchResult, len(writers))
	for round := 1; round <= benchRounds; round++ {
		for i, w := range writers {
			// A subtest per measurement drops its database before the next one starts.
			t.Run(fmt.Sprintf("round %d %s", round, w.name), func(t *testing.T) {
				r := measure(t, brokers, topic, groups, w)
				t.Logf("%.0f rows/s, CPU per row: persister %.1fµs, PostgreSQL backends %.1fµs; load average %s",
					r.rate, r.goMicros, r.pgMicros, r.load)
				results[i] = append(results[i], r)
			})
		}
	}
	for i := range writers {
		if t.Failed() || len(results[i]) == 0 {
			return // failed, or some writers filtered out with -run
		}
	}
	t.Setenv("PERSISTER_DATABASE_URL", "postgres://unused")
	def, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	section := benchSection(def, writers, results)
	t.Logf("\n%s", section)
	if path := os.Getenv("QC_BENCH_DOC"); path != "" {
		if err := replaceSection(path, benchHeading, section); err != nil {
			t.Fatal(err)
		}
	}
	batched, seed := medianRate(results[0]), medianRate(results[1])
	if batched < 100_000 {
		t.Errorf("batched writer: median %.0f rows/s, want at least 100000", batched)
	}
	if batched < 20*seed {
		t.Errorf("batched writer is %.1fx the seed's writer, want at least 20x", batched/seed)
	}
}

// benchWriter is one way of storing the backlog.
type benchWriter struct {
	name string
	// rows is how many rows the measurement covers.
	rows int
	// conns overrides the pool size when not zero.
	conns int32
	sink  func(*store.Store) consumer.Sink
}

// benchResult is one measurement.
type benchResult struct {
	rate float64 // rows per second from the first stored row to the last
	// goMicros and pgMicros are the CPU time per row of this process and of the PostgreSQL
	// backends serving it, which other load on the machine hardly affects.
	goMicros, pgMicros float64
	// load is the machine's 1-minute load average when the measurement ended.
	load string
}

func medianRate(rs []benchResult) float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = r.rate
	}
	return median(xs)
}

// rowByRowSink stores the way the seed did: one INSERT, in its own transaction, per message.
// It counts rows as it goes, since a whole batch of them takes long enough to blur the rate.
type rowByRowSink struct {
	st   *store.Store
	rows *atomic.Int64
}

func newRowByRowSink(st *store.Store) consumer.Sink {
	return rowByRowSink{st: st, rows: new(atomic.Int64)}
}

// ApplyEvents stores the messages only: the backlog holds no deletions.
func (s rowByRowSink) ApplyEvents(ctx context.Context, batch []store.Event) (int64, error) {
	var n int64
	for _, e := range batch {
		ok, err := s.st.InsertMessage(ctx, e.Message)
		if err != nil {
			return n, err
		}
		if ok {
			n++
			s.rows.Add(1)
		}
	}
	return n, nil
}

// measure runs a consumer group with the production configuration and w's sink over topic
// into a fresh database until w.rows rows are stored. The backlog is already in Kafka, so
// this is the sustained rate with nothing but the writer's own speed in the way.
func measure(t *testing.T, brokers []string, topic string, groups []uuid.UUID, w benchWriter) benchResult {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := testenv.PostgresURL(t)
	t.Setenv("PERSISTER_DATABASE_URL", url)
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.KafkaBrokers, cfg.KafkaTopic, cfg.KafkaGroup = brokers, topic, testenv.ConsumerGroup(t)
	cfg.DeadLetterTopic = topic + ".dead-letter"
	if w.conns > 0 {
		cfg.DatabaseMaxConns = w.conns
	}
	createGroups(t, url, groups)
	checkpoint(t, url)
	st, err := store.Open(ctx, store.Config{URL: url, MaxConns: cfg.DatabaseMaxConns})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	cpu0 := processCPU(t)
	sink := w.sink(st)
	p, err := startPipeline(ctx, cfg, sink, prometheus.NewRegistry(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	progress := p.metrics.RowsWritten
	if s, ok := sink.(rowByRowSink); ok {
		progress = s.rows.Load
	}
	defer func() {
		cancel()
		p.close()
	}()
	var t0 time.Time
	var rows0 int64
	deadline := time.Now().Add(10 * time.Minute)
	for {
		rows := progress()
		now := time.Now()
		if t0.IsZero() && rows > 0 {
			t0, rows0 = now, rows
		}
		if rows >= int64(w.rows) {
			return benchResult{
				rate:     float64(rows-rows0) / now.Sub(t0).Seconds(),
				goMicros: (processCPU(t) - cpu0).Seconds() * 1e6 / float64(rows),
				pgMicros: backendsCPU(t, url).Seconds() * 1e6 / float64(rows),
				load:     loadAverage(),
			}
		}
		if now.After(deadline) {
			t.Fatalf("only %d of %d rows after 10 minutes", rows, w.rows)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// loadAverage returns the 1-minute load average, or "?" where /proc does not tell.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// processCPU returns the CPU time this process has used.
func processCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// backendsCPU returns the CPU time used so far by the PostgreSQL backends connected to the
// database at url (other than the one asking), read from /proc: the server runs on this
// machine. It returns 0 when /proc cannot tell.
func backendsCPU(t *testing.T, url string) time.Duration {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
	if err != nil {
		t.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0
		}
		// Fields after the parenthesised command: state is field 3, utime 14, stime 15.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += utime + stime
	}
	const clockTicks = 100 // USER_HZ on Linux
	return time.Duration(ticks) * time.Second / clockTicks
}

// createGroups migrates the database at url and creates the chat groups with the given ids.
func createGroups(t *testing.T, url string, groups []uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{URL: url, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	owner, err := st.CreateUser(ctx, store.User{ID: uuid.New(), Email: "bench@example.com", Name: "Bench", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range groups {
		if _, err := st.CreateGroup(ctx, store.Group{ID: id, OwnerID: owner.ID, Title: "bench", PasscodeHash: "x"}); err != nil {
			t.Fatal(err)
		}
	}
}

// checkpoint flushes PostgreSQL's dirty pages so that one measurement does not pay for the
// writes of the one before. It needs a superuser, which the test servers have; elsewhere
// it is skipped.
func checkpoint(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		t.Logf("no checkpoint before measuring: %v", err)
	}
}

// produceBacklog writes msgs as fast as Kafka takes them; how they get there does not
// matter to the measurement.
func produceBacklog(t *testing.T, brokers []string, topic string, msgs []*event.Message) {
	t.Helper()
	cfg := kafka.NewDurableProducerConfig("persister-bench")
	cfg.Producer.Flush.Frequency = 10 * time.Millisecond
	cfg.Producer.Flush.MaxMessages = 10000
	cfg.Producer.Flush.Bytes = 1 << 20
	cfg.Producer.Return.Successes = false
	p, err := sarama.NewAsyncProducer(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	go func() {
		for e := range p.Errors() {
			select {
			case errs <- e.Err:
			default:
			}
		}
	}()
	for _, m := range msgs {
		v, err := event.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		p.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(m.GetGroupId()), Value: sarama.ByteEncoder(v)}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		t.Fatalf("produce: %v", err)
	default:
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func benchSection(def Config, writers []benchWriter, results [][]benchResult) string {
	label := map[string]string{
		"batched":  "batched: INSERT … SELECT unnest(…), one statement (one transaction) per batch",
		"seed":     "one INSERT per message, one at a time (the seed's way)",
		"parallel": fmt.Sprintf("one INSERT per message, %d connections in parallel", def.DatabaseMaxConns),
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", benchHeading)
	fmt.Fprintf(&b, "How fast a backlog already in Kafka becomes committed rows in PostgreSQL, through the\n")
	fmt.Fprintf(&b, "persister's real consumer group, handler and writer with its default configuration\n")
	fmt.Fprintf(&b, "(batch %d, linger %v, %d connections, %d KiB fetches). The backlog is %d messages\n",
		def.BatchSize, def.BatchLinger, def.DatabaseMaxConns, def.KafkaFetchBytes>>10, benchMessages)
	fmt.Fprintf(&b, "(protobuf, about 190 bytes each, %d groups) on a %d-partition topic. Every writer\n", benchGroups, benchPartitions)
	fmt.Fprintf(&b, "starts from the oldest offset in its own consumer group and its own fresh database; the\n")
	fmt.Fprintf(&b, "batched writer stores the whole backlog, the others their first %d and %d rows. A rate\n", seedRows, parallelRows)
	fmt.Fprintf(&b, "counts rows from the first stored one to the last. Writers alternate for %d rounds; the table\n", benchRounds)
	fmt.Fprintf(&b, "gives medians. CPU per row is the CPU time of the persister (this process) and of the\n")
	fmt.Fprintf(&b, "PostgreSQL backends serving it, divided by the rows stored; unlike rows/s it hardly\n")
	fmt.Fprintf(&b, "changes with other load on the machine, whose 1-minute load average at the end of each\n")
	fmt.Fprintf(&b, "round is given in parentheses.\n\n")
	fmt.Fprintf(&b, "| writer | median rows/s | rounds: rows/s (load average) | persister CPU/row | PostgreSQL CPU/row |\n")
	fmt.Fprintf(&b, "| --- | ---: | --- | ---: | ---: |\n")
	for i, w := range writers {
		rates := make([]string, len(results[i]))
		var goMicros, pgMicros []float64
		for j, r := range results[i] {
			rates[j] = fmt.Sprintf("%.0f (%s)", r.rate, r.load)
			goMicros, pgMicros = append(goMicros, r.goMicros), append(pgMicros, r.pgMicros)
		}
		goCol := fmt.Sprintf("%.1f µs", median(goMicros))
		if w.rows < benchMessages {
			// Sarama prefetches far more of the backlog than such a writer stores.
			goCol = "n/a"
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %.1f µs |\n", label[w.name], medianRate(results[i]),
			strings.Join(rates, ", "), goCol, median(pgMicros))
	}
	batched, seed, parallel := medianRate(results[0]), medianRate(results[1]), medianRate(results[2])
	fmt.Fprintf(&b, "\nBatched vs the seed's way: %.0fx; vs one INSERT per message on %d connections: %.1fx.\n",
		batched/seed, def.DatabaseMaxConns, batched/parallel)
	fmt.Fprintf(&b, "Machine: %d CPUs (%s/%s) shared by Kafka (one KRaft broker), PostgreSQL (fsync and\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&b, "synchronous_commit on) and the benchmark. Measured %s.\n\n", time.Now().UTC().Format("2006-01-02"))
	b.WriteString(benchNotes)
	fmt.Fprintf(&b, "Command (what `make bench` runs):\n\n```\n%s\n```\n", benchCommand)
	return b.String()
}

// benchNotes says what the batched writer's speed comes from, for the section's readers.
const benchNotes = `What the batched writer's speed comes from, measured one change at a time while building it:
- one INSERT … SELECT unnest(…) statement per batch, which is its own transaction, so no
  BEGIN/COMMIT round trips;
- a plain INSERT first, and INSERT … ON CONFLICT DO NOTHING only when the batch turns out to
  hold a message already stored (redelivery), which skips the speculative-insertion probes of
  both unique indexes in the usual case;
- ids sent as text[] and cast in SQL: pgx encodes a []uuid.UUID through database/sql's
  Valuer one element at a time, which had been 40% of the persister's own CPU;
- messages.group_id checked by statement-level triggers, once per distinct group per
  statement (migration 00003), instead of a foreign key, which PostgreSQL checks with one
  query per row: PostgreSQL's CPU per row fell by about a quarter.

Both one-INSERT-per-message writers run on the same schema; there the statement trigger
costs about 6 µs of PostgreSQL CPU per message more than the foreign key did (20 µs instead
of 14 µs for 20,000 single-row INSERTs), a few percent of writers whose rate is bound by one
commit per message.

`

// benchCommand is how to run this benchmark from the repository root.
const benchCommand = "QC_BENCH=1 QC_BENCH_DOC=$PWD/docs/benchmarks.md go test -count=1 -run '^TestPersistThroughput$' -v -timeout 30m ./services/persister"

// replaceSection replaces the section starting at heading (up to the next "## " heading) in
// the markdown file at path with section, appending it when absent and creating the file
// when needed. Other sections are left as they are.
func replaceSection(path, heading, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	doc := string(old)
	if doc == "" {
		doc = "# Benchmarks\n\n"
	}
	section = strings.TrimRight(section, "\n") + "\n"
	if i := strings.Index(doc, heading+"\n"); i >= 0 {
		end := len(doc)
		if j := strings.Index(doc[i+len(heading):], "\n## "); j >= 0 {
			end = i + len(heading) + j + 1
			section += "\n"
		}
		doc = doc[:i] + section + doc[end:]
	} else {
		doc = strings.TrimRight(doc, "\n") + "\n\n" + section
	}
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
