package httpapi

import (
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/token"
)

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

type joinJSON struct {
	Group       groupJSON  `json:"group"`
	Member      memberJSON `json:"member"`
	Token       string     `json:"token"`
	ExpiresIn   int        `json:"expires_in"`
	RealtimeURL string     `json:"realtime_url"`
}

// handleJoin checks the passcode on the server (never in the browser), records the member
// and returns a member token scoped to this one group.
func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) {
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
	g, err := s.loadGroup(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ok, err := s.Hasher.Verify(in.Passcode, g.PasscodeHash)
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
		s.writeError(w, r, err)
		return
	}
	claims := token.Claims{Subject: member.ID.String(), Kind: token.KindMember, GroupID: g.ID.String(), Name: member.DisplayName}
	if member.UserID.Valid {
		claims.UserID = member.UserID.UUID.String()
	}
	tok, err := s.Signer.Sign(claims, s.MemberTokenTTL)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, joinJSON{
		Group: groupOut(g), Member: memberOut(member), Token: tok,
		ExpiresIn: int(s.MemberTokenTTL.Seconds()), RealtimeURL: s.RealtimeURL,
	})
}

func (s *Server) handleListMembers(w http.ResponseWriter, r *http.Request) {
	g, err := s.visibleGroup(r, accessMember)
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
