package ws

import (
	"context"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/event"
	"github.com/quickchat-go/quickchat/pkg/wire"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
	"github.com/quickchat-go/quickchat/services/realtime/internal/protocol"
)

// attachments verifies the attachment references of a send by sender and returns the
// files' metadata as the gateway signed it. A reference must be genuine and unexpired, of
// this room, and of a file the sender uploaded: nobody attaches another member's file, or
// one of another room, to a message. No database is asked: the gateway's signature is the
// proof that it checked the file.
func (c *conn) attachments(ctx context.Context, sender node.Sender, refs []string) ([]*event.Attachment, *protocol.Error) {
	out := make([]*event.Attachment, 0, len(refs))
	seen := make(map[string]bool, len(refs))
	for _, ref := range refs {
		claims, err := c.h.files.Verify(ctx, ref)
		switch {
		case apperr.Is(err, apperr.Unavailable):
			return nil, &protocol.Error{Code: wire.CodeUnavailable, Detail: "could not check the attachment; retry"}
		case apperr.Is(err, apperr.Forbidden):
			c.tokenRefused(sender.GroupID, wire.CodeForbidden, "not an attachment reference", sender.MemberID)
			return nil, &protocol.Error{Code: wire.CodeForbidden, Detail: "attachments must be references from the gateway"}
		case err != nil:
			c.tokenRefused(sender.GroupID, wire.CodeUnauthorized, "attachment reference: "+apperr.MessageOf(err), sender.MemberID)
			return nil, &protocol.Error{Code: wire.CodeUnauthorized,
				Detail: "attachment reference invalid or expired; complete the upload at the gateway again for a new one"}
		case claims.GroupID != sender.GroupID || claims.File.Uploader != sender.MemberID:
			c.tokenRefused(sender.GroupID, wire.CodeForbidden, "attachment of another member or room", sender.MemberID)
			return nil, &protocol.Error{Code: wire.CodeForbidden, Detail: "only the member who uploaded a file may send it, in its room"}
		case seen[claims.Subject]:
			return nil, &protocol.Error{Code: wire.CodeBadFrame, Detail: "the same attachment is named twice"}
		}
		seen[claims.Subject] = true
		f := claims.File
		out = append(out, &event.Attachment{
			Id: claims.Subject, Name: f.Name, ContentType: f.ContentType, SizeBytes: f.Size,
			Width: f.Width, Height: f.Height, ThumbWidth: f.ThumbWidth, ThumbHeight: f.ThumbHeight,
		})
	}
	return out, nil
}
