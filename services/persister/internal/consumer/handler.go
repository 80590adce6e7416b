package consumer

import (
	"context"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/zap"
)

// BatchWriter stores a batch of records; nil means every record is accounted for and the
// batch's offsets may be committed.
type BatchWriter interface {
	Write(ctx context.Context, batch []*sarama.ConsumerMessage) error
}

var _ BatchWriter = (*Writer)(nil)

// HandlerConfig tunes batching.
type HandlerConfig struct {
	// BatchSize is the most records per batch.
	BatchSize int
	// Linger is how long a partial batch waits for more records.
	Linger time.Duration
}

// Handler is a sarama.ConsumerGroupHandler that batches each claimed partition's records
// in offset order, hands every batch to a BatchWriter and commits the batch's offsets only
// after the writer succeeds. Partitions are independent: each claim has its own goroutine
// (Sarama's) and its own batch, so one partition's slow write does not hold up another's.
type Handler struct {
	w       BatchWriter
	cfg     HandlerConfig
	metrics *Metrics
	log     *zap.Logger
}

var _ sarama.ConsumerGroupHandler = (*Handler)(nil)

// NewHandler returns a Handler writing through w.
func NewHandler(w BatchWriter, cfg HandlerConfig, metrics *Metrics, log *zap.Logger) *Handler {
	return &Handler{w: w, cfg: cfg, metrics: metrics, log: log}
}

// Setup implements sarama.ConsumerGroupHandler.
func (h *Handler) Setup(sess sarama.ConsumerGroupSession) error {
	h.log.Info("partitions assigned", zap.Any("claims", sess.Claims()), zap.Int32("generation", sess.GenerationID()))
	return nil
}

// Cleanup implements sarama.ConsumerGroupHandler.
func (h *Handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

// ConsumeClaim batches one partition's records. It returns when the claim's channel closes
// (the partition is revoked) or the session ends; a batch not yet stored then is neither
// committed nor lost: the partition's next owner reads it again.
func (h *Handler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	ctx := sess.Context()
	lag := h.metrics.lag.track(claim)
	defer h.metrics.lag.untrack(lag)

	batch := make([]*sarama.ConsumerMessage, 0, h.cfg.BatchSize)
	linger := time.NewTimer(h.cfg.Linger)
	linger.Stop()
	defer linger.Stop()
	flush := func() error {
		linger.Stop()
		if len(batch) == 0 {
			return nil
		}
		if err := h.w.Write(ctx, batch); err != nil {
			return err
		}
		last := batch[len(batch)-1]
		// Marking and committing only now keeps the committed offset behind what is stored.
		sess.MarkMessage(last, "")
		sess.Commit()
		lag.stored(last.Offset + 1)
		clear(batch) // drop references so consumed records can be collected
		batch = batch[:0]
		return nil
	}
	for {
		select {
		case rec, ok := <-claim.Messages():
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return flush()
			}
			lag.seen(rec.Offset)
			if len(batch) == 0 {
				linger.Reset(h.cfg.Linger)
			}
			batch = append(batch, rec)
			if len(batch) >= h.cfg.BatchSize {
				if err := flush(); err != nil {
					return h.ended(ctx, err)
				}
			}
		case <-linger.C:
			if err := flush(); err != nil {
				return h.ended(ctx, err)
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// ended turns a write that was cut short by the end of the session into a normal return:
// the batch is simply left for the next owner.
func (h *Handler) ended(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
