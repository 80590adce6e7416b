package store

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/quickchat-go/quickchat/db/dbgen"
	"github.com/quickchat-go/quickchat/pkg/apperr"
)

// InsertMessages stores a batch as one set-based statement, which is one transaction.
// Messages already stored (same id, or same group+sender+client id) are skipped; the result
// is the number of new rows.
//
// A batch that can never be stored as it is fails with apperr.NotFound (a group that does
// not exist) or apperr.Invalid (a value PostgreSQL rejects); any other error is transient
// and the same batch may succeed later.
func (s *Store) InsertMessages(ctx context.Context, batch []Message) (int64, error) {
	if len(batch) == 0 {
		return 0, nil
	}
	p := insertParams(batch)
	// Most batches hold only new messages, so try the cheaper insert first; a unique
	// violation rolls it back whole and the deduplicating insert takes over.
	n, err := s.q.InsertNewMessages(ctx, dbgen.InsertNewMessagesParams(p))
	if isUniqueViolation(err) {
		n, err = s.q.InsertMessages(ctx, p)
	}
	if err != nil {
		return 0, translateWrite(err, "messages")
	}
	return n, nil
}

func insertParams(batch []Message) dbgen.InsertMessagesParams {
	p := dbgen.InsertMessagesParams{
		Ids: make([]string, len(batch)), GroupIds: make([]string, len(batch)),
		SenderIds: make([]string, len(batch)), SenderNames: make([]string, len(batch)),
		ClientMsgIds: make([]string, len(batch)), Bodies: make([]string, len(batch)),
		CreatedAts: make([]time.Time, len(batch)), SenderGuests: make([]bool, len(batch)),
	}
	for i, m := range batch {
		p.Ids[i], p.GroupIds[i], p.SenderIds[i] = m.ID.String(), m.GroupID.String(), m.SenderID.String()
		p.SenderNames[i], p.ClientMsgIds[i], p.Bodies[i], p.CreatedAts[i] = m.SenderName, m.ClientMsgID, m.Body, m.CreatedAt
		p.SenderGuests[i] = m.SenderGuest
	}
	return p
}

// ApplyEvents applies a batch of events in one transaction and in batch order: messages are
// stored as InsertMessages stores them (and stored already deleted when their deletion is
// recorded), deletions are recorded and clear their message if it is stored. Applying an
// event again changes nothing; the first deletion of a message wins. The result counts the
// messages stored and deletions recorded that were new. Errors are coded as for
// InsertMessages (a deletion in a group that does not exist is apperr.NotFound).
//
// Messages that carry attachments are linked to them in the same transaction.
func (s *Store) ApplyEvents(ctx context.Context, batch []Event) (int64, error) {
	msgs := make([]Message, 0, len(batch))
	for _, e := range batch {
		if e.Deletion != nil || len(e.Message.Attachments) > 0 {
			return s.applyMixed(ctx, batch)
		}
		msgs = append(msgs, e.Message)
	}
	// Messages only, the usual case: one statement, no explicit transaction.
	return s.InsertMessages(ctx, msgs)
}

// applyMixed applies a batch holding deletions or attachments: each run of consecutive
// messages is one insert (and one more for their attachments' links) and each deletion two
// statements, all in one transaction, so a deletion sees the messages before it and a
// message the deletions before it.
func (s *Store) applyMixed(ctx context.Context, batch []Event) (int64, error) {
	var total int64
	err := s.inTx(ctx, func(q *dbgen.Queries) error {
		total = 0
		for i := 0; i < len(batch); {
			if d := batch[i].Deletion; d != nil {
				n, err := applyDeletion(ctx, q, *d)
				if err != nil {
					return err
				}
				total += n
				i++
				continue
			}
			j := i
			var run []Message
			for ; j < len(batch) && batch[j].Deletion == nil; j++ {
				run = append(run, batch[j].Message)
			}
			// Inside a transaction a unique violation would abort it, so only the
			// deduplicating insert is used here.
			n, err := q.InsertMessages(ctx, insertParams(run))
			if err != nil {
				return translateWrite(err, "messages")
			}
			if err := insertAttachmentLinks(ctx, q, run); err != nil {
				return err
			}
			total += n
			i = j
		}
		return nil
	})
	if err != nil {
		// Errors of the statements are coded already; beginning or committing the
		// transaction can fail too.
		var coded *apperr.Error
		if !errors.As(err, &coded) {
			err = translateWrite(err, "events")
		}
		return 0, err
	}
	return total, nil
}

