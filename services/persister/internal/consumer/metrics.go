package consumer

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the persister's Prometheus metrics.
type Metrics struct {
	batchSize     prometheus.Histogram
	insertSeconds prometheus.Histogram
	rowsWritten   prometheus.Counter
	duplicates    prometheus.Counter
	deadLetters   *prometheus.CounterVec
	retries       *prometheus.CounterVec
	lag           *lagCollector
	// rows mirrors rowsWritten for in-process readers such as the benchmark.
	rows atomic.Int64
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "persister_batch_size",
			Help:    "Records per batch handed to the writer.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9), // 1 .. 65536
		}),
		insertSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "persister_insert_duration_seconds",
			Help:    "Time of one insert transaction, successful or not.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5ms .. 16s
		}),
		rowsWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "persister_rows_written_total",
			Help: "Message rows inserted and message deletions recorded in PostgreSQL.",
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "persister_duplicates_skipped_total",
			Help: "Messages and deletions not written because they were already stored (redelivery, producer or client retry).",
		}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "persister_dead_letters_total",
			Help: "Records sent to the dead-letter topic, by reason code.",
		}, []string{"code"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "persister_write_retries_total",
			Help: "Transient failures that were retried, by operation (store, dead_letter).",
		}, []string{"op"}),
		lag: &lagCollector{
			desc: prometheus.NewDesc("persister_consumer_lag",
				"Records in a partition this instance owns that are not stored yet (high watermark minus next offset to store).",
				[]string{"topic", "partition"}, nil),
			parts: map[lagKey]*partitionLag{},
		},
	}
	for _, c := range []prometheus.Collector{m.batchSize, m.insertSeconds, m.rowsWritten, m.duplicates, m.deadLetters, m.retries, m.lag} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("consumer: register metrics: %w", err)
		}
	}
	// Show the codes and operations at zero before the first event.
	for _, code := range []string{CodeUndecodable, CodeInvalid, CodeNotFound} {
		m.deadLetters.WithLabelValues(code)
	}
	m.retries.WithLabelValues("store")
	m.retries.WithLabelValues("dead_letter")
	return m, nil
}

// RowsWritten returns how many rows this process has inserted so far.
func (m *Metrics) RowsWritten() int64 { return m.rows.Load() }

func (m *Metrics) addRows(n int64) {
	m.rows.Add(n)
	m.rowsWritten.Add(float64(n))
}

type lagKey struct {
	topic     string
	partition int32
}

// partitionLag follows one claimed partition.
type partitionLag struct {
	claim sarama.ConsumerGroupClaim
	// next is the offset of the first record not stored yet, or -1 until it is known.
	next atomic.Int64
}

// stored records that every record before offset next is stored.
func (p *partitionLag) stored(next int64) { p.next.Store(next) }

// seen records the first offset consumed when the starting offset was not known.
func (p *partitionLag) seen(offset int64) { p.next.CompareAndSwap(-1, offset) }

// lagCollector computes lag at scrape time from Sarama's high watermarks, so it is current
// even while a partition is stuck behind a database outage.
type lagCollector struct {
	desc  *prometheus.Desc
	mu    sync.Mutex
	parts map[lagKey]*partitionLag
}

var _ prometheus.Collector = (*lagCollector)(nil)

func (c *lagCollector) track(claim sarama.ConsumerGroupClaim) *partitionLag {
	p := &partitionLag{claim: claim}
	// InitialOffset is the committed offset, or a negative sentinel before any commit.
	p.next.Store(max(claim.InitialOffset(), -1))
	c.mu.Lock()
	c.parts[lagKey{claim.Topic(), claim.Partition()}] = p
	c.mu.Unlock()
	return p
}

// untrack stops reporting a partition this instance no longer owns.
func (c *lagCollector) untrack(p *partitionLag) {
	k := lagKey{p.claim.Topic(), p.claim.Partition()}
	c.mu.Lock()
	if c.parts[k] == p {
		delete(c.parts, k)
	}
	c.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, p := range c.parts {
		next := p.next.Load()
		if next < 0 {
			continue
		}
		lag := max(p.claim.HighWaterMarkOffset()-next, 0)
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(lag),
			k.topic, strconv.Itoa(int(k.partition)))
	}
}
