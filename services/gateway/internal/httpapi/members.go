package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/quickchat-go/quickchat/pkg/gatewayapi"
	"github.com/quickchat-go/quickchat/services/gateway/internal/app"
)

// registerMemberRoutes adds membership routes to the /chat-group router.
func (s *Server) registerMemberRoutes(r chi.Router) {
	r.Post("/{id}/join", s.handleJoin)
	r.Get("/{id}/members", s.handleListMembers)
	r.Post("/{id}/token", s.handleMemberToken)
}

func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) {
	var in gatewayapi.JoinRequest
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.App.Members.Join(r.Context(), callerOf(r), app.Joining{
		Client: clientKey(r), GroupID: chi.URLParam(r, "id"), Name: in.Name, Passcode: in.Passcode,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.membershipOut(t))
}

func (s *Server) handleMemberToken(w http.ResponseWriter, r *http.Request) {
	t, err := s.App.Members.RenewToken(r.Context(), callerOf(r), chi.URLParam(r, "id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.membershipOut(t))
}

func (s *Server) handleListMembers(w http.ResponseWriter, r *http.Request) {
	members, err := s.App.Members.List(r.Context(), callerOf(r), chi.URLParam(r, "id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, gatewayapi.MemberList{Members: listOut(members, memberOut)})
}
