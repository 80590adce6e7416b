// Package consumer reads chat messages from Kafka in a Sarama consumer group, groups each
// partition's messages into batches, hands every batch to a Sink, and marks and commits
// offsets only after the sink has stored the batch. A batch that fails is retried with
// backoff and never skipped, so nothing acknowledged to a sender is lost.
package consumer

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/event"
	"github.com/quickchat-go/quickchat/pkg/store"
)

// Sink stores a batch of messages atomically; already stored messages are skipped.
type Sink interface {
	InsertMessages(ctx context.Context, batch []store.Message) (int64, error)
}

var _ Sink = (*store.Store)(nil)

// Config tunes batching.
type Config struct {
	// BatchSize is the most messages per batch.
	BatchSize int
	// Linger is how long a partial batch waits for more messages.
	Linger time.Duration
}

// Handler implements sarama.ConsumerGroupHandler.
type Handler struct {
	sink Sink
	cfg  Config
	log  *zap.Logger
}

var _ sarama.ConsumerGroupHandler = (*Handler)(nil)

// NewHandler returns a Handler writing to sink.
func NewHandler(sink Sink, cfg Config, log *zap.Logger) *Handler {
	return &Handler{sink: sink, cfg: cfg, log: log}
}

// Setup implements sarama.ConsumerGroupHandler.
func (h *Handler) Setup(sarama.ConsumerGroupSession) error { return nil }

// Cleanup implements sarama.ConsumerGroupHandler.
func (h *Handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

// ConsumeClaim batches one partition's messages in order.
func (h *Handler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	ctx := sess.Context()
	batch := make([]store.Message, 0, h.cfg.BatchSize)
	var last *sarama.ConsumerMessage
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() error {
		if last == nil {
			return nil
		}
		if err := h.write(ctx, batch); err != nil {
			return err // session ending: leave offsets where they are; the next owner re-reads
		}
		sess.MarkMessage(last, "")
		sess.Commit()
		batch, last = batch[:0], nil
		return nil
	}
	for {
		select {
		case msg, ok := <-claim.Messages():
			if !ok {
				return flush()
			}
			m, err := toStore(msg.Value)
			if err != nil {
				// An undecodable record can never be stored; skipping it must not block its
				// partition. (Dead-lettering is added by the persister issue.)
				h.log.Error("undecodable message skipped", zap.Int32("partition", msg.Partition), zap.Int64("offset", msg.Offset), zap.Error(err))
			} else {
				batch = append(batch, m)
			}
			if last == nil {
				timer.Reset(h.cfg.Linger)
			}
			last = msg
			if len(batch) >= h.cfg.BatchSize {
				timer.Stop()
				if err := flush(); err != nil {
					return err
				}
			}
		case <-timer.C:
			if err := flush(); err != nil {
				return err
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// write stores batch, retrying with backoff until it succeeds or ctx ends.
func (h *Handler) write(ctx context.Context, batch []store.Message) error {
	backoff := 100 * time.Millisecond
	for {
		_, err := h.sink.InsertMessages(ctx, batch)
		if err == nil {
			return nil
		}
		h.log.Warn("batch write failed; retrying", zap.Int("size", len(batch)), zap.Duration("backoff", backoff), zap.Error(err))
		select {
		case <-ctx.Done():
			return fmt.Errorf("consumer: batch not stored before session end: %w", err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func toStore(value []byte) (store.Message, error) {
	m, err := event.Decode(value)
	if err != nil {
		return store.Message{}, err
	}
	return store.Message{
		ID: uuid.MustParse(m.GetId()), GroupID: uuid.MustParse(m.GetGroupId()), SenderID: uuid.MustParse(m.GetSenderId()),
		SenderName: m.GetSenderName(), ClientMsgID: m.GetClientMsgId(), Body: m.GetBody(), CreatedAt: event.CreatedAt(m),
	}, nil
}
