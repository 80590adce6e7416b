package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
)

func (s *Server) registerChatRoutes(r chi.Router) {
	r.With(s.authenticate).Get("/chats/{id}", s.handleHistory)
}

type messageJSON struct {
	ID          uuid.UUID `json:"id"`
	GroupID     uuid.UUID `json:"group_id"`
	SenderID    uuid.UUID `json:"sender_id"`
	SenderName  string    `json:"sender_name"`
	ClientMsgID string    `json:"client_msg_id"`
	Body        string    `json:"body"`
	CreatedAt   time.Time `json:"created_at"`
}

type historyJSON struct {
	Messages []messageJSON `json:"messages"`
	// HasMore says whether older (with before) or newer (with after) messages remain.
	HasMore bool `json:"has_more"`
}

const (
	defaultHistoryLimit = 50
	maxHistoryLimit     = 100
)

// handleHistory returns a page of a group's messages in ascending id order. Without a
// cursor it returns the newest page; ?before=<id> pages back, ?after=<id> pages forward.
func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	g, _, err := s.visibleGroup(r, accessMember)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	limit := defaultHistoryLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxHistoryLimit {
			s.writeError(w, r, apperr.New(apperr.Invalid, "limit must be an integer from 1 to %d", maxHistoryLimit))
			return
		}
		limit = n
	}
	before, after := q.Get("before"), q.Get("after")
	if before != "" && after != "" {
		s.writeError(w, r, apperr.New(apperr.Invalid, "use either before or after, not both"))
		return
	}
	var rows []store.Message
	if after != "" {
		id, err := uuid.Parse(after)
		if err != nil {
			s.writeError(w, r, apperr.New(apperr.Invalid, "after must be a message id"))
			return
		}
		rows, err = s.Store.MessagesAfter(r.Context(), g.ID, id, limit+1)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	} else {
		cursor := uuid.Max
		if before != "" {
			if cursor, err = uuid.Parse(before); err != nil {
				s.writeError(w, r, apperr.New(apperr.Invalid, "before must be a message id"))
				return
			}
		}
		if rows, err = s.Store.MessagesBefore(r.Context(), g.ID, cursor, limit+1); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	out := historyJSON{HasMore: len(rows) > limit, Messages: make([]messageJSON, 0, limit)}
	rows = rows[:min(len(rows), limit)]
	for _, m := range rows {
		out.Messages = append(out.Messages, messageJSON(m))
	}
	if after == "" {
		// Fetched newest first; clients always get ascending order.
		for i, j := 0, len(out.Messages)-1; i < j; i, j = i+1, j-1 {
			out.Messages[i], out.Messages[j] = out.Messages[j], out.Messages[i]
		}
	}
	writeJSON(w, http.StatusOK, out)
}
