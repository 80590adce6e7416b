package deadletter

import (
	"context"
	"fmt"
	"strconv"

	"github.com/IBM/sarama"

	"github.com/quickchat-go/quickchat/pkg/kafka"
	"github.com/quickchat-go/quickchat/services/persister/internal/consumer"
)

// Header keys the publisher adds to every dead letter.
const (
	// HeaderReason carries the human-readable reason the record was rejected.
	HeaderReason = "dead-letter-reason"
	// HeaderCode carries the reason code (consumer.CodeUndecodable, CodeInvalid, CodeNotFound).
	HeaderCode = "dead-letter-code"
	// HeaderTopic, HeaderPartition and HeaderOffset say where the record was consumed.
	HeaderTopic     = "dead-letter-original-topic"
	HeaderPartition = "dead-letter-original-partition"
	HeaderOffset    = "dead-letter-original-offset"
)

// KafkaPublisher produces dead letters with an idempotent, acks=all producer.
type KafkaPublisher struct {
	p     sarama.SyncProducer
	topic string
}

var _ consumer.DeadLetterer = (*KafkaPublisher)(nil)

// NewKafkaPublisher connects to brokers as conn says (TLS, SASL) and publishes to topic.
func NewKafkaPublisher(brokers []string, conn kafka.Settings, topic, clientID string) (*KafkaPublisher, error) {
	cfg, err := conn.NewDurableProducerConfig(clientID)
	if err != nil {
		return nil, fmt.Errorf("deadletter: %w", err)
	}
	p, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		return nil, fmt.Errorf("deadletter: connect to %v: %w", brokers, kafka.Explain(err))
	}
	return &KafkaPublisher{p: p, topic: topic}, nil
}

// DeadLetter publishes letters and returns once Kafka has acknowledged all of them. A
// failure may leave some published; a retry publishes those again (dead letters are
// at-least-once).
func (k *KafkaPublisher) DeadLetter(ctx context.Context, letters []consumer.DeadLetter) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("deadletter: %w", err)
	}
	msgs := make([]*sarama.ProducerMessage, len(letters))
	for i, l := range letters {
		r := l.Record
		headers := make([]sarama.RecordHeader, 0, len(r.Headers)+5)
		for _, h := range r.Headers {
			if h != nil {
				headers = append(headers, *h)
			}
		}
		headers = append(headers,
			sarama.RecordHeader{Key: []byte(HeaderReason), Value: []byte(l.Reason)},
			sarama.RecordHeader{Key: []byte(HeaderCode), Value: []byte(l.Code)},
			sarama.RecordHeader{Key: []byte(HeaderTopic), Value: []byte(r.Topic)},
			sarama.RecordHeader{Key: []byte(HeaderPartition), Value: []byte(strconv.Itoa(int(r.Partition)))},
			sarama.RecordHeader{Key: []byte(HeaderOffset), Value: []byte(strconv.FormatInt(r.Offset, 10))},
		)
		msgs[i] = &sarama.ProducerMessage{Topic: k.topic, Headers: headers, Value: sarama.ByteEncoder(r.Value)}
		if r.Key != nil {
			msgs[i].Key = sarama.ByteEncoder(r.Key)
		}
	}
	// Sarama's producer takes no context; its own retries and timeouts bound the call.
	if err := k.p.SendMessages(msgs); err != nil {
		return fmt.Errorf("deadletter: publish %d records to %s: %w", len(msgs), k.topic, err)
	}
	return nil
}

// Close flushes and closes the producer.
func (k *KafkaPublisher) Close() error {
	if err := k.p.Close(); err != nil {
		return fmt.Errorf("deadletter: close: %w", err)
	}
	return nil
}
