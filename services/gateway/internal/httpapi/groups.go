package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/quickchat-go/quickchat/pkg/gatewayapi"
	"github.com/quickchat-go/quickchat/services/gateway/internal/app"
)

func (s *Server) registerGroupRoutes(r chi.Router) {
	r.With(s.authenticate).Route("/chat-group", func(r chi.Router) {
		r.Get("/", s.handleListGroups)
		r.Post("/", s.handleCreateGroup)
		r.Get("/{id}", s.handleGetGroup)
		r.Put("/{id}", s.handleUpdateGroup)
		r.Delete("/{id}", s.handleDeleteGroup)
		s.registerMemberRoutes(r)
		s.registerAttachmentRoutes(r)
	})
}

func (s *Server) handleListGroups(w http.ResponseWriter, r *http.Request) {
	groups, err := s.App.Groups.Mine(r.Context(), callerOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, gatewayapi.GroupList{Groups: listOut(groups, groupOut)})
}

func (s *Server) handleCreateGroup(w http.ResponseWriter, r *http.Request) {
	var in gatewayapi.NewGroup
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	g, err := s.App.Groups.Create(r.Context(), callerOf(r), in.Title, in.Passcode)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, groupOut(g))
}

func (s *Server) handleGetGroup(w http.ResponseWriter, r *http.Request) {
	g, err := s.App.Groups.Get(r.Context(), callerOf(r), chi.URLParam(r, "id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, groupOut(g))
}

func (s *Server) handleUpdateGroup(w http.ResponseWriter, r *http.Request) {
	var in gatewayapi.GroupChange
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	g, err := s.App.Groups.Update(r.Context(), callerOf(r), chi.URLParam(r, "id"), app.GroupChange{
		Title: in.Title, Passcode: in.Passcode, KeepMembers: in.KeepMembers,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, groupOut(g))
}

func (s *Server) handleDeleteGroup(w http.ResponseWriter, r *http.Request) {
	if err := s.App.Groups.Delete(r.Context(), callerOf(r), chi.URLParam(r, "id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
