package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/gatewayapi"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/services/gateway/internal/thumbnail"
)

// Attachments lets members share files in a group. The bytes never pass through the
// gateway on their way in or out: a member asks for an upload and sends the file straight
// to the object store under a policy the store enforces (key, type and exact length); the
// gateway then checks what arrived (size, the type its first bytes show, an image's pixel
// count) and makes a thumbnail, and hands out a reference that realtime accepts in the
// member's send frame. Reading a file takes a short-lived signed URL.
//
// Everything left behind is deleted: uploads no message carries after OrphanAge, files of
// deleted messages and of deleted groups (Sweep, from the janitor; PurgeGroup at once when
// a group is deleted).
type Attachments struct {
	access  groupAccess
	records AttachmentStore
	objects ObjectStore // nil: attachments are off
	tokens  TokenSigner
	guard   guard
	cfg     AttachmentSettings
	log     *zap.Logger
	now     func() time.Time
	// thumbs bounds the images decoded at once: each takes up to MaxPixels × 4 bytes.
	thumbs chan struct{}
}

// thumbnailConcurrency is how many images one gateway decodes at once.
const thumbnailConcurrency = 2

// sniffBytes is how much of a file http.DetectContentType looks at.
const sniffBytes = 512

// maxFileNameRunes bounds a cleaned file name.
const maxFileNameRunes = 255

// safeInline are the media types a browser may show in place: images its decoders handle,
// which run no script. Everything else is served as a download.
var safeInline = []string{thumbnail.PNG, thumbnail.JPEG, thumbnail.GIF, thumbnail.WebP}

var (
	errAttachmentsOff     = apperr.New(apperr.NotFound, "attachments are not enabled on this server")
	errAttachmentNotFound = apperr.New(apperr.NotFound, "attachment not found")
)

// Enabled reports whether the server stores attachments.
func (a *Attachments) Enabled() bool { return a.objects != nil }

// MaxBytes is the largest file accepted.
func (a *Attachments) MaxBytes() int64 { return a.cfg.MaxBytes }

// Upload is a signed upload of a new attachment.
type Upload struct {
	AttachmentID uuid.UUID
	Form         UploadForm
	ExpiresAt    time.Time
}

// Request records a member's intent to upload the file req describes and returns the
// signed upload. The caller must be a member (its member token, or its account's access
// token); the file must be of an allowed type and at most MaxBytes; the group's quota and
// the member's upload rate must allow it.
func (a *Attachments) Request(ctx context.Context, c Caller, groupID string, req gatewayapi.AttachmentRequest) (Upload, error) {
	if !a.Enabled() {
		return Upload{}, errAttachmentsOff
	}
	g, err := a.access.visible(ctx, c, groupID, accessMember)
	if err != nil {
		return Upload{}, err
	}
	me, err := a.access.own(ctx, c, g)
	if err != nil {
		return Upload{}, err
	}
	name, err := cleanFileName(req.Name)
	if err != nil {
		return Upload{}, err
	}
	contentType, err := a.allowedType(req.ContentType)
	if err != nil {
		return Upload{}, err
	}
	switch {
	case req.Size <= 0:
		return Upload{}, apperr.New(apperr.Invalid, "size must be the file's length in bytes")
	case req.Size > a.cfg.MaxBytes:
		return Upload{}, apperr.New(apperr.TooLarge, "the file is %s; the limit is %s", humanBytes(req.Size), humanBytes(a.cfg.MaxBytes))
	}
	if err := a.guard.take(ctx, "attachments:upload:"+me.ID.String(), a.cfg.UploadsPerMember, "uploads",
		"attachment_upload_per_member", zap.String("member", me.ID.String()), zap.String("group", g.ID.String())); err != nil {
		return Upload{}, err
	}
	if a.cfg.GroupQuotaBytes > 0 {
		used, err := a.records.GroupAttachmentBytes(ctx, g.ID)
		if err != nil {
			return Upload{}, err
		}
		if used+req.Size > a.cfg.GroupQuotaBytes {
			return Upload{}, apperr.New(apperr.Conflict, "the group's files may take %s and %s are taken; delete messages with files first",
				humanBytes(a.cfg.GroupQuotaBytes), humanBytes(used))
		}
	}
	now := a.now()
	rec := store.Attachment{
		ID: uuid.New(), GroupID: g.ID, UploaderID: me.ID, Name: name, ContentType: contentType,
		Size: req.Size, CreatedAt: now,
	}
	rec.ObjectKey = a.key(rec)
	if err := a.records.CreateAttachment(ctx, rec); err != nil {
		return Upload{}, err
	}
	expires := now.Add(a.cfg.UploadTTL)
	form, err := a.objects.UploadForm(ctx, rec.ObjectKey, contentType, req.Size, expires)
	if err != nil {
		return Upload{}, err
	}
	return Upload{AttachmentID: rec.ID, Form: form, ExpiresAt: expires}, nil
}

