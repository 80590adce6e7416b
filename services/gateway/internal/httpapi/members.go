package httpapi

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/token"
)

// registerMemberRoutes adds membership routes to the /chat-group router.
func (s *Server) registerMemberRoutes(r chi.Router) {
	r.Post("/{id}/join", s.handleJoin)
	r.Get("/{id}/members", s.handleListMembers)
	r.Post("/{id}/token", s.handleMemberToken)
}

type joinInput struct {
	Name     string `json:"name"`
	Passcode string `json:"passcode"`
}

type memberJSON struct {
	ID          uuid.UUID `json:"id"`
	DisplayName string    `json:"display_name"`
	IsGuest     bool      `json:"is_guest"`
	JoinedAt    time.Time `json:"joined_at"`
}

func memberOut(m store.Member) memberJSON {
	return memberJSON{ID: m.ID, DisplayName: m.DisplayName, IsGuest: !m.UserID.Valid, JoinedAt: m.CreatedAt}
}

// memberTokenJSON is returned by join and by member-token renewal.
type memberTokenJSON struct {
	Group       groupJSON  `json:"group"`
	Member      memberJSON `json:"member"`
	Token       string     `json:"token"`
	ExpiresIn   int        `json:"expires_in"`
	RealtimeURL string     `json:"realtime_url"`
}

// handleJoin checks the passcode on the server (never in the browser), records the member
// and returns a member token scoped to this one group. Attempts are limited per client
// address and per group before any passcode is checked.
func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) {
	if err := s.Limiter.Take(r.Context(), "join:ip:"+ipKey(r), s.Limits.PasscodePerIP, "passcode attempts"); err != nil {
		s.writeError(w, r, err)
		return
	}
	var in joinInput
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	name, err := cleanName(in.Name, "name")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(in.Passcode) > maxPasscodeLen {
		s.writeError(w, r, apperr.New(apperr.Forbidden, "wrong passcode"))
		return
	}
	g, err := s.loadGroup(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.Limiter.Take(r.Context(), "join:group:"+g.ID.String(), s.Limits.PasscodePerGroup, "passcode attempts for this group"); err != nil {
		s.writeError(w, r, err)
		return
	}
	ok, err := s.Hasher.Verify(r.Context(), in.Passcode, g.PasscodeHash)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !ok {
		s.writeError(w, r, apperr.New(apperr.Forbidden, "wrong passcode"))
		return
	}
	m := store.Member{ID: uuid.New(), GroupID: g.ID, DisplayName: name}
	if c, signedIn := claimsFrom(r.Context()); signedIn && c.Kind == token.KindAccess {
		if uid, perr := uuid.Parse(c.Subject); perr == nil {
			m.UserID = uuid.NullUUID{UUID: uid, Valid: true}
		}
	}
	member, err := s.Store.CreateMember(r.Context(), m)
	if apperr.Is(err, apperr.Conflict) && m.UserID.Valid {
		// The account is already a member: hand out a fresh token for that membership.
		member, err = s.Store.MemberByUser(r.Context(), g.ID, m.UserID.UUID)
	}
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			// The group was deleted, or the account, between our reads and the insert.
			err = errGroupNotFound
		}
		s.writeError(w, r, err)
		return
	}
	s.writeMemberToken(w, r, g, member)
}

// handleMemberToken renews a member token without the passcode, for a caller who proves
// membership with a member token of this group (even one about to expire) or with the
// access token of an account that is a member.
func (s *Server) handleMemberToken(w http.ResponseWriter, r *http.Request) {
	g, c, err := s.visibleGroup(r, accessMember)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var member store.Member
	switch c.Kind {
	case token.KindMember:
		id, perr := uuid.Parse(c.Subject)
		if perr != nil {
			s.writeError(w, r, errGroupNotFound)
			return
		}
		member, err = s.Store.Member(r.Context(), id)
		if err == nil && member.GroupID != g.ID {
			err = errGroupNotFound
		}
	default:
		uid, _ := uuid.Parse(c.Subject)
		member, err = s.Store.MemberByUser(r.Context(), g.ID, uid)
	}
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			err = errGroupNotFound
		}
		s.writeError(w, r, err)
		return
	}
	s.writeMemberToken(w, r, g, member)
}

func (s *Server) writeMemberToken(w http.ResponseWriter, r *http.Request, g store.Group, m store.Member) {
	claims := token.Claims{Subject: m.ID.String(), Kind: token.KindMember, GroupID: g.ID.String(), Name: m.DisplayName}
	if m.UserID.Valid {
		claims.UserID = m.UserID.UUID.String()
	}
	tok, err := s.Signer.Sign(claims, s.MemberTokenTTL)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, memberTokenJSON{
		Group: groupOut(g), Member: memberOut(m), Token: tok,
		ExpiresIn: int(s.MemberTokenTTL.Seconds()), RealtimeURL: s.RealtimeURL,
	})
}

func (s *Server) handleListMembers(w http.ResponseWriter, r *http.Request) {
	g, _, err := s.visibleGroup(r, accessMember)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	members, err := s.Store.Members(r.Context(), g.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]memberJSON, len(members))
	for i, m := range members {
		out[i] = memberOut(m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": out})
}
