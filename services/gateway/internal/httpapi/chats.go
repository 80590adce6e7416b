package httpapi

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/gatewayapi"
	"github.com/quickchat-go/quickchat/services/gateway/internal/app"
)

func (s *Server) registerChatRoutes(r chi.Router) {
	r.With(s.authenticate).Get("/chats/{id}", s.handleHistory)
}

// handleHistory returns a page of a group's messages: ?limit=, and ?before=<id> to page
// back or ?after=<id> to page forward.
func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	q, err := historyQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	msgs, more, err := s.App.History.Page(r.Context(), callerOf(r), chi.URLParam(r, "id"), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, gatewayapi.HistoryPage{Messages: listOut(msgs, messageOut), HasMore: more})
}

// historyQuery reads the query string; app.History checks the values.
func historyQuery(r *http.Request) (app.HistoryQuery, error) {
	q := r.URL.Query()
	out := app.HistoryQuery{Limit: app.DefaultHistoryLimit}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return out, apperr.New(apperr.Invalid, "limit must be an integer from 1 to %d", app.MaxHistoryLimit)
		}
		out.Limit = n
	}
	for _, c := range []struct {
		name string
		dst  *uuid.NullUUID
	}{{"before", &out.Before}, {"after", &out.After}} {
		if v := q.Get(c.name); v != "" {
			id, err := uuid.Parse(v)
			if err != nil {
				return out, apperr.New(apperr.Invalid, "%s must be a message id", c.name)
			}
			*c.dst = uuid.NullUUID{UUID: id, Valid: true}
		}
	}
	return out, nil
}
