package consumer_test

import (
	"context"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/event"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/services/persister/internal/consumer"
)

// memSink is an in-memory Sink that keeps the Sink contract (testSinkContract) the way
// store.Store does on PostgreSQL: one all-or-nothing transaction per batch; values
// PostgreSQL cannot hold rejected first; events applied in batch order, a message skipped
// if its id or client key (group, sender, client id) is already taken, a deletion skipped
// if its message (in its group) or its event id already has one; a message whose deletion
// is recorded stored deleted; the groups of the rows actually inserted checked.
type memSink struct {
	mu        sync.Mutex
	rows      map[uuid.UUID]store.Message
	keys      map[string]bool
	deletions map[string]store.Deletion // by deletionKey
	eventIDs  map[uuid.UUID]bool        // of recorded deletions
	groups    map[uuid.UUID]bool
	outages   int // the next outages calls fail as if the database were down
	calls     int
}

var _ consumer.Sink = (*memSink)(nil)

func newMemSink(groups ...uuid.UUID) *memSink {
	s := &memSink{
		rows: map[uuid.UUID]store.Message{}, keys: map[string]bool{}, groups: map[uuid.UUID]bool{},
		deletions: map[string]store.Deletion{}, eventIDs: map[uuid.UUID]bool{},
	}
	for _, g := range groups {
		s.groups[g] = true
	}
	return s
}

// PostgreSQL's timestamptz holds 4714-11-24 BC (year -4713 in Go) to 294276 AD.
var (
	pgEarliest = time.Date(-4713, 11, 24, 0, 0, 0, 0, time.UTC)
	pgLatest   = time.Date(294277, 1, 1, 0, 0, 0, 0, time.UTC)
)

func pgTime(t time.Time) bool { return !t.Before(pgEarliest) && t.Before(pgLatest) }

func (s *memSink) ApplyEvents(ctx context.Context, batch []store.Event) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if err := ctx.Err(); err != nil {
		return 0, apperr.Wrap(err, apperr.Unavailable, "messages: timed out")
	}
	if s.outages > 0 {
		s.outages--
		return 0, apperr.Wrap(context.DeadlineExceeded, apperr.Unavailable, "database unavailable")
	}
	// PostgreSQL rejects such values while it reads the statement's parameters, before it
	// looks at a single row.
	for _, e := range batch {
		if d := e.Deletion; d != nil {
			if !pgTime(d.DeletedAt) {
				return 0, apperr.New(apperr.Invalid, "deletion is invalid")
			}
			continue
		}
		m := e.Message
		if !pgText(m.SenderName) || !pgText(m.ClientMsgID) || !pgText(m.Body) || !pgTime(m.CreatedAt) {
			return 0, apperr.New(apperr.Invalid, "messages is invalid")
		}
	}
	// Work on copies so a failed batch changes nothing. ON CONFLICT DO NOTHING skips a
	// row that collides with a stored one or an earlier one of the same batch; the group
	// check sees only the rows actually inserted.
	rows, keys := maps.Clone(s.rows), maps.Clone(s.keys)
	deletions, eventIDs := maps.Clone(s.deletions), maps.Clone(s.eventIDs)
	var n int64
	for _, e := range batch {
		if d := e.Deletion; d != nil {
			dk := deletionKey(d.GroupID, d.MessageID)
			if _, ok := deletions[dk]; ok || eventIDs[d.EventID] {
				continue
			}
			if !s.groups[d.GroupID] {
				return 0, apperr.New(apperr.NotFound, "deletion refers to something that does not exist")
			}
			d := *d
			d.DeletedAt = d.DeletedAt.Truncate(time.Microsecond)
			deletions[dk], eventIDs[d.EventID] = d, true
			n++
			if m, ok := rows[d.MessageID]; ok && m.GroupID == d.GroupID && m.DeletedAt == nil {
				rows[d.MessageID] = deleted(m, d)
			}
			continue
		}
		m := e.Message
		key := clientKey(m)
		if _, ok := rows[m.ID]; ok || keys[key] {
			continue
		}
		if !s.groups[m.GroupID] {
			return 0, apperr.New(apperr.NotFound, "messages refers to something that does not exist")
		}
		m.CreatedAt = m.CreatedAt.Truncate(time.Microsecond) // timestamptz's precision
		m.DeletedAt, m.DeletedBy = nil, uuid.NullUUID{}
		if d, ok := deletions[deletionKey(m.GroupID, m.ID)]; ok {
			m = deleted(m, d)
		}
		rows[m.ID], keys[key] = m, true
		n++
	}
	s.rows, s.keys, s.deletions, s.eventIDs = rows, keys, deletions, eventIDs
	return n, nil
}

// deleted is m as d leaves it: body cleared, deletion recorded.
func deleted(m store.Message, d store.Deletion) store.Message {
	at := d.DeletedAt
	m.Body, m.DeletedAt, m.DeletedBy = "", &at, uuid.NullUUID{UUID: d.DeletedBy, Valid: true}
	return m
}

// deletionKey is what message_deletions' primary key makes unique: a message of a group.
func deletionKey(group, message uuid.UUID) string { return group.String() + "/" + message.String() }

// clientKey is what messages_client_key makes unique: a sender's client id in a group.
func clientKey(m store.Message) string {
	return m.GroupID.String() + "/" + m.SenderID.String() + "/" + m.ClientMsgID
}

// pgText reports whether PostgreSQL's text type (in a UTF-8 database) can hold v.
func pgText(v string) bool { return utf8.ValidString(v) && !strings.ContainsRune(v, 0) }

func (s *memSink) stored() map[uuid.UUID]store.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[uuid.UUID]store.Message{}
	for id, m := range s.rows {
		out[id] = m
	}
	return out
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
