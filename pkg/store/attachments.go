package store

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/db/dbgen"
)

// Attachment is a file of a group in the object store. It is pending (CompletedAt nil)
// from the upload request until the gateway has checked the object.
type Attachment struct {
	ID      uuid.UUID
	GroupID uuid.UUID
	// UploaderID is the member who asked to upload it.
	UploaderID uuid.UUID
	// ObjectKey names the file's object; ThumbKey its thumbnail's, empty without one.
	ObjectKey string
	ThumbKey  string
	// Name is the cleaned file name; ContentType the allowed media type; Size the bytes.
	Name        string
	ContentType string
	Size        int64
	CreatedAt   time.Time
	CompletedAt *time.Time
	// Width and Height are an image's dimensions (0 for other files); ThumbWidth and
	// ThumbHeight its thumbnail's (0 without one).
	Width, Height           int32
	ThumbWidth, ThumbHeight int32
}

// AttachmentCheck is what the gateway found when it checked an uploaded object.
type AttachmentCheck struct {
	CompletedAt             time.Time
	Width, Height           int32
	ThumbKey                string
	ThumbWidth, ThumbHeight int32
}

// AttachmentUse says which stored messages carry an attachment.
type AttachmentUse struct {
	// Carried is true when a stored message carries the attachment.
	Carried bool
	// Shown is true when a stored message that is not deleted carries it.
	Shown bool
}

// CreateAttachment stores a pending attachment.
func (s *Store) CreateAttachment(ctx context.Context, a Attachment) error {
	err := s.q.CreateAttachment(ctx, dbgen.CreateAttachmentParams{
		ID: a.ID, GroupID: a.GroupID, UploaderID: a.UploaderID, ObjectKey: a.ObjectKey, Name: a.Name,
		ContentType: a.ContentType, SizeBytes: a.Size, CreatedAt: a.CreatedAt,
	})
	return translate(err, "attachment")
}

// GroupAttachmentBytes returns the bytes of every attachment of the group, pending ones
// included.
func (s *Store) GroupAttachmentBytes(ctx context.Context, group uuid.UUID) (int64, error) {
	n, err := s.q.GroupAttachmentBytes(ctx, group)
	return n, translate(err, "attachments")
}

// Attachment returns an attachment; apperr.NotFound when there is none.
func (s *Store) Attachment(ctx context.Context, id uuid.UUID) (Attachment, error) {
	row, err := s.q.GetAttachment(ctx, id)
	if err != nil {
		return Attachment{}, translate(err, "attachment")
	}
	return attachmentFrom(row), nil
}

// CompleteAttachment records the check of a pending attachment and returns it; an
// attachment completed already (or gone) is apperr.NotFound.
func (s *Store) CompleteAttachment(ctx context.Context, id uuid.UUID, c AttachmentCheck) (Attachment, error) {
	var thumb *string
	if c.ThumbKey != "" {
		thumb = &c.ThumbKey
	}
	row, err := s.q.CompleteAttachment(ctx, dbgen.CompleteAttachmentParams{
		ID: id, CompletedAt: &c.CompletedAt, Width: c.Width, Height: c.Height,
		ThumbKey: thumb, ThumbWidth: c.ThumbWidth, ThumbHeight: c.ThumbHeight,
	})
	if err != nil {
		return Attachment{}, translate(err, "pending attachment")
	}
	return attachmentFrom(row), nil
}

// AttachmentUse says which stored messages carry the attachment.
func (s *Store) AttachmentUse(ctx context.Context, id uuid.UUID) (AttachmentUse, error) {
	row, err := s.q.AttachmentMessageState(ctx, id)
	if err != nil {
		return AttachmentUse{}, translate(err, "attachment")
	}
	return AttachmentUse{Carried: row.Carried, Shown: row.Shown}, nil
}

// DeleteAttachment forgets an attachment (whose objects are gone) and its links to
// messages; forgetting one that is gone already is no error.
func (s *Store) DeleteAttachment(ctx context.Context, id uuid.UUID) error {
	_, err := s.q.DeleteAttachment(ctx, id)
	return translate(err, "attachment")
}

