package kafka

import (
	"time"

	"github.com/IBM/sarama"
)

// Version is the Kafka protocol version we speak. Kafka 4 dropped the old protocol
// versions Sarama defaults to, so it must be set explicitly.
var Version = sarama.V3_9_0_0

// NewConfig returns a base Sarama config for clientID.
func NewConfig(clientID string) *sarama.Config {
	c := sarama.NewConfig()
	c.ClientID = clientID
	c.Version = Version
	c.Metadata.Retry.Max = 10
	c.Metadata.Retry.Backoff = 250 * time.Millisecond
	c.Net.DialTimeout = 5 * time.Second
	return c
}

// NewDurableProducerConfig returns a config for an idempotent producer that waits for all
// in-sync replicas, so an acknowledged record survives a broker failure and retries never
// write a record twice.
func NewDurableProducerConfig(clientID string) *sarama.Config {
	c := NewConfig(clientID)
	c.Producer.Idempotent = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Net.MaxOpenRequests = 1
	c.Producer.Retry.Max = 10
	c.Producer.Retry.Backoff = 200 * time.Millisecond
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.Partitioner = sarama.NewHashPartitioner
	c.Producer.Compression = sarama.CompressionLZ4
	// A 1 ms linger. Without it (tried for issue 20) a send on an idle pipe saves about
	// 1.5 ms of produce latency, but every request then carries fewer records, and on the
	// 2-core bench machine Kafka's CPU per message doubled at 2,000–5,000 msgs/s and the
	// whole system saturated sooner (docs/benchmarks.md, "Where the time goes").
	c.Producer.Flush.Frequency = time.Millisecond
	c.Producer.Flush.MaxMessages = 1000
	return c
}
