// Package kafka holds the Sarama settings Quick Chat's services share: the protocol
// version the brokers speak, durable producer defaults, and creating the chat topic.
package kafka

import (
	"context"
	"errors"
	"fmt"
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
	c.Producer.Flush.Frequency = time.Millisecond
	c.Producer.Flush.MaxMessages = 1000
	return c
}

// EnsureTopic creates topic with the given partitions if it does not exist yet.
func EnsureTopic(ctx context.Context, brokers []string, topic string, partitions int32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Sarama's admin API takes no context; each call is bounded by its own timeouts.
	admin, err := sarama.NewClusterAdmin(brokers, NewConfig("quickchat-admin"))
	if err != nil {
		return fmt.Errorf("kafka: connect admin to %v: %w", brokers, err)
	}
	defer admin.Close()
	err = admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: -1}, false)
	if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		var terr *sarama.TopicError
		if !(errors.As(err, &terr) && terr.Err == sarama.ErrTopicAlreadyExists) {
			return fmt.Errorf("kafka: create topic %s: %w", topic, err)
		}
	}
	return nil
}
