package chatclient

import (
	"context"
	"net/http"
	"net/url"

	"github.com/quickchat-go/quickchat/pkg/gatewayapi"
)

// The gateway's attachment bodies under this package's names.
type (
	// AttachmentRequest announces a file to upload.
	AttachmentRequest = gatewayapi.AttachmentRequest
	// Upload is a signed upload to the object store.
	Upload = gatewayapi.Upload
	// AttachmentReady is a checked file and the reference a send frame carries.
	AttachmentReady = gatewayapi.AttachmentReady
	// AttachmentLinks are short-lived URLs of a file and its thumbnail.
	AttachmentLinks = gatewayapi.AttachmentLinks
)

// RequestUpload asks the gateway for a signed upload of the file req describes.
func (a *API) RequestUpload(ctx context.Context, groupID, token string, req AttachmentRequest) (Upload, error) {
	var up Upload
	err := a.do(ctx, http.MethodPost, "/api/chat-group/"+url.PathEscape(groupID)+"/attachments", token, req, &up)
	return up, err
}

// CompleteUpload has the gateway check an uploaded file; the answer's Ref attaches it to a
// message.
func (a *API) CompleteUpload(ctx context.Context, groupID, token, attachmentID string) (AttachmentReady, error) {
	var r AttachmentReady
	err := a.do(ctx, http.MethodPost, "/api/chat-group/"+url.PathEscape(groupID)+"/attachments/"+url.PathEscape(attachmentID)+"/complete", token, nil, &r)
	return r, err
}

// AttachmentLinks returns short-lived URLs that read a file of the group.
func (a *API) AttachmentLinks(ctx context.Context, groupID, token, attachmentID string) (AttachmentLinks, error) {
	var l AttachmentLinks
	err := a.do(ctx, http.MethodGet, "/api/chat-group/"+url.PathEscape(groupID)+"/attachments/"+url.PathEscape(attachmentID), token, nil, &l)
	return l, err
}
