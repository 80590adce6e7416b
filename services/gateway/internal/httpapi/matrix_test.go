package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/token"
)

// principal is who makes a request in the authorization matrix.
type principal int

const (
	anonymous   principal = iota
	expired               // the owner's access token, expired
	forged                // the owner's claims signed with a key the gateway does not hold
	otherUser             // an account with no relation to the group
	otherMember           // a guest member of another group
	guest                 // a guest member of the group
	member                // an account that joined the group
	owner                 // the account that created the group
	principals
)

func (p principal) String() string {
	return [...]string{"anonymous", "expired token", "forged token", "other user", "member of another group", "guest member", "member", "owner"}[p]
}

// world is one group with a person in every role, plus another group.
type world struct {
	e                     *env
	ownerAcct, memberAcct account
	otherAcct             account
	g, other              group
	guestJoin, otherJoin  joinBody
	// victim is a guest of g for the routes that end a membership; banID a ban of g.
	victim joinBody
	banID  string
	// attachmentID is a file the guest sent to g, for the rows that need one.
	attachmentID string
	tokens       [principals]string
	secretsOfG   []string // what non-members must never see
}

func newWorld(t testing.TB, e *env) *world {
	t.Helper()
	w := &world{e: e}
	w.ownerAcct = e.register(t, "Owner "+uuid.NewString()[:6])
	w.memberAcct = e.register(t, "Member "+uuid.NewString()[:6])
	w.otherAcct = e.register(t, "Other "+uuid.NewString()[:6])
	w.g = e.createGroup(t, w.ownerAcct, "Title "+uuid.NewString())
	w.other = e.createGroup(t, w.otherAcct, "Other title "+uuid.NewString())
	guestName := "Guest " + uuid.NewString()[:8]
	w.guestJoin = e.join(t, w.g, guestName, "")
	memberJoin := e.join(t, w.g, "Member in room "+uuid.NewString()[:8], w.memberAcct.access)
	w.otherJoin = e.join(t, w.other, "Other guest", "")
	victimName, bannedName := "Victim "+uuid.NewString()[:8], "Banned "+uuid.NewString()[:8]
	w.victim = e.join(t, w.g, victimName, "")
	banned := e.join(t, w.g, bannedName, "")
	r := e.do(t, req{method: "POST", path: "/api/chat-group/" + w.g.ID.String() + "/bans", bearer: w.ownerAcct.access,
		body: map[string]string{"member_id": banned.Member.ID.String()}})
	want(t, r, http.StatusCreated)
	var ban struct {
		BanID string `json:"ban_id"`
	}
	r.decode(t, &ban)
	w.banID = ban.BanID
	seedMessages(t, e.st, w.g.ID, 3)

	expiredTok, err := e.signer.SignAt(token.Claims{Subject: w.ownerAcct.id.String(), Kind: token.KindAccess, Name: "Owner"},
		time.Now().Add(-time.Hour), 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := token.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	otherSigner, err := token.NewSigner(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	forgedTok, err := otherSigner.Sign(token.Claims{Subject: w.ownerAcct.id.String(), Kind: token.KindAccess, Name: "Owner"}, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	w.tokens = [principals]string{
		anonymous: "", expired: expiredTok, forged: forgedTok, otherUser: w.otherAcct.access,
		otherMember: w.otherJoin.Token, guest: w.guestJoin.Token, member: w.memberAcct.access, owner: w.ownerAcct.access,
	}
	w.secretsOfG = []string{w.g.Title, guestName, memberJoin.Member.DisplayName, victimName, bannedName, "message 0", "message 1", "message 2"}
	return w
}

// cell is one route of the matrix: how to call it on a world and the status each principal
// must get.
type cell struct {
	route string // "METHOD /pattern" as the router names it
	path  func(w *world) string
	body  func(w *world) any
	// cookies are sent besides the principal's token (the session cookie routes).
	cookies func(w *world) []*http.Cookie
	status  [principals]int
	// groupScoped routes must not reveal the group to non-members.
	groupScoped bool
}

func fixed(p string) func(*world) string { return func(*world) string { return p } }
func inGroup(suffix string) func(*world) string {
	return func(w *world) string { return "/api/chat-group/" + w.g.ID.String() + suffix }
}

// anon expired forged other otherMember guest member owner
var (
	public200 = [principals]int{200, 200, 200, 200, 200, 200, 200, 200}
	accountOK = func(ok int) [principals]int { return [principals]int{401, 401, 401, ok, 401, 401, ok, ok} }
	membersOK = func(ok int) [principals]int { return [principals]int{401, 401, 401, 404, 404, ok, ok, ok} }
	ownerOK   = func(ok int) [principals]int { return [principals]int{401, 401, 401, 404, 404, 403, 403, ok} }
	same      = func(s int) [principals]int { return [principals]int{s, s, s, s, s, s, s, s} }
)

var matrix = []cell{
	{route: "GET /.well-known/jwks.json", path: fixed("/.well-known/jwks.json"), status: public200},
	// The web UI's pages and files are public and the same for everyone; the page of a
	// share link is the same shell whatever the id, so it reveals nothing about the group.
	{route: "GET /", path: fixed("/"), status: public200},
	{route: "GET /login", path: fixed("/login"), status: public200},
	{route: "GET /register", path: fixed("/register"), status: public200},
	{route: "GET /dashboard", path: fixed("/dashboard"), status: public200},
	{route: "GET /chat/{id}", path: func(w *world) string { return "/chat/" + w.g.ID.String() }, status: public200},
	{route: "GET /assets/*", path: fixed("/assets/app.css"), status: public200},
	{route: "GET /config.json", path: fixed("/config.json"), status: public200},
	{route: "POST /api/auth/register", path: fixed("/api/auth/register"), status: same(202),
		body: func(w *world) any {
			return map[string]string{"email": fmt.Sprintf("new%d@example.test", next()), "password": "a new password", "name": "New"}
		}},
	{route: "POST /api/auth/login", path: fixed("/api/auth/login"), status: same(200),
		body: func(w *world) any {
			return map[string]string{"email": w.memberAcct.email, "password": w.memberAcct.pass}
		}},
	{route: "POST /api/auth/refresh", path: fixed("/api/auth/refresh"), status: same(200),
		cookies: func(w *world) []*http.Cookie { return w.memberAcct.refreshCookie() }},
	{route: "POST /api/auth/logout", path: fixed("/api/auth/logout"), status: same(204),
		cookies: func(w *world) []*http.Cookie { return w.memberAcct.refreshCookie() }},
	{route: "GET /api/auth/me", path: fixed("/api/auth/me"), status: accountOK(200)},
	{route: "GET /api/auth/oidc/login", path: fixed("/api/auth/oidc/login"), status: same(302)},
	{route: "GET /api/auth/oidc/callback", path: fixed("/api/auth/oidc/callback"), status: same(400)},
	{route: "GET /api/chat-group", path: fixed("/api/chat-group"), status: accountOK(200)},
	{route: "POST /api/chat-group", path: fixed("/api/chat-group"), status: accountOK(201),
		body: func(w *world) any { return map[string]string{"title": "Another", "passcode": "another code"} }},
	{route: "GET /api/chat-group/{id}", path: inGroup(""), status: membersOK(200), groupScoped: true},
	{route: "PUT /api/chat-group/{id}", path: inGroup(""), status: ownerOK(200), groupScoped: true,
		body: func(w *world) any { return map[string]string{"title": "Renamed"} }},
	{route: "DELETE /api/chat-group/{id}", path: inGroup(""), status: ownerOK(204), groupScoped: true},
	// Joining is open to anyone with the passcode, but a bad token is still refused.
	{route: "POST /api/chat-group/{id}/join", path: inGroup("/join"), status: [principals]int{200, 401, 401, 200, 200, 200, 200, 200},
		body: func(w *world) any { return map[string]string{"name": "Joiner", "passcode": w.g.passcode} }},
	{route: "GET /api/chat-group/{id}/members", path: inGroup("/members"), status: membersOK(200), groupScoped: true},
	{route: "POST /api/chat-group/{id}/token", path: inGroup("/token"), status: membersOK(200), groupScoped: true},
	// Members leave on their own; the owner cannot (it deletes the group instead).
	{route: "POST /api/chat-group/{id}/leave", path: inGroup("/leave"), status: [principals]int{401, 401, 401, 404, 404, 204, 204, 409}, groupScoped: true},
	{route: "DELETE /api/chat-group/{id}/members/{member_id}", status: ownerOK(204), groupScoped: true,
		path: func(w *world) string {
			return "/api/chat-group/" + w.g.ID.String() + "/members/" + w.victim.Member.ID.String()
		}},
	{route: "POST /api/chat-group/{id}/bans", path: inGroup("/bans"), status: ownerOK(201), groupScoped: true,
		body: func(w *world) any { return map[string]string{"member_id": w.victim.Member.ID.String()} }},
	{route: "GET /api/chat-group/{id}/bans", path: inGroup("/bans"), status: ownerOK(200), groupScoped: true},
	{route: "DELETE /api/chat-group/{id}/bans/{ban_id}", status: ownerOK(204), groupScoped: true,
		path: func(w *world) string { return "/api/chat-group/" + w.g.ID.String() + "/bans/" + w.banID }},
	{route: "GET /api/chats/{id}", path: func(w *world) string { return "/api/chats/" + w.g.ID.String() }, status: membersOK(200), groupScoped: true},
	{route: "POST /api/chat-group/{id}/attachments", path: inGroup("/attachments"), status: membersOK(201), groupScoped: true,
		body: func(w *world) any {
			return map[string]any{"name": "a.pdf", "size": 10, "content_type": "application/pdf"}
		}},
	// Only the uploader checks its file and gets its reference.
	{route: "POST /api/chat-group/{id}/attachments/{attachment_id}/complete", groupScoped: true,
		status: [principals]int{401, 401, 401, 404, 404, 200, 404, 404},
		path: func(w *world) string {
			return "/api/chat-group/" + w.g.ID.String() + "/attachments/" + w.attachmentID + "/complete"
		}},
	{route: "GET /api/chat-group/{id}/attachments/{attachment_id}", status: membersOK(200), groupScoped: true,
		path: func(w *world) string { return "/api/chat-group/" + w.g.ID.String() + "/attachments/" + w.attachmentID }},
}

func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	files, _ := withFiles(t, fileSettings)
	e := setup(t, withOIDC(), files)

	t.Run("the matrix covers every route", func(t *testing.T) {
		for _, r := range routerRoutes(t, e.api.Routes()) {
			if !slices.ContainsFunc(matrix, func(c cell) bool { return c.route == r }) {
				t.Errorf("route %s has no row in the authorization matrix", r)
			}
		}
	})
	for _, c := range matrix {
		for p := range principals {
			t.Run(fmt.Sprintf("%s as %s gets %d", c.route, p, c.status[p]), func(t *testing.T) {
				// A fresh world per cell, so no cell depends on what another changed.
				w := newWorld(t, e)
				if strings.Contains(c.route, "{attachment_id}") {
					w.addAttachment(t)
				}
				r := req{method: strings.Fields(c.route)[0], path: c.path(w), bearer: w.tokens[p]}
				if r.method == "ANY" {
					r.method = http.MethodGet
				}
				if c.body != nil {
					r.body = c.body(w)
				}
				if c.cookies != nil {
					r.cookies = c.cookies(w)
				}
				resp := e.do(t, r)
				if resp.status != c.status[p] {
					t.Fatalf("status = %d, want %d; body %s", resp.status, c.status[p], resp.body)
				}
				if !c.groupScoped || p >= guest {
					return
				}
				for _, s := range w.secretsOfG {
					if strings.Contains(string(resp.body), s) {
						t.Fatalf("a non-member saw %q: %s", s, resp.body)
					}
				}
				// Whether the group exists must make no difference to a non-member.
				r.path = strings.Replace(r.path, w.g.ID.String(), uuid.NewString(), 1)
				if missing := e.do(t, r); missing.status != resp.status || missing.errorCode(t) != resp.errorCode(t) {
					t.Fatalf("existing group: %s; missing group: %s", resp, missing)
				}
			})
		}
	}
}