// applyDeletion records d and clears its message if stored; it reports 1 when d was new.
func applyDeletion(ctx context.Context, q *dbgen.Queries, d Deletion) (int64, error) {
	n, err := q.InsertDeletion(ctx, dbgen.InsertDeletionParams{
		MessageID: d.MessageID, GroupID: d.GroupID, DeletedBy: d.DeletedBy, DeletedAt: d.DeletedAt, EventID: d.EventID,
	})
	if err != nil {
		return 0, translateWrite(err, "deletion")
	}
	if _, err := q.ApplyDeletion(ctx, dbgen.ApplyDeletionParams{GroupID: d.GroupID, MessageID: d.MessageID}); err != nil {
		return 0, translateWrite(err, "deletion")
	}
	return n, nil
}

// InsertMessage stores one message with its own statement (the seed's way; kept as the
// benchmark baseline). It reports whether a new row was written. It ignores recorded
// deletions (the persister stores through ApplyEvents).
func (s *Store) InsertMessage(ctx context.Context, m Message) (bool, error) {
	n, err := s.q.InsertMessage(ctx, dbgen.InsertMessageParams{
		ID: m.ID, GroupID: m.GroupID, SenderID: m.SenderID, SenderName: m.SenderName,
		ClientMsgID: m.ClientMsgID, Body: m.Body, CreatedAt: m.CreatedAt, SenderGuest: m.SenderGuest,
	})
	if err != nil {
		return false, translateWrite(err, "message")
	}
	return n == 1, nil
}

// MessagesBefore returns up to limit messages of a group older than before, newest first,
// with their attachments. uuid.Max as before means "the latest".
func (s *Store) MessagesBefore(ctx context.Context, group, before uuid.UUID, limit int) ([]Message, error) {
	rows, err := s.q.ListMessagesBefore(ctx, dbgen.ListMessagesBeforeParams{GroupID: group, Before: before, MaxRows: int32(limit)})
	if err != nil {
		return nil, translate(err, "messages")
	}
	return s.withAttachments(ctx, group, messagesFrom(rows))
}

// MessagesAfter returns up to limit messages of a group newer than after, oldest first,
// with their attachments.
func (s *Store) MessagesAfter(ctx context.Context, group, after uuid.UUID, limit int) ([]Message, error) {
	rows, err := s.q.ListMessagesAfter(ctx, dbgen.ListMessagesAfterParams{GroupID: group, After: after, MaxRows: int32(limit)})
	if err != nil {
		return nil, translate(err, "messages")
	}
	return s.withAttachments(ctx, group, messagesFrom(rows))
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
		out[i] = Message{
			ID: r.ID, GroupID: r.GroupID, SenderID: r.SenderID, SenderName: r.SenderName, ClientMsgID: r.ClientMsgID,
			Body: r.Body, CreatedAt: r.CreatedAt, SenderGuest: r.SenderGuest, DeletedAt: r.DeletedAt, DeletedBy: r.DeletedBy,
		}
	}
	return out
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// translateWrite is translate for message writes, which must tell a batch that can never be
// stored from one that may be stored later: the persister dead-letters the first kind and
// retries the second. Every data exception (class 22, e.g. a timestamp out of range),
// integrity violation (class 23) and program limit (class 54, e.g. an index row too large)
// depends only on the rows, so it is permanent.
func translateWrite(err error, what string) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code != "23505" {
		switch pgErr.Code[:2] {
		case "23":
			if pgErr.Code == "23503" {
				return apperr.Wrap(err, apperr.NotFound, "%s refers to something that does not exist", what)
			}
			return apperr.Wrap(err, apperr.Invalid, "%s violates a constraint", what)
		case "22", "54":
			return apperr.Wrap(err, apperr.Invalid, "%s is invalid", what)
		}
	}
	return translate(err, what)
}
