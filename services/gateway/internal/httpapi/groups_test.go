package httpapi_test

import (
	"net/http"
	"testing"
)

func TestGroupCRUD(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner := e.register(t, "Owner")
	stranger := e.register(t, "Stranger")

	g := e.createGroup(t, owner, "Book club")
	if g.Title != "Book club" || g.OwnerID != owner.id {
		t.Fatalf("created = %+v", g.groupBody)
	}
	path := "/api/chat-group/" + g.ID.String()

	t.Run("the owner lists the groups it owns", func(t *testing.T) {
		e.createGroup(t, owner, "Second")
		r := e.do(t, req{method: "GET", path: "/api/chat-group", bearer: owner.access})
		want(t, r, http.StatusOK)
		var b struct{ Groups []groupBody }
		r.decode(t, &b)
		if len(b.Groups) != 2 || b.Groups[0].Title != "Second" || b.Groups[1].Title != "Book club" {
			t.Fatalf("groups = %+v", b.Groups)
		}
	})
	t.Run("another account lists none of them", func(t *testing.T) {
		r := e.do(t, req{method: "GET", path: "/api/chat-group", bearer: stranger.access})
		want(t, r, http.StatusOK)
		var b struct{ Groups []groupBody }
		r.decode(t, &b)
		if len(b.Groups) != 0 {
			t.Fatalf("groups = %+v", b.Groups)
		}
	})
	t.Run("the owner is the group's first member", func(t *testing.T) {
		r := e.do(t, req{method: "GET", path: path + "/members", bearer: owner.access})
		want(t, r, http.StatusOK)
		var b struct {
			Members []struct {
				Name  string `json:"name"`
				Guest bool   `json:"guest"`
				Owner bool   `json:"owner"`
			}
		}
		r.decode(t, &b)
		if len(b.Members) != 1 || b.Members[0].Name != "Owner" || b.Members[0].Guest || !b.Members[0].Owner {
			t.Fatalf("members = %+v", b.Members)
		}
	})
	t.Run("invalid input is refused", func(t *testing.T) {
		for _, body := range []map[string]string{
			{"title": "", "passcode": "long enough"},
			{"title": "ok", "passcode": "abc"},
			{"title": "bad\x01title", "passcode": "long enough"},
		} {
			want(t, e.do(t, req{method: "POST", path: "/api/chat-group", bearer: owner.access, body: body}), http.StatusBadRequest)
		}
		want(t, e.do(t, req{method: "PUT", path: path, bearer: owner.access, body: map[string]string{}}), http.StatusBadRequest)
	})
	t.Run("the owner renames the group", func(t *testing.T) {
		r := e.do(t, req{method: "PUT", path: path, bearer: owner.access, body: map[string]string{"title": "Reading circle"}})
		want(t, r, http.StatusOK)
		var b groupBody
		r.decode(t, &b)
		if b.Title != "Reading circle" {
			t.Fatalf("title = %q", b.Title)
		}
		r = e.do(t, req{method: "GET", path: path, bearer: owner.access})
		want(t, r, http.StatusOK)
		r.decode(t, &b)
		if b.Title != "Reading circle" {
			t.Fatalf("title after GET = %q", b.Title)
		}
	})
	t.Run("a new passcode replaces the old one", func(t *testing.T) {
		newCode := "brand-new-passcode"
		e.remember(newCode)
		want(t, e.do(t, req{method: "PUT", path: path, bearer: owner.access, body: map[string]string{"passcode": newCode}}), http.StatusOK)
		want(t, e.do(t, req{method: "POST", path: path + "/join", body: map[string]string{"name": "Guest", "passcode": g.passcode}}), http.StatusForbidden)
		want(t, e.do(t, req{method: "POST", path: path + "/join", body: map[string]string{"name": "Guest", "passcode": newCode}}), http.StatusOK)
	})
	t.Run("the owner deletes the group and it is gone", func(t *testing.T) {
		want(t, e.do(t, req{method: "DELETE", path: path, bearer: owner.access}), http.StatusNoContent)
		want(t, e.do(t, req{method: "GET", path: path, bearer: owner.access}), http.StatusNotFound)
		want(t, e.do(t, req{method: "DELETE", path: path, bearer: owner.access}), http.StatusNotFound)
	})
}

func TestUnknownRoutesAndMethodsAnswerInJSON(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do(t, req{method: "GET", path: "/api/nothing-here"})
	want(t, r, http.StatusNotFound)
	if r.errorCode(t) != "not_found" {
		t.Fatalf("body = %s", r.body)
	}
	r = e.do(t, req{method: "PATCH", path: "/api/auth/login"})
	want(t, r, http.StatusMethodNotAllowed)
	if r.errorCode(t) != "method_not_allowed" {
		t.Fatalf("body = %s", r.body)
	}
}
