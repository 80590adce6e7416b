package app

import (
	"context"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/services/gateway/internal/ratelimit"
)

// ObjectStore keeps attachments' bytes in S3-compatible storage. A missing object is
// apperr.NotFound; an unreachable store apperr.Unavailable.
type ObjectStore interface {
	// UploadForm signs a browser upload of exactly size bytes of contentType to key,
	// accepted by the store until expires and refused by it otherwise.
	UploadForm(ctx context.Context, key, contentType string, size int64, expires time.Time) (UploadForm, error)
	// DownloadURL signs a GET of key valid for ttl, which the store answers with the
	// given Content-Type and Content-Disposition.
	DownloadURL(ctx context.Context, key string, ttl time.Duration, contentType, disposition string) (string, error)
	// Stat describes the object at key.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Open reads the object at key.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Put stores body at key.
	Put(ctx context.Context, key string, body []byte, contentType string) error
	// Delete deletes the objects at keys; missing ones are no error.
	Delete(ctx context.Context, keys ...string) error
}

// UploadForm is a signed upload: a multipart/form-data POST to URL with Fields, then the
// file as the field "file".
type UploadForm struct {
	URL    string
	Fields map[string]string
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Size        int64
	ContentType string
}

// AttachmentStore keeps the attachments' records (pkg/store implements it).
type AttachmentStore interface {
	CreateAttachment(ctx context.Context, a store.Attachment) error
	// GroupAttachmentBytes sums the sizes of a group's attachments, pending ones included.
	GroupAttachmentBytes(ctx context.Context, group uuid.UUID) (int64, error)
	// Attachment returns one attachment; apperr.NotFound when there is none.
	Attachment(ctx context.Context, id uuid.UUID) (store.Attachment, error)
	// CompleteAttachment records the check of a pending attachment; apperr.NotFound when
	// it is not pending (any more).
	CompleteAttachment(ctx context.Context, id uuid.UUID, c store.AttachmentCheck) (store.Attachment, error)
	// AttachmentUse says whether stored messages, and undeleted ones, carry it.
	AttachmentUse(ctx context.Context, id uuid.UUID) (store.AttachmentUse, error)
	// DeleteAttachment forgets an attachment and its links to messages.
	DeleteAttachment(ctx context.Context, id uuid.UUID) error
	// GroupAttachments lists up to limit attachments of a group, existing or deleted.
	GroupAttachments(ctx context.Context, group uuid.UUID, limit int) ([]store.Attachment, error)
	// DisposableAttachments lists up to limit attachments whose objects may be deleted:
	// never sent and asked for before unreferencedBefore, sent only in deleted messages, or
	// of deleted groups.
	DisposableAttachments(ctx context.Context, unreferencedBefore time.Time, limit int) ([]store.Attachment, error)
}

// AttachmentSettings are the limits and lifetimes of attachments.
type AttachmentSettings struct {
	// MaxBytes is the largest file.
	MaxBytes int64
	// Types are the media types allowed, each one that the first bytes of a file identify
	// (http.DetectContentType).
	Types []string
	// GroupQuotaBytes bounds the bytes of one group's attachments, pending ones included;
	// 0 means no bound.
	GroupQuotaBytes int64
	// UploadsPerMember limits upload requests per member.
	UploadsPerMember ratelimit.Rule
	// UploadTTL is how long an upload URL is accepted by the store.
	UploadTTL time.Duration
	// RefTTL is how long an attachment reference (the ref a send frame carries) lives.
	RefTTL time.Duration
	// DownloadTTL is how long a download URL works.
	DownloadTTL time.Duration
	// OrphanAge is how long after its upload request an attachment no message carries is
	// kept; it must exceed UploadTTL plus RefTTL, or a message sent in time could lose it.
	OrphanAge time.Duration
	// MaxPixels bounds an image's width × height; larger images are refused before they
	// are decoded.
	MaxPixels int64
	// ThumbnailBox is the side of the square thumbnails fit in.
	ThumbnailBox int
	// KeyPrefix starts every object key, so one bucket may serve several deployments.
	KeyPrefix string
}
