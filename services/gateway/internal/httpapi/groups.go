package httpapi

import (
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
)

func (s *Server) registerGroupRoutes(r chi.Router) {
	r.With(s.authenticate).Route("/chat-group", func(r chi.Router) {
		r.Get("/", s.handleListGroups)
		r.Post("/", s.handleCreateGroup)
		r.Get("/{id}", s.handleGetGroup)
		r.Put("/{id}", s.handleUpdateGroup)
		r.Delete("/{id}", s.handleDeleteGroup)
		s.registerMemberRoutes(r)
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

// handleCreateGroup creates a group owned by the caller, who also becomes its first member.
func (s *Server) handleCreateGroup(w http.ResponseWriter, r *http.Request) {
	ownerID, err := requireAccount(r.Context())
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
	owner, err := s.Store.UserByID(r.Context(), ownerID)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			err = apperr.New(apperr.Unauthorized, "account no longer exists")
		}
		s.writeError(w, r, err)
		return
	}
	hash, err := s.Hasher.Hash(r.Context(), in.Passcode)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	g, _, err := s.Store.CreateGroupWithOwner(r.Context(),
		store.Group{ID: uuid.New(), OwnerID: owner.ID, Title: title, PasscodeHash: hash},
		store.Member{ID: uuid.New(), DisplayName: owner.Name})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, groupOut(g))
}

func (s *Server) handleGetGroup(w http.ResponseWriter, r *http.Request) {
	g, _, err := s.visibleGroup(r, accessMember)
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
	g, _, err := s.visibleGroup(r, accessOwner)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in groupUpdateInput
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.Title == nil && in.Passcode == nil {
		s.writeError(w, r, apperr.New(apperr.Invalid, "give a title, a passcode or both"))
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
		if u.PasscodeHash, err = s.Hasher.Hash(r.Context(), *in.Passcode); err != nil {
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
	g, _, err := s.visibleGroup(r, accessOwner)
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
