// Package producer makes accepted messages durable by producing them to Kafka before any
// client sees them.
package producer

import (
	"context"
	"fmt"
	"sync"

	"github.com/IBM/sarama"

	"github.com/quickchat-go/quickchat/pkg/kafka"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
)

// KafkaProducer produces records with an idempotent, acks=all Sarama producer and lets each
// caller wait for its own record's acknowledgement.
type KafkaProducer struct {
	p     sarama.AsyncProducer
	topic string
	wg    sync.WaitGroup
}

var _ node.Producer = (*KafkaProducer)(nil)

// NewKafkaProducer connects to brokers as conn says (TLS, SASL) and produces to topic.
func NewKafkaProducer(brokers []string, conn kafka.Settings, topic, clientID string) (*KafkaProducer, error) {
	cfg, err := conn.NewDurableProducerConfig(clientID)
	if err != nil {
		return nil, fmt.Errorf("producer: %w", err)
	}
	p, err := sarama.NewAsyncProducer(brokers, cfg)
	if err != nil {
		return nil, fmt.Errorf("producer: connect to %v: %w", brokers, kafka.Explain(err))
	}
	k := &KafkaProducer{p: p, topic: topic}
	k.wg.Add(2)
	go func() {
		defer k.wg.Done()
		for m := range p.Successes() {
			m.Metadata.(chan error) <- nil
		}
	}()
	go func() {
		defer k.wg.Done()
		for e := range p.Errors() {
			e.Msg.Metadata.(chan error) <- e.Err
		}
	}()
	return k, nil
}

// Produce sends value keyed by key (the group id, so a room's records share a partition)
// and waits until Kafka acknowledges it or ctx ends. After a ctx error the record may still
// be written; callers retry with the same message id, which consumers deduplicate.
func (k *KafkaProducer) Produce(ctx context.Context, key string, value []byte) error {
	done := make(chan error, 1)
	msg := &sarama.ProducerMessage{Topic: k.topic, Key: sarama.StringEncoder(key), Value: sarama.ByteEncoder(value), Metadata: done}
	select {
	case k.p.Input() <- msg:
	case <-ctx.Done():
		return fmt.Errorf("producer: enqueue: %w", ctx.Err())
	}
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("producer: produce to %s: %w", k.topic, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("producer: wait for ack: %w", ctx.Err())
	}
}

// Close flushes records in flight and closes the producer; call it after no more Produce
// calls can start.
func (k *KafkaProducer) Close() error {
	k.p.AsyncClose()
	k.wg.Wait()
	return nil
}