// Ready is a checked attachment and the reference that attaches it to a message.
type Ready struct {
	Attachment   store.Attachment
	Ref          string
	RefExpiresAt time.Time
}

// Complete checks the uploaded object of the caller's pending attachment: it must exist,
// have the requested length, and its first bytes must show the requested type; an image
// must be within MaxPixels and decode, and gets a thumbnail. A file that fails is deleted
// with its record (apperr.Invalid says why); one not uploaded yet is apperr.Conflict.
// Completing a checked attachment again returns a fresh reference.
func (a *Attachments) Complete(ctx context.Context, c Caller, groupID, attachmentID string) (Ready, error) {
	if !a.Enabled() {
		return Ready{}, errAttachmentsOff
	}
	rec, me, err := a.load(ctx, c, groupID, attachmentID)
	if err != nil {
		return Ready{}, err
	}
	if rec.UploaderID != me.ID {
		return Ready{}, errAttachmentNotFound
	}
	if rec.CompletedAt == nil {
		if rec, err = a.check(ctx, rec); err != nil {
			return Ready{}, err
		}
	}
	ref, expires, err := a.reference(rec)
	if err != nil {
		return Ready{}, err
	}
	return Ready{Attachment: rec, Ref: ref, RefExpiresAt: expires}, nil
}

// Links are short-lived URLs of an attachment and its thumbnail.
type Links struct {
	Attachment   store.Attachment
	URL          string
	ThumbnailURL string
	ExpiresAt    time.Time
}

// Links signs URLs that read a checked attachment, for a member of its group. A file whose
// messages were all deleted is gone for everyone. A file no stored message carries yet is
// readable too: live messages reach members before the persister links them, and an
// attachment id is a random UUID that only its uploader knows until it is sent.
func (a *Attachments) Links(ctx context.Context, c Caller, groupID, attachmentID string) (Links, error) {
	if !a.Enabled() {
		return Links{}, errAttachmentsOff
	}
	rec, _, err := a.load(ctx, c, groupID, attachmentID)
	if err != nil {
		return Links{}, err
	}
	if rec.CompletedAt == nil {
		return Links{}, errAttachmentNotFound
	}
	use, err := a.records.AttachmentUse(ctx, rec.ID)
	if err != nil {
		return Links{}, err
	}
	if use.Carried && !use.Shown {
		return Links{}, errAttachmentNotFound
	}
	disposition, contentType := "attachment", rec.ContentType
	if slices.Contains(safeInline, rec.ContentType) {
		disposition = "inline"
	} else if strings.HasPrefix(contentType, "text/") {
		contentType += "; charset=utf-8"
	}
	disposition = mime.FormatMediaType(disposition, map[string]string{"filename": rec.Name})
	out := Links{Attachment: rec, ExpiresAt: a.now().Add(a.cfg.DownloadTTL)}
	if out.URL, err = a.objects.DownloadURL(ctx, rec.ObjectKey, a.cfg.DownloadTTL, contentType, disposition); err != nil {
		return Links{}, err
	}
	if rec.ThumbKey != "" {
		out.ThumbnailURL, err = a.objects.DownloadURL(ctx, rec.ThumbKey, a.cfg.DownloadTTL,
			thumbnail.ThumbType(rec.ContentType), "inline")
		if err != nil {
			return Links{}, err
		}
	}
	return out, nil
}

// PurgeGroup deletes the objects and records of every attachment of a group, which is
// deleted. What fails is left for Sweep.
func (a *Attachments) PurgeGroup(ctx context.Context, group uuid.UUID) error {
	if !a.Enabled() {
		return nil
	}
	for {
		batch, err := a.records.GroupAttachments(ctx, group, 100)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		for _, rec := range batch {
			if err := a.discard(ctx, rec); err != nil {
				return err
			}
		}
	}
}

