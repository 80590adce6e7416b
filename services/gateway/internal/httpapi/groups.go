package httpapi

import (
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/token"
)

func (s *Server) registerGroupRoutes(r chi.Router) {
	r.With(s.authenticate).Route("/chat-group", func(r chi.Router) {
		r.Get("/", s.handleListGroups)
		r.Post("/", s.handleCreateGroup)
		r.Get("/{id}", s.handleGetGroup)
		r.Put("/{id}", s.handleUpdateGroup)
		r.Delete("/{id}", s.handleDeleteGroup)
		r.Post("/{id}/join", s.handleJoin)
		r.Get("/{id}/members", s.handleListMembers)
	})
}

// groupJSON never carries the passcode or its hash.
type groupJSON struct {
	ID        uuid.UUID `json:"id"`
	Title     string    `json:"title"`
	OwnerID   uuid.UUID `json:"owner_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func groupOut(g store.Group) groupJSON {
	return groupJSON{ID: g.ID, Title: g.Title, OwnerID: g.OwnerID, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
}

type groupInput struct {
	Title    string `json:"title"`
	Passcode string `json:"passcode"`
}

const (
	minPasscodeLen = 4
	maxPasscodeLen = 128
)

func checkPasscode(p string) error {
	if n := utf8.RuneCountInString(p); n < minPasscodeLen || len(p) > maxPasscodeLen || !utf8.ValidString(p) {
		return apperr.New(apperr.Invalid, "passcode must be %d to %d characters", minPasscodeLen, maxPasscodeLen)
	}
	return nil
}

func (s *Server) handleListGroups(w http.ResponseWriter, r *http.Request) {
	owner, err := requireAccount(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	groups, err := s.Store.GroupsByOwner(r.Context(), owner)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]groupJSON, len(groups))
	for i, g := range groups {
		out[i] = groupOut(g)
	}
	writeJSON(w, http.StatusOK, map[string]any{"groups": out})
}

func (s *Server) handleCreateGroup(w http.ResponseWriter, r *http.Request) {
	owner, err := requireAccount(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in groupInput
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	title, err := cleanName(in.Title, "title")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkPasscode(in.Passcode); err != nil {
		s.writeError(w, r, err)
		return
	}
	hash, err := s.Hasher.Hash(in.Passcode)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	g, err := s.Store.CreateGroup(r.Context(), store.Group{ID: uuid.New(), OwnerID: owner, Title: title, PasscodeHash: hash})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, groupOut(g))
}

// loadGroup parses the {id} URL parameter and loads the group. Malformed ids are 404 so
// probing reveals nothing.
func (s *Server) loadGroup(r *http.Request) (store.Group, error) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		return store.Group{}, apperr.New(apperr.NotFound, "group not found")
	}
	return s.Store.Group(r.Context(), id)
}

// access says how the caller relates to a group.
type access int

const (
	accessNone access = iota
	accessMember
	accessOwner
)

// accessTo decides the caller's relation to g from the request's token: the owner's access
// token, an account that is a member, or a member token scoped to g.
func (s *Server) accessTo(r *http.Request, g store.Group) (access, error) {
	c, ok := claimsFrom(r.Context())
	if !ok {
		return accessNone, apperr.New(apperr.Unauthorized, "sign in or join the group first")
	}
	switch c.Kind {
	case token.KindMember:
		if c.GroupID == g.ID.String() {
			return accessMember, nil
		}
	case token.KindAccess:
		if c.Subject == g.OwnerID.String() {
			return accessOwner, nil
		}
		uid, err := uuid.Parse(c.Subject)
		if err != nil {
			return accessNone, nil
		}
		if _, err := s.Store.MemberByUser(r.Context(), g.ID, uid); err == nil {
			return accessMember, nil
		} else if !apperr.Is(err, apperr.NotFound) {
			return accessNone, err
		}
	}
	return accessNone, nil
}

// visibleGroup loads the group and checks the caller has at least want access. Callers
// without any access get 404, exactly as for a group that does not exist.
func (s *Server) visibleGroup(r *http.Request, want access) (store.Group, error) {
	g, err := s.loadGroup(r)
	if err != nil {
		return g, err
	}
	a, err := s.accessTo(r, g)
	if err != nil {
		return g, err
	}
	switch {
	case a == accessNone:
		return g, apperr.New(apperr.NotFound, "group not found")
	case a < want:
		return g, apperr.New(apperr.Forbidden, "only the group's owner may do this")
	}
	return g, nil
}

func (s *Server) handleGetGroup(w http.ResponseWriter, r *http.Request) {
	g, err := s.visibleGroup(r, accessMember)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, groupOut(g))
}

type groupUpdateInput struct {
	Title    *string `json:"title"`
	Passcode *string `json:"passcode"`
}

func (s *Server) handleUpdateGroup(w http.ResponseWriter, r *http.Request) {
	g, err := s.visibleGroup(r, accessOwner)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in groupUpdateInput
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	var u store.GroupUpdate
	if in.Title != nil {
		if u.Title, err = cleanName(*in.Title, "title"); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if in.Passcode != nil {
		if err := checkPasscode(*in.Passcode); err != nil {
			s.writeError(w, r, err)
			return
		}
		if u.PasscodeHash, err = s.Hasher.Hash(*in.Passcode); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	g, err = s.Store.UpdateGroup(r.Context(), g.ID, u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, groupOut(g))
}

func (s *Server) handleDeleteGroup(w http.ResponseWriter, r *http.Request) {
	g, err := s.visibleGroup(r, accessOwner)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.Store.DeleteGroup(r.Context(), g.ID); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
