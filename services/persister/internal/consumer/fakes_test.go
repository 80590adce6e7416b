package consumer_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/event"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/services/persister/internal/consumer"
)

// memSink is an in-memory Sink with PostgreSQL's semantics for what the persister relies
// on: one transaction per batch, duplicates skipped by id and by client key, unknown groups
// and NUL bytes rejected for the whole batch.
type memSink struct {
	mu      sync.Mutex
	rows    map[uuid.UUID]store.Message
	keys    map[string]bool
	groups  map[uuid.UUID]bool
	outages int // the next outages calls fail as if the database were down
	calls   int
}

var _ consumer.Sink = (*memSink)(nil)

func newMemSink(groups ...uuid.UUID) *memSink {
	s := &memSink{rows: map[uuid.UUID]store.Message{}, keys: map[string]bool{}, groups: map[uuid.UUID]bool{}}
	for _, g := range groups {
		s.groups[g] = true
	}
	return s
}

func (s *memSink) InsertMessages(_ context.Context, batch []store.Message) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.outages > 0 {
		s.outages--
		return 0, apperr.Wrap(context.DeadlineExceeded, apperr.Unavailable, "database unavailable")
	}
	for _, m := range batch {
		if !s.groups[m.GroupID] {
			return 0, apperr.New(apperr.NotFound, "messages refers to something that does not exist")
		}
		if strings.ContainsRune(m.Body, 0) {
			return 0, apperr.New(apperr.Invalid, "messages is invalid")
		}
	}
	var n int64
	for _, m := range batch {
		key := m.GroupID.String() + "/" + m.SenderID.String() + "/" + m.ClientMsgID
		if _, ok := s.rows[m.ID]; ok || s.keys[key] {
			continue
		}
		s.rows[m.ID], s.keys[key] = m, true
		n++
	}
	return n, nil
}

func (s *memSink) ids() map[uuid.UUID]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[uuid.UUID]bool{}
	for id := range s.rows {
		out[id] = true
	}
	return out
}

// memDeadLetters records dead letters; the next failures calls fail.
type memDeadLetters struct {
	mu       sync.Mutex
	letters  []consumer.DeadLetter
	failures int
}

var _ consumer.DeadLetterer = (*memDeadLetters)(nil)

func (d *memDeadLetters) DeadLetter(_ context.Context, letters []consumer.DeadLetter) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failures > 0 {
		d.failures--
		return sarama.ErrNotEnoughReplicas
	}
	d.letters = append(d.letters, letters...)
	return nil
}

func (d *memDeadLetters) all() []consumer.DeadLetter {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]consumer.DeadLetter(nil), d.letters...)
}

func newMetrics(tb testing.TB) *consumer.Metrics {
	tb.Helper()
	m, err := consumer.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func newWriter(tb testing.TB, sink consumer.Sink, dead consumer.DeadLetterer) *consumer.Writer {
	tb.Helper()
	return consumer.NewWriter(sink, dead, consumer.WriterConfig{
		AttemptTimeout: 5 * time.Second, BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond,
	}, newMetrics(tb), zap.NewNop())
}

// chatMessage returns a valid event in group.
func chatMessage(tb testing.TB, group uuid.UUID, body string) *event.Message {
	tb.Helper()
	id, err := event.NewID()
	if err != nil {
		tb.Fatal(err)
	}
	return &event.Message{
		Id: id.String(), GroupId: group.String(), SenderId: uuid.NewString(), SenderName: "ann",
		ClientMsgId: uuid.NewString(), Body: body, CreatedAtUnixMs: time.Now().UnixMilli(),
	}
}

// records encodes msgs as consecutive records of partition 0 starting at offset first.
func records(tb testing.TB, first int64, msgs ...*event.Message) []*sarama.ConsumerMessage {
	tb.Helper()
	out := make([]*sarama.ConsumerMessage, len(msgs))
	for i, m := range msgs {
		b, err := event.Encode(m)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = &sarama.ConsumerMessage{Topic: "chat", Partition: 0, Offset: first + int64(i), Key: []byte(m.GetGroupId()), Value: b}
	}
	return out
}