// Sweep deletes up to limit attachments that can no longer be used (see
// AttachmentStore.DisposableAttachments), objects first, and returns how many it deleted.
func (a *Attachments) Sweep(ctx context.Context, limit int) (int, error) {
	if !a.Enabled() {
		return 0, nil
	}
	batch, err := a.records.DisposableAttachments(ctx, a.now().Add(-a.cfg.OrphanAge), limit)
	if err != nil {
		return 0, err
	}
	for i, rec := range batch {
		if err := a.discard(ctx, rec); err != nil {
			return i, err
		}
	}
	return len(batch), nil
}

// load returns the attachment of a group the caller is a member of, and the caller's
// membership.
func (a *Attachments) load(ctx context.Context, c Caller, groupID, attachmentID string) (store.Attachment, store.Member, error) {
	g, err := a.access.visible(ctx, c, groupID, accessMember)
	if err != nil {
		return store.Attachment{}, store.Member{}, err
	}
	me, err := a.access.own(ctx, c, g)
	if err != nil {
		return store.Attachment{}, store.Member{}, err
	}
	id, err := uuid.Parse(attachmentID)
	if err != nil {
		return store.Attachment{}, store.Member{}, errAttachmentNotFound
	}
	rec, err := a.records.Attachment(ctx, id)
	switch {
	case apperr.Is(err, apperr.NotFound):
		return store.Attachment{}, store.Member{}, errAttachmentNotFound
	case err != nil:
		return store.Attachment{}, store.Member{}, err
	case rec.GroupID != g.ID:
		// Another group's file is as unknown as a file that does not exist.
		return store.Attachment{}, store.Member{}, errAttachmentNotFound
	}
	return rec, me, nil
}

// check inspects the uploaded object of rec and records the result.
func (a *Attachments) check(ctx context.Context, rec store.Attachment) (store.Attachment, error) {
	info, err := a.objects.Stat(ctx, rec.ObjectKey)
	if apperr.Is(err, apperr.NotFound) {
		return store.Attachment{}, apperr.New(apperr.Conflict, "the file has not been uploaded (or its upload expired)")
	}
	if err != nil {
		return store.Attachment{}, err
	}
	if info.Size != rec.Size {
		return store.Attachment{}, a.refuse(ctx, rec, "the stored file is %d bytes, not the %d that were announced", info.Size, rec.Size)
	}
	sniffed, err := a.sniff(ctx, rec.ObjectKey)
	if err != nil {
		return store.Attachment{}, err
	}
	if sniffed != rec.ContentType {
		return store.Attachment{}, a.refuse(ctx, rec, "the file's contents are %s, not %s", sniffed, rec.ContentType)
	}
	done := store.AttachmentCheck{CompletedAt: a.now()}
	if thumbnail.IsImage(rec.ContentType) {
		res, err := a.thumbnail(ctx, rec)
		switch {
		case errors.Is(err, thumbnail.ErrTooManyPixels):
			return store.Attachment{}, a.refuse(ctx, rec, "the image has more than %d pixels", a.cfg.MaxPixels)
		case errors.Is(err, thumbnail.ErrNotImage):
			return store.Attachment{}, a.refuse(ctx, rec, "the file is not a well-formed %s image", rec.ContentType)
		case err != nil:
			return store.Attachment{}, err
		}
		done.ThumbKey = rec.ObjectKey + ".thumb"
		if err := a.objects.Put(ctx, done.ThumbKey, res.Thumb, res.ThumbType); err != nil {
			return store.Attachment{}, err
		}
		done.Width, done.Height = int32(res.Width), int32(res.Height)
		done.ThumbWidth, done.ThumbHeight = int32(res.ThumbWidth), int32(res.ThumbHeight)
	}
	out, err := a.records.CompleteAttachment(ctx, rec.ID, done)
	if apperr.Is(err, apperr.NotFound) {
		// A concurrent completion won; its result stands.
		return a.records.Attachment(ctx, rec.ID)
	}
	return out, err
}

// sniff returns the media type (without parameters) the object's first bytes show.
func (a *Attachments) sniff(ctx context.Context, key string) (string, error) {
	r, err := a.objects.Open(ctx, key)
	if err != nil {
		return "", err
	}
	defer func() { _ = r.Close() }()
	head := make([]byte, sniffBytes)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", apperr.Wrap(err, apperr.Unavailable, "object store unavailable")
	}
	t, _, err := mime.ParseMediaType(http.DetectContentType(head[:n]))
	if err != nil {
		return "application/octet-stream", nil
	}
	return t, nil
}

