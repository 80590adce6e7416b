package consumer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/event"
	"github.com/quickchat-go/quickchat/pkg/store"
)

// Sink applies a batch of events (messages and deletions) in one transaction and in batch
// order, skipping events already applied, and returns the number of new ones. A message
// whose deletion was applied before it is stored deleted. An error coded apperr.Invalid or
// apperr.NotFound means the batch can never be stored as it is; any other error is
// transient. The contract in full (what counts as stored, which duplicate wins, which
// error comes first, how deletions apply) is the suite in sink_contract_test.go, which
// store.Store and the tests' in-memory sink both pass.
type Sink interface {
	ApplyEvents(ctx context.Context, batch []store.Event) (int64, error)
}

var _ Sink = (*store.Store)(nil)

// DeadLetterer durably records Kafka records that can never be stored. Once it returns nil
// the letters must survive a crash; an error is treated as transient and retried.
type DeadLetterer interface {
	DeadLetter(ctx context.Context, letters []DeadLetter) error
}

// Reason codes of dead letters: why a record can never be stored.
const (
	// CodeUndecodable: the record is not a valid chat-message event.
	CodeUndecodable = "undecodable"
	// CodeInvalid: PostgreSQL rejects a value (bad encoding, out of range, a check).
	CodeInvalid = string(apperr.Invalid)
	// CodeNotFound: the message refers to a group that does not exist (any more).
	CodeNotFound = string(apperr.NotFound)
)

// DeadLetter is a record that can never be stored, with the reason.
type DeadLetter struct {
	// Record is the record as consumed.
	Record *sarama.ConsumerMessage
	// Code is one of the Code* constants.
	Code string
	// Reason explains the failure for whoever inspects the dead-letter topic.
	Reason string
}

// WriterConfig tunes how a Writer retries.
type WriterConfig struct {
	// AttemptTimeout bounds one write attempt.
	AttemptTimeout time.Duration
	// BackoffMin is the wait after the first failed attempt; it doubles per failure.
	BackoffMin time.Duration
	// BackoffMax caps the wait between attempts.
	BackoffMax time.Duration
}

// Writer turns a batch of records into stored rows and dead letters.
type Writer struct {
	sink    Sink
	dead    DeadLetterer
	cfg     WriterConfig
	metrics *Metrics
	log     *zap.Logger
}

// NewWriter returns a Writer that stores into sink and dead-letters into dead.
func NewWriter(sink Sink, dead DeadLetterer, cfg WriterConfig, metrics *Metrics, log *zap.Logger) *Writer {
	return &Writer{sink: sink, dead: dead, cfg: cfg, metrics: metrics, log: log}
}

// Write stores every message of batch that can be stored and dead-letters every record that
// never can. It returns nil only when each record is either stored (now or before) or
// dead-lettered, so the caller may then commit the batch's offsets. Transient failures are
// retried with backoff until ctx ends, which makes Write return an error and leaves the
// batch for whoever consumes the partition next.
func (w *Writer) Write(ctx context.Context, batch []*sarama.ConsumerMessage) error {
	w.metrics.batchSize.Observe(float64(len(batch)))
	msgs := make([]store.Event, 0, len(batch))
	recs := make([]*sarama.ConsumerMessage, 0, len(batch))
	var dead []DeadLetter
	for _, rec := range batch {
		e, err := Decode(rec.Value)
		if err != nil {
			dead = append(dead, DeadLetter{Record: rec, Code: CodeUndecodable, Reason: err.Error()})
			continue
		}
		msgs = append(msgs, e)
		recs = append(recs, rec)
	}
	if err := w.store(ctx, msgs, recs, &dead); err != nil {
		return err
	}
	if len(dead) == 0 {
		return nil
	}
	return w.deadLetter(ctx, dead)
}

