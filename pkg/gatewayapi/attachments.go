package gatewayapi

// AttachmentRequest is the body of POST /api/chat-group/{id}/attachments: the file the
// member is about to upload. The store refuses an upload of another size or type.
type AttachmentRequest struct {
	// Name is the file's name as the member's device calls it.
	Name string `json:"name"`
	// Size is the file's length in bytes.
	Size int64 `json:"size"`
	// ContentType is the file's media type, e.g. image/png; one of the allowed types.
	ContentType string `json:"content_type"`
}

// Upload is the answer to POST /api/chat-group/{id}/attachments: how to upload the file
// straight to the object store. The client sends a multipart/form-data POST to URL with
// every entry of Fields as a form field and then the file's bytes as the field "file"
// (last), before ExpiresAt.
type Upload struct {
	// AttachmentID names the attachment in the routes that follow.
	AttachmentID string `json:"attachment_id"`
	// Method is "POST".
	Method string `json:"method"`
	// URL is the object store's address for the upload.
	URL string `json:"url"`
	// Fields are the signed policy and its parameters, sent as they are.
	Fields map[string]string `json:"fields"`
	// ExpiresAt is when the store stops accepting the upload.
	ExpiresAt Time `json:"expires_at"`
	// MaxBytes is the largest file this deployment accepts.
	MaxBytes int64 `json:"max_bytes"`
}

// Attachment is a file the gateway checked, as messages and history carry it.
type Attachment struct {
	ID string `json:"id"`
	// Name is the file name the uploader gave, cleaned of paths and control characters.
	Name string `json:"name"`
	// ContentType is the media type the gateway found in the file's first bytes.
	ContentType string `json:"content_type"`
	// Size is the file's length in bytes.
	Size int64 `json:"size"`
	// Width and Height are an image's dimensions in pixels; omitted for other files.
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// Thumbnail is set for images the gateway made a preview of.
	Thumbnail *Thumbnail `json:"thumbnail,omitempty"`
}

// Thumbnail gives the dimensions of an image attachment's preview.
type Thumbnail struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// AttachmentReady is the answer to POST /api/chat-group/{id}/attachments/{aid}/complete:
// the checked file, and the reference a send frame carries to attach it to a message.
type AttachmentReady struct {
	Attachment Attachment `json:"attachment"`
	// Ref is a short-lived token, signed by the gateway, that realtime accepts in the
	// attachments of a send frame of the uploader in this group.
	Ref string `json:"ref"`
	// RefExpiresAt is when Ref stops being accepted; completing again gives a new one.
	RefExpiresAt Time `json:"ref_expires_at"`
}

// AttachmentLinks is the answer to GET /api/chat-group/{id}/attachments/{aid}: short-lived
// addresses at which the object store serves the file and its thumbnail.
type AttachmentLinks struct {
	Attachment Attachment `json:"attachment"`
	// URL serves the file. Images of the safe types are served inline; every other file
	// as a download (Content-Disposition: attachment).
	URL string `json:"url"`
	// ThumbnailURL serves the preview, for images that have one.
	ThumbnailURL string `json:"thumbnail_url,omitempty"`
	// ExpiresAt is when the URLs stop working; ask again for new ones.
	ExpiresAt Time `json:"expires_at"`
}
