package store

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/db/dbgen"
)

// InsertMessages stores a batch in one set-based statement and one transaction. Messages
// already stored (same id, or same group+sender+client id) are skipped; the result is the
// number of new rows.
func (s *Store) InsertMessages(ctx context.Context, batch []Message) (int64, error) {
	if len(batch) == 0 {
		return 0, nil
	}
	p := dbgen.InsertMessagesParams{
		Ids: make([]uuid.UUID, len(batch)), GroupIds: make([]uuid.UUID, len(batch)),
		SenderIds: make([]uuid.UUID, len(batch)), SenderNames: make([]string, len(batch)),
		ClientMsgIds: make([]string, len(batch)), Bodies: make([]string, len(batch)),
		CreatedAts: make([]time.Time, len(batch)),
	}
	for i, m := range batch {
		p.Ids[i], p.GroupIds[i], p.SenderIds[i] = m.ID, m.GroupID, m.SenderID
		p.SenderNames[i], p.ClientMsgIds[i], p.Bodies[i], p.CreatedAts[i] = m.SenderName, m.ClientMsgID, m.Body, m.CreatedAt
	}
	var n int64
	err := s.inTx(ctx, func(q *dbgen.Queries) error {
		var err error
		n, err = q.InsertMessages(ctx, p)
		return err
	})
	if err != nil {
		return 0, translate(err, "messages")
	}
	return n, nil
}

// InsertMessage stores one message with its own statement (the seed's way; kept as the
// benchmark baseline). It reports whether a new row was written.
func (s *Store) InsertMessage(ctx context.Context, m Message) (bool, error) {
	n, err := s.q.InsertMessage(ctx, dbgen.InsertMessageParams(m))
	if err != nil {
		return false, translate(err, "message")
	}
	return n == 1, nil
}

// MessagesBefore returns up to limit messages of a group older than before, newest first.
// uuid.Max as before means "the latest".
func (s *Store) MessagesBefore(ctx context.Context, group, before uuid.UUID, limit int) ([]Message, error) {
	rows, err := s.q.ListMessagesBefore(ctx, dbgen.ListMessagesBeforeParams{GroupID: group, Before: before, MaxRows: int32(limit)})
	if err != nil {
		return nil, translate(err, "messages")
	}
	return messagesFrom(rows), nil
}

// MessagesAfter returns up to limit messages of a group newer than after, oldest first.
func (s *Store) MessagesAfter(ctx context.Context, group, after uuid.UUID, limit int) ([]Message, error) {
	rows, err := s.q.ListMessagesAfter(ctx, dbgen.ListMessagesAfterParams{GroupID: group, After: after, MaxRows: int32(limit)})
	if err != nil {
		return nil, translate(err, "messages")
	}
	return messagesFrom(rows), nil
}

// CountMessages returns how many messages a group has stored.
func (s *Store) CountMessages(ctx context.Context, group uuid.UUID) (int64, error) {
	n, err := s.q.CountMessages(ctx, group)
	if err != nil {
		return 0, translate(err, "messages")
	}
	return n, nil
}

func messagesFrom(rows []dbgen.Message) []Message {
	out := make([]Message, len(rows))
	for i, r := range rows {
		out[i] = Message(r)
	}
	return out
}