// store applies msgs, the batch's events (recs are their records), and appends the ones that can never be stored
// to dead. A permanent failure splits the batch in halves until the rows at fault are
// alone, so the good rows around them are still stored.
func (w *Writer) store(ctx context.Context, msgs []store.Event, recs []*sarama.ConsumerMessage, dead *[]DeadLetter) error {
	if len(msgs) == 0 {
		return nil
	}
	backoff := w.cfg.BackoffMin
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("consumer: store %d messages: %w", len(msgs), err)
		}
		err := w.insert(ctx, msgs)
		if err == nil {
			return nil
		}
		if code := apperr.CodeOf(err); code == apperr.Invalid || code == apperr.NotFound {
			if len(msgs) == 1 {
				*dead = append(*dead, DeadLetter{Record: recs[0], Code: string(code), Reason: err.Error()})
				return nil
			}
			half := len(msgs) / 2
			if err := w.store(ctx, msgs[:half], recs[:half], dead); err != nil {
				return err
			}
			return w.store(ctx, msgs[half:], recs[half:], dead)
		}
		w.metrics.retries.WithLabelValues("store").Inc()
		w.log.Warn("storing batch failed; retrying",
			zap.Int("messages", len(msgs)), zap.Duration("backoff", backoff), zap.Error(err))
		if err := sleep(ctx, backoff); err != nil {
			return fmt.Errorf("consumer: store %d messages: %w", len(msgs), err)
		}
		backoff = min(backoff*2, w.cfg.BackoffMax)
	}
}

// insert makes one attempt. It ignores ctx's cancellation (but not its values) so that an
// attempt under way when a rebalance or shutdown starts can finish and be committed; the
// attempt timeout still bounds it.
func (w *Writer) insert(ctx context.Context, msgs []store.Event) error {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.AttemptTimeout)
	defer cancel()
	start := time.Now()
	n, err := w.sink.ApplyEvents(actx, msgs)
	w.metrics.insertSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		return err
	}
	w.metrics.addRows(n)
	w.metrics.duplicates.Add(float64(int64(len(msgs)) - n))
	return nil
}

// deadLetter publishes letters, retrying until it succeeds or ctx ends.
func (w *Writer) deadLetter(ctx context.Context, letters []DeadLetter) error {
	backoff := w.cfg.BackoffMin
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("consumer: dead-letter %d records: %w", len(letters), err)
		}
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.AttemptTimeout)
		err := w.dead.DeadLetter(actx, letters)
		cancel()
		if err == nil {
			break
		}
		w.metrics.retries.WithLabelValues("dead_letter").Inc()
		w.log.Warn("dead-lettering failed; retrying",
			zap.Int("records", len(letters)), zap.Duration("backoff", backoff), zap.Error(err))
		if err := sleep(ctx, backoff); err != nil {
			return fmt.Errorf("consumer: dead-letter %d records: %w", len(letters), err)
		}
		backoff = min(backoff*2, w.cfg.BackoffMax)
	}
	for _, l := range letters {
		w.metrics.deadLetters.WithLabelValues(l.Code).Inc()
		w.log.Warn("record dead-lettered",
			zap.String("topic", l.Record.Topic), zap.Int32("partition", l.Record.Partition),
			zap.Int64("offset", l.Record.Offset), zap.String("code", l.Code), zap.String("reason", l.Reason))
	}
	return nil
}

// latestStorable is the last instant PostgreSQL's timestamptz and pgx's encoding both
// handle with room to spare; later timestamps can only come from a broken producer.
var latestStorable = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// Decode parses a record value into an event ready to apply: a message, or a deletion when
// the event carries one. An error means the record can never be stored.
func Decode(value []byte) (store.Event, error) {
	m, err := event.Decode(value)
	if err != nil {
		return store.Event{}, err
	}
	createdAt := event.CreatedAt(m)
	if createdAt.After(latestStorable) {
		return store.Event{}, errors.New("event: created_at_unix_ms is out of range")
	}
	// event.Decode has validated the ids, so these parses cannot fail.
	if event.IsDeletion(m) {
		return store.Event{Deletion: &store.Deletion{
			EventID:   uuid.MustParse(m.GetId()),
			MessageID: uuid.MustParse(m.GetDeletion().GetMessageId()),
			GroupID:   uuid.MustParse(m.GetGroupId()),
			DeletedBy: uuid.MustParse(m.GetSenderId()),
			DeletedAt: createdAt,
		}}, nil
	}
	msg := store.Message{
		ID:          uuid.MustParse(m.GetId()),
		GroupID:     uuid.MustParse(m.GetGroupId()),
		SenderID:    uuid.MustParse(m.GetSenderId()),
		SenderName:  m.GetSenderName(),
		ClientMsgID: m.GetClientMsgId(),
		Body:        m.GetBody(),
		CreatedAt:   createdAt,
		SenderGuest: m.GetSenderGuest(),
	}
	// The link to each attachment is all the persister stores: the gateway wrote the
	// attachment's row when it checked the file, with the metadata the event copies.
	for _, a := range m.GetAttachments() {
		msg.Attachments = append(msg.Attachments, store.Attachment{ID: uuid.MustParse(a.GetId()), GroupID: msg.GroupID})
	}
	return store.Event{Message: msg}, nil
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
