package store_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
)

func TestUsers(t *testing.T) {
	t.Run("an account is found again by id and by email as it was created", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		in := store.User{ID: uuid.New(), Email: "ann@example.com", Name: "Ann", PasswordHash: "$argon2id$hash"}

		created, err := st.CreateUser(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		recent(t, "CreatedAt", created.CreatedAt)
		for name, get := range map[string]func() (store.User, error){
			"UserByID":    func() (store.User, error) { return st.UserByID(ctx, in.ID) },
			"UserByEmail": func() (store.User, error) { return st.UserByEmail(ctx, in.Email) },
		} {
			got, err := get()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got.ID != in.ID || got.Email != in.Email || got.Name != in.Name || got.PasswordHash != in.PasswordHash ||
				got.OIDCIssuer != "" || got.OIDCSubject != "" || !got.CreatedAt.Equal(created.CreatedAt) {
				t.Errorf("%s = %+v, want %+v created at %v", name, got, in, created.CreatedAt)
			}
		}
	})

	t.Run("an account without a password is found by its external identity", func(t *testing.T) {
		t.Parallel()
		st := setup(t)
		ctx := context.Background()
		in := store.User{ID: uuid.New(), Email: "bob@example.com", Name: "Bob", OIDCIssuer: "https://idp.example", OIDCSubject: "sub-1"}
		if _, err := st.CreateUser(ctx, in); err != nil {
			t.Fatal(err)
		}

		got, err := st.UserByOIDC(ctx, in.OIDCIssuer, in.OIDCSubject)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != in.ID || got.PasswordHash != "" || got.OIDCIssuer != in.OIDCIssuer || got.OIDCSubject != in.OIDCSubject {
			t.Errorf("UserByOIDC = %+v, want %+v", got, in)
		}
		_, err = st.UserByOIDC(ctx, "https://other.example", in.OIDCSubject)
		wantCode(t, "UserByOIDC with another issuer", err, apperr.NotFound)
	})

	tests := []struct {
		name string
		// call makes the failing call on a store holding the account ann@example.com
		// linked to the identity (https://idp.example, ann).
		call func(st *store.Store) error
		want apperr.Code
	}{
		{
			name: "an email already in use is a conflict",
			call: func(st *store.Store) error {
				_, err := st.CreateUser(context.Background(), store.User{ID: uuid.New(), Email: "ann@example.com", Name: "Other", PasswordHash: "x"})
				return err
			},
			want: apperr.Conflict,
		},
		{
			name: "an id already in use is a conflict",
			call: func(st *store.Store) error {
				ann, err := st.UserByEmail(context.Background(), "ann@example.com")
				if err != nil {
					return err
				}
				_, err = st.CreateUser(context.Background(), store.User{ID: ann.ID, Email: "new@example.com", Name: "Other", PasswordHash: "x"})
				return err
			},
			want: apperr.Conflict,
		},
		{
			name: "an external identity already linked to an account is a conflict",
			call: func(st *store.Store) error {
				_, err := st.CreateUser(context.Background(), store.User{ID: uuid.New(), Email: "eve@example.com", Name: "Eve", OIDCIssuer: "https://idp.example", OIDCSubject: "ann"})
				return err
			},
			want: apperr.Conflict,
		},
		{
			name: "an email that is not lower case is invalid",
			call: func(st *store.Store) error {
				_, err := st.CreateUser(context.Background(), store.User{ID: uuid.New(), Email: "Bob@Example.com", Name: "Bob", PasswordHash: "x"})
				return err
			},
			want: apperr.Invalid,
		},
		{
			name: "a name with a NUL byte is invalid",
			call: func(st *store.Store) error {
				_, err := st.CreateUser(context.Background(), store.User{ID: uuid.New(), Email: "nul@example.com", Name: "nul \x00", PasswordHash: "x"})
				return err
			},
			want: apperr.Invalid,
		},
		{
			name: "an unknown id is not found",
			call: func(st *store.Store) error {
				_, err := st.UserByID(context.Background(), uuid.New())
				return err
			},
			want: apperr.NotFound,
		},
		{
			name: "an unknown email is not found",
			call: func(st *store.Store) error {
				_, err := st.UserByEmail(context.Background(), "nobody@example.com")
				return err
			},
			want: apperr.NotFound,
		},
		{
			name: "an unknown external identity is not found",
			call: func(st *store.Store) error {
				_, err := st.UserByOIDC(context.Background(), "https://idp.example", "nobody")
				return err
			},
			want: apperr.NotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := setup(t)
			if _, err := st.CreateUser(context.Background(), store.User{
				ID: uuid.New(), Email: "ann@example.com", Name: "Ann", PasswordHash: "x", OIDCIssuer: "https://idp.example", OIDCSubject: "ann",
			}); err != nil {
				t.Fatal(err)
			}
			wantCode(t, "the call", tt.call(st), tt.want)
		})
	}
}
