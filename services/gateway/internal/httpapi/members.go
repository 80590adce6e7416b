package httpapi

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/gatewayapi"
	"github.com/quickchat-go/quickchat/services/gateway/internal/app"
)

// registerMemberRoutes adds membership routes to the /chat-group router.
func (s *Server) registerMemberRoutes(r chi.Router) {
	r.Post("/{id}/join", s.handleJoin)
	r.Post("/{id}/token", s.handleMemberToken)
	r.Post("/{id}/leave", s.handleLeave)
	r.Get("/{id}/members", s.handleListMembers)
	r.Delete("/{id}/members/{member_id}", s.handleRemoveMember)
	r.Post("/{id}/bans", s.handleBan)
	r.Get("/{id}/bans", s.handleListBans)
	r.Delete("/{id}/bans/{ban_id}", s.handleUnban)
}

func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) {
	var in gatewayapi.JoinRequest
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.App.Members.Join(r.Context(), callerOf(r), app.Joining{
		Client: clientKey(r), GroupID: chi.URLParam(r, "id"), Name: in.Name, Passcode: in.Passcode, GuestKey: in.GuestKey,
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

func (s *Server) handleLeave(w http.ResponseWriter, r *http.Request) {
	if err := s.App.Members.Leave(r.Context(), callerOf(r), chi.URLParam(r, "id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleListMembers returns a page of the members: ?limit= and ?cursor= (the
// next_cursor of the previous page).
func (s *Server) handleListMembers(w http.ResponseWriter, r *http.Request) {
	q := app.MembersQuery{Limit: app.DefaultMembersLimit, Cursor: r.URL.Query().Get("cursor")}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			s.writeError(w, r, apperr.New(apperr.Invalid, "limit must be an integer from 1 to %d", app.MaxMembersLimit))
			return
		}
		q.Limit = n
	}
	page, err := s.App.Members.List(r.Context(), callerOf(r), chi.URLParam(r, "id"), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, memberListOut(page))
}

func (s *Server) handleRemoveMember(w http.ResponseWriter, r *http.Request) {
	if err := s.App.Members.Remove(r.Context(), callerOf(r), chi.URLParam(r, "id"), chi.URLParam(r, "member_id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleBan(w http.ResponseWriter, r *http.Request) {
	var in gatewayapi.NewBan
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	ban, err := s.App.Members.Ban(r.Context(), callerOf(r), chi.URLParam(r, "id"), in.MemberID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, banOut(ban))
}

func (s *Server) handleListBans(w http.ResponseWriter, r *http.Request) {
	bans, err := s.App.Members.Bans(r.Context(), callerOf(r), chi.URLParam(r, "id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, gatewayapi.BanList{Bans: listOut(bans, banOut)})
}

func (s *Server) handleUnban(w http.ResponseWriter, r *http.Request) {
	if err := s.App.Members.Unban(r.Context(), callerOf(r), chi.URLParam(r, "id"), chi.URLParam(r, "ban_id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
