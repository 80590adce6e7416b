package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/quickchat-go/quickchat/pkg/gatewayapi"
	"github.com/quickchat-go/quickchat/pkg/store"
)

func (s *Server) registerAttachmentRoutes(r chi.Router) {
	r.Post("/{id}/attachments", s.handleRequestUpload)
	r.Post("/{id}/attachments/{attachment_id}/complete", s.handleCompleteUpload)
	r.Get("/{id}/attachments/{attachment_id}", s.handleAttachmentLinks)
}

// handleRequestUpload answers a member who is about to upload a file with the signed
// upload to the object store.
func (s *Server) handleRequestUpload(w http.ResponseWriter, r *http.Request) {
	var in gatewayapi.AttachmentRequest
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	up, err := s.App.Attachments.Request(r.Context(), callerOf(r), chi.URLParam(r, "id"), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, gatewayapi.Upload{
		AttachmentID: up.AttachmentID.String(), Method: http.MethodPost, URL: up.Form.URL, Fields: up.Form.Fields,
		ExpiresAt: gatewayapi.NewTime(up.ExpiresAt), MaxBytes: s.App.Attachments.MaxBytes(),
	})
}

// handleCompleteUpload checks an uploaded file and returns the reference a message
// carries it with.
func (s *Server) handleCompleteUpload(w http.ResponseWriter, r *http.Request) {
	ready, err := s.App.Attachments.Complete(r.Context(), callerOf(r), chi.URLParam(r, "id"), chi.URLParam(r, "attachment_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, gatewayapi.AttachmentReady{
		Attachment: attachmentOut(ready.Attachment), Ref: ready.Ref, RefExpiresAt: gatewayapi.NewTime(ready.RefExpiresAt),
	})
}

// handleAttachmentLinks signs short-lived URLs of a file and its thumbnail.
func (s *Server) handleAttachmentLinks(w http.ResponseWriter, r *http.Request) {
	links, err := s.App.Attachments.Links(r.Context(), callerOf(r), chi.URLParam(r, "id"), chi.URLParam(r, "attachment_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, gatewayapi.AttachmentLinks{
		Attachment: attachmentOut(links.Attachment), URL: links.URL, ThumbnailURL: links.ThumbnailURL,
		ExpiresAt: gatewayapi.NewTime(links.ExpiresAt),
	})
}

// attachmentOut shows what the gateway checked of a file, never where it is stored.
func attachmentOut(a store.Attachment) gatewayapi.Attachment {
	out := gatewayapi.Attachment{
		ID: a.ID.String(), Name: a.Name, ContentType: a.ContentType, Size: a.Size,
		Width: int(a.Width), Height: int(a.Height),
	}
	if a.ThumbWidth > 0 && a.ThumbHeight > 0 {
		out.Thumbnail = &gatewayapi.Thumbnail{Width: int(a.ThumbWidth), Height: int(a.ThumbHeight)}
	}
	return out
}