// GroupAttachments returns up to limit attachments of a group, the group existing or not.
func (s *Store) GroupAttachments(ctx context.Context, group uuid.UUID, limit int) ([]Attachment, error) {
	rows, err := s.q.ListGroupAttachments(ctx, dbgen.ListGroupAttachmentsParams{GroupID: group, MaxRows: int32(limit)})
	if err != nil {
		return nil, translate(err, "attachments")
	}
	return attachmentsFrom(rows), nil
}

// DisposableAttachments returns up to limit attachments whose objects may be deleted:
// those no stored message carries that were asked for before unreferencedBefore, those
// only deleted messages carry, and those of groups that no longer exist; oldest first.
func (s *Store) DisposableAttachments(ctx context.Context, unreferencedBefore time.Time, limit int) ([]Attachment, error) {
	rows, err := s.q.ListDisposableAttachments(ctx, dbgen.ListDisposableAttachmentsParams{
		UnreferencedBefore: unreferencedBefore, MaxRows: int32(limit),
	})
	if err != nil {
		return nil, translate(err, "attachments")
	}
	return attachmentsFrom(rows), nil
}

// insertAttachmentLinks links the messages of batch that are stored to the attachments
// they carry.
func insertAttachmentLinks(ctx context.Context, q *dbgen.Queries, batch []Message) error {
	var p dbgen.InsertMessageAttachmentsParams
	for _, m := range batch {
		for i, a := range m.Attachments {
			p.MessageIds = append(p.MessageIds, m.ID.String())
			p.AttachmentIds = append(p.AttachmentIds, a.ID.String())
			p.GroupIds = append(p.GroupIds, m.GroupID.String())
			p.Positions = append(p.Positions, int16(i))
		}
	}
	if len(p.MessageIds) == 0 {
		return nil
	}
	if _, err := q.InsertMessageAttachments(ctx, p); err != nil {
		return translateWrite(err, "message attachments")
	}
	return nil
}

// withAttachments fills in the attachments of the messages of a group that are not
// deleted.
func (s *Store) withAttachments(ctx context.Context, group uuid.UUID, msgs []Message) ([]Message, error) {
	ids := make([]uuid.UUID, 0, len(msgs))
	for _, m := range msgs {
		if m.DeletedAt == nil {
			ids = append(ids, m.ID)
		}
	}
	if len(ids) == 0 {
		return msgs, nil
	}
	rows, err := s.q.ListMessageAttachments(ctx, dbgen.ListMessageAttachmentsParams{GroupID: group, MessageIds: ids})
	if err != nil {
		return nil, translate(err, "message attachments")
	}
	if len(rows) == 0 {
		return msgs, nil
	}
	byMessage := make(map[uuid.UUID][]Attachment, len(rows))
	for _, r := range rows {
		byMessage[r.MessageID] = append(byMessage[r.MessageID], attachmentFrom(dbgen.Attachment{
			ID: r.ID, GroupID: r.GroupID, UploaderID: r.UploaderID, ObjectKey: r.ObjectKey, Name: r.Name,
			ContentType: r.ContentType, SizeBytes: r.SizeBytes, CreatedAt: r.CreatedAt, CompletedAt: r.CompletedAt,
			Width: r.Width, Height: r.Height, ThumbKey: r.ThumbKey, ThumbWidth: r.ThumbWidth, ThumbHeight: r.ThumbHeight,
		}))
	}
	for i := range msgs {
		if as, ok := byMessage[msgs[i].ID]; ok && msgs[i].DeletedAt == nil {
			msgs[i].Attachments = as
		}
	}
	return msgs, nil
}

func attachmentFrom(r dbgen.Attachment) Attachment {
	a := Attachment{
		ID: r.ID, GroupID: r.GroupID, UploaderID: r.UploaderID, ObjectKey: r.ObjectKey, Name: r.Name,
		ContentType: r.ContentType, Size: r.SizeBytes, CreatedAt: r.CreatedAt, CompletedAt: r.CompletedAt,
		Width: r.Width, Height: r.Height, ThumbWidth: r.ThumbWidth, ThumbHeight: r.ThumbHeight,
	}
	if r.ThumbKey != nil {
		a.ThumbKey = *r.ThumbKey
	}
	return a
}

func attachmentsFrom(rows []dbgen.Attachment) []Attachment {
	out := make([]Attachment, len(rows))
	for i, r := range rows {
		out[i] = attachmentFrom(r)
	}
	return out
}
