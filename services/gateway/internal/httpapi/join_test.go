package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/services/gateway/internal/ratelimit"
)

func TestJoin(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner := e.register(t, "Owner")
	g := e.createGroup(t, owner, "Secret garden")
	path := "/api/chat-group/" + g.ID.String() + "/join"

	t.Run("a guest with the right passcode gets a member token for this group", func(t *testing.T) {
		j := e.join(t, g, "Guest Ann", "")
		if !j.Member.IsGuest || j.Member.DisplayName != "Guest Ann" || j.Group.Title != "Secret garden" || j.RealtimeURL == "" {
			t.Fatalf("join = %+v", j)
		}
		c := e.verify(t, j.Token)
		if c.Kind != token.KindMember || c.GroupID != g.ID.String() || c.Subject != j.Member.ID.String() || c.UserID != "" || c.Name != "Guest Ann" {
			t.Fatalf("claims = %+v", c)
		}
	})
	t.Run("an account joining is recorded once, however often it joins", func(t *testing.T) {
		a := e.register(t, "Acct")
		first := e.join(t, g, "Acct in room", a.access)
		again := e.join(t, g, "Other name", a.access)
		if first.Member.IsGuest || first.Member.ID != again.Member.ID {
			t.Fatalf("first %+v, again %+v", first.Member, again.Member)
		}
		if c := e.verify(t, again.Token); c.UserID != a.id.String() {
			t.Fatalf("claims = %+v", c)
		}
	})
	t.Run("a wrong passcode is forbidden", func(t *testing.T) {
		r := e.do(t, req{method: "POST", path: path, body: map[string]string{"name": "Mallory", "passcode": "not-the-code"}})
		want(t, r, http.StatusForbidden)
		if r.errorCode(t) != "forbidden" {
			t.Fatalf("body = %s", r.body)
		}
	})
	t.Run("an unknown group is not found", func(t *testing.T) {
		r := e.do(t, req{method: "POST", path: "/api/chat-group/00000000-0000-4000-8000-000000000000/join", body: map[string]string{"name": "M", "passcode": "whatever"}})
		want(t, r, http.StatusNotFound)
		want(t, e.do(t, req{method: "POST", path: "/api/chat-group/not-a-uuid/join", body: map[string]string{"name": "M", "passcode": "whatever"}}), http.StatusNotFound)
	})
}

func TestPasscodeAttemptsAreLimited(t *testing.T) {
	t.Parallel()
	e := setup(t, withTrustedProxies("127.0.0.1"), withLimits(withRules(generous, func(l *limitsEdit) {
		l.PasscodePerIP = ratelimit.Rule{Limit: 3, Per: 1e12}
		l.PasscodePerGroup = ratelimit.Rule{Limit: 5, Per: 1e12}
	})))
	owner := e.register(t, "Owner")
	g := e.createGroup(t, owner, "Vault")
	other := e.createGroup(t, owner, "Other vault")
	attempt := func(gid, ip, pass string) *response {
		return e.do(t, req{method: "POST", path: "/api/chat-group/" + gid + "/join", header: http.Header{"X-Forwarded-For": {ip}},
			body: map[string]string{"name": "Mallory", "passcode": pass}})
	}

	for range 3 {
		want(t, attempt(g.ID.String(), "198.51.100.1", "wrong-guess"), http.StatusForbidden)
	}
	t.Run("repeated wrong passcodes from one address are rate limited", func(t *testing.T) {
		r := attempt(g.ID.String(), "198.51.100.1", "wrong-guess")
		want(t, r, http.StatusTooManyRequests)
		if r.errorCode(t) != "rate_limited" {
			t.Fatalf("body = %s", r.body)
		}
		if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
			t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
		}
	})
	t.Run("even the right passcode waits out the limit", func(t *testing.T) {
		want(t, attempt(g.ID.String(), "198.51.100.1", g.passcode), http.StatusTooManyRequests)
	})
	t.Run("the per-address limit covers every group", func(t *testing.T) {
		want(t, attempt(other.ID.String(), "198.51.100.1", other.passcode), http.StatusTooManyRequests)
	})
	t.Run("spreading guesses over addresses hits the per-group limit", func(t *testing.T) {
		// Three attempts so far reached the group; two more are allowed from new addresses.
		want(t, attempt(g.ID.String(), "198.51.100.2", "wrong-guess"), http.StatusForbidden)
		want(t, attempt(g.ID.String(), "198.51.100.3", "wrong-guess"), http.StatusForbidden)
		want(t, attempt(g.ID.String(), "198.51.100.4", "wrong-guess"), http.StatusTooManyRequests)
	})
	t.Run("other groups keep their own budget", func(t *testing.T) {
		want(t, attempt(other.ID.String(), "198.51.100.5", other.passcode), http.StatusOK)
	})
}

func TestMemberTokenRenewal(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner := e.register(t, "Owner")
	acct := e.register(t, "Acct")
	g := e.createGroup(t, owner, "Room")
	h := e.createGroup(t, owner, "Other room")
	guest := e.join(t, g, "Guest", "")
	e.join(t, g, "Acct", acct.access)
	path := "/api/chat-group/" + g.ID.String() + "/token"

	tests := []struct {
		name       string
		bearer     string
		wantMember string
	}{
		{"a guest renews with its member token", guest.Token, guest.Member.ID.String()},
		{"an account member renews with its access token", acct.access, ""},
		{"the owner renews with its access token", owner.access, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, req{method: "POST", path: path, bearer: tt.bearer})
			want(t, r, http.StatusOK)
			var j joinBody
			r.decode(t, &j)
			c := e.verify(t, j.Token)
			if c.Kind != token.KindMember || c.GroupID != g.ID.String() || c.Subject != j.Member.ID.String() {
				t.Fatalf("claims = %+v", c)
			}
			if tt.wantMember != "" && c.Subject != tt.wantMember {
				t.Fatalf("renewed for member %s, want %s", c.Subject, tt.wantMember)
			}
		})
	}
	t.Run("a member token of this group does not renew for another group", func(t *testing.T) {
		want(t, e.do(t, req{method: "POST", path: "/api/chat-group/" + h.ID.String() + "/token", bearer: guest.Token}), http.StatusNotFound)
	})
	t.Run("renewal stops once the group is deleted", func(t *testing.T) {
		want(t, e.do(t, req{method: "DELETE", path: "/api/chat-group/" + g.ID.String(), bearer: owner.access}), http.StatusNoContent)
		want(t, e.do(t, req{method: "POST", path: path, bearer: guest.Token}), http.StatusNotFound)
	})
}