// thumbnail decodes the image (one of thumbnailConcurrency at a time) and makes its
// thumbnail.
func (a *Attachments) thumbnail(ctx context.Context, rec store.Attachment) (thumbnail.Result, error) {
	select {
	case a.thumbs <- struct{}{}:
		defer func() { <-a.thumbs }()
	case <-ctx.Done():
		return thumbnail.Result{}, apperr.Wrap(ctx.Err(), apperr.Unavailable, "busy making thumbnails; retry")
	}
	r, err := a.objects.Open(ctx, rec.ObjectKey)
	if err != nil {
		return thumbnail.Result{}, err
	}
	defer func() { _ = r.Close() }()
	return thumbnail.Make(r, rec.ContentType, a.cfg.MaxBytes, thumbnail.Limits{MaxPixels: a.cfg.MaxPixels, Box: a.cfg.ThumbnailBox})
}

// refuse deletes a file that failed its check, with its record, and returns the error
// that tells the uploader why.
func (a *Attachments) refuse(ctx context.Context, rec store.Attachment, format string, args ...any) error {
	a.guard.log.event(true, "attachment_refused", zap.String("attachment", rec.ID.String()),
		zap.String("group", rec.GroupID.String()), zap.String("member", rec.UploaderID.String()),
		zap.String("reason", fmt.Sprintf(format, args...)))
	if err := a.discard(ctx, rec); err != nil {
		// The janitor deletes it later; the uploader still learns why.
		a.log.Warn("deleting a refused attachment failed", zap.String("attachment", rec.ID.String()), zap.Error(err))
	}
	return apperr.New(apperr.Invalid, format, args...)
}

// discard deletes the objects of rec, then its record.
func (a *Attachments) discard(ctx context.Context, rec store.Attachment) error {
	keys := []string{rec.ObjectKey}
	if rec.ThumbKey != "" {
		keys = append(keys, rec.ThumbKey)
	} else {
		// A check that stored the thumbnail but not its record leaves it behind.
		keys = append(keys, rec.ObjectKey+".thumb")
	}
	if err := a.objects.Delete(ctx, keys...); err != nil {
		return err
	}
	return a.records.DeleteAttachment(ctx, rec.ID)
}

// reference signs the attachment token realtime accepts in rec's uploader's send frames.
func (a *Attachments) reference(rec store.Attachment) (string, time.Time, error) {
	expires := a.now().Add(a.cfg.RefTTL)
	ref, err := a.tokens.Sign(token.Claims{
		Subject: rec.ID.String(), Kind: token.KindAttachment, GroupID: rec.GroupID.String(),
		File: &token.File{
			Uploader: rec.UploaderID.String(), Name: rec.Name, ContentType: rec.ContentType, Size: rec.Size,
			Width: rec.Width, Height: rec.Height, ThumbWidth: rec.ThumbWidth, ThumbHeight: rec.ThumbHeight,
		},
	}, a.cfg.RefTTL)
	if err != nil {
		return "", time.Time{}, apperr.Wrap(err, apperr.Internal, "sign attachment reference")
	}
	return ref, expires, nil
}

// key names the object of an attachment: under its group, by its id, never by anything
// the uploader chose.
func (a *Attachments) key(rec store.Attachment) string {
	return a.cfg.KeyPrefix + "groups/" + rec.GroupID.String() + "/" + rec.ID.String()
}

// allowedType returns the media type the client declared, without parameters, if it is
// allowed.
func (a *Attachments) allowedType(declared string) (string, error) {
	t, _, err := mime.ParseMediaType(declared)
	if err == nil && slices.Contains(a.cfg.Types, t) {
		return t, nil
	}
	return "", apperr.New(apperr.Invalid, "files of type %q cannot be shared here; allowed: %s",
		truncate(declared, 100), strings.Join(a.cfg.Types, ", "))
}

// cleanFileName keeps the last path element of a name, trimmed, and refuses names with
// control or format characters (bidi overrides make "gpj.exe" look like "exe.jpg").
func cleanFileName(name string) (string, error) {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "" || name == "." || name == "..":
		return "", apperr.New(apperr.Invalid, "name must be the file's name")
	case !utf8.ValidString(name):
		return "", apperr.New(apperr.Invalid, "name must be UTF-8")
	case utf8.RuneCountInString(name) > maxFileNameRunes:
		return "", apperr.New(apperr.Invalid, "name must be at most %d characters", maxFileNameRunes)
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return "", apperr.New(apperr.Invalid, "name must not contain control or formatting characters")
		}
	}
	return name, nil
}

// humanBytes renders n bytes for people: 25 MiB, 512 KiB, 300 bytes.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// truncate cuts s to at most n bytes, on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
