package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/quickchat-go/quickchat/services/gateway/internal/app"
	"github.com/quickchat-go/quickchat/services/gateway/internal/ratelimit"
)

// hour is a window long enough that no budget refills while a test runs.
const hour = time.Hour

// from sends r as if from the client address ip, through the trusted proxy every test
// server here sits behind (withTrustedProxies("127.0.0.0/8")).
func from(ip string, r req) req {
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Set("X-Forwarded-For", ip)
	return r
}

// groupsOf counts the groups a owns.
func (e *env) groupsOf(t testing.TB, a account) int {
	t.Helper()
	r := e.do(t, req{method: "GET", path: "/api/chat-group", bearer: a.access})
	want(t, r, http.StatusOK)
	var b struct{ Groups []groupBody }
	r.decode(t, &b)
	return len(b.Groups)
}

// Regression: issue 13 M4. One account created 411 groups in 17 s, each costing an
// argon2id hash. Creations and passcode changes are now limited per account, and an
// account owns at most a capped number of groups, exactly, even when it races itself.
func TestGroupHashingFloodsAreRefused(t *testing.T) {
	t.Parallel()
	create := func(e *env, a account, i int) *response {
		return e.do(t, req{method: "POST", path: "/api/chat-group", bearer: a.access,
			body: map[string]string{"title": fmt.Sprintf("Flood %d", i), "passcode": "flood passcode"}})
	}
	t.Run("creations beyond the per-account rate are refused", func(t *testing.T) {
		e := setup(t, withLimits(withRules(generous, func(l *limitsEdit) { l.GroupCreatePerAccount = ratelimit.Rule{Limit: 5, Per: hour} })))
		flooder, bystander := e.register(t, "Flooder"), e.register(t, "Bystander")
		statuses := map[int]int{}
		for i := range 12 {
			r := create(e, flooder, i)
			statuses[r.status]++
			if r.status == http.StatusTooManyRequests && (r.errorCode(t) != "rate_limited" || r.header.Get("Retry-After") == "") {
				t.Fatalf("want rate_limited with Retry-After, got %s", r)
			}
		}
		if statuses[http.StatusCreated] != 5 || statuses[http.StatusTooManyRequests] != 7 || e.groupsOf(t, flooder) != 5 {
			t.Fatalf("statuses %v and %d groups stored; want 5 created and 7 refused", statuses, e.groupsOf(t, flooder))
		}
		want(t, create(e, bystander, 0), http.StatusCreated)
	})
	t.Run("an account owns at most the cap, even creating in parallel", func(t *testing.T) {
		lim := generous
		lim.MaxGroupsPerAccount = 3
		e := setup(t, withLimits(lim))
		a := e.register(t, "Collector")
		statuses := make([]int, 10)
		var wg sync.WaitGroup
		for i := range statuses {
			wg.Go(func() { statuses[i] = create(e, a, i).status })
		}
		wg.Wait()
		counts := map[int]int{}
		for _, s := range statuses {
			counts[s]++
		}
		if counts[http.StatusCreated] != 3 || counts[http.StatusConflict] != 7 || e.groupsOf(t, a) != 3 {
			t.Fatalf("statuses %v and %d groups stored; want 3 created and 7 conflicts", counts, e.groupsOf(t, a))
		}
		r := create(e, a, 99)
		want(t, r, http.StatusConflict)
		if r.errorCode(t) != "conflict" {
			t.Fatalf("want a conflict naming the cap, got %s", r)
		}
	})
	t.Run("passcode changes beyond the per-account rate are refused", func(t *testing.T) {
		e := setup(t, withLimits(withRules(generous, func(l *limitsEdit) { l.PasscodeChangePerAccount = ratelimit.Rule{Limit: 2, Per: hour} })))
		a := e.register(t, "Changer")
		g := e.createGroup(t, a, "Changing")
		change := func(body map[string]string) *response {
			return e.do(t, req{method: "PUT", path: "/api/chat-group/" + g.ID.String(), bearer: a.access, body: body})
		}
		want(t, change(map[string]string{"passcode": "first new code"}), http.StatusOK)
		want(t, change(map[string]string{"passcode": "second new code"}), http.StatusOK)
		want(t, change(map[string]string{"passcode": "third new code"}), http.StatusTooManyRequests)
		want(t, change(map[string]string{"title": "Only the title"}), http.StatusOK)
		want(t, e.do(t, req{method: "POST", path: "/api/chat-group/" + g.ID.String() + "/join",
			body: map[string]string{"name": "Late", "passcode": "second new code"}}), http.StatusOK)
	})
}

// Regression: issue 13 M5. GET /api/auth/oidc/login stored a pending sign-in per call,
// for anyone, without limit. Starts are now limited per address, and pending sign-ins
// expire and are cleaned up.
func TestOIDCStartsAreLimitedPerAddress(t *testing.T) {
	t.Parallel()
	e := setup(t, withOIDC(), withTrustedProxies("127.0.0.0/8"),
		withLimits(withRules(generous, func(l *limitsEdit) { l.OIDCStartPerIP = ratelimit.Rule{Limit: 5, Per: hour} })))
	statuses := map[int]int{}
	for range 20 {
		statuses[e.do(t, from("203.0.113.7", req{method: "GET", path: "/api/auth/oidc/login"})).status]++
	}
	if statuses[http.StatusFound] != 5 || statuses[http.StatusTooManyRequests] != 15 {
		t.Fatalf("statuses %v, want 5 redirects and 15 refusals", statuses)
	}
	want(t, e.do(t, from("198.51.100.2", req{method: "GET", path: "/api/auth/oidc/login"})), http.StatusFound)
	ctx := context.Background()
	if n, err := e.st.DeleteExpiredOIDCLogins(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("the janitor deleted %d live sign-ins (%v)", n, err)
	}
	n, err := e.st.DeleteExpiredOIDCLogins(ctx, time.Now().Add(app.OIDCSignInTTL+time.Minute))
	if err != nil || n != 6 {
		t.Fatalf("the janitor deleted %d expired sign-ins (%v), want the 6 stored", n, err)
	}
}

// Regression: issue 13 M6. Passcodes of 4 characters with 30 guesses a minute fell in
// hours. New passcodes need 8 characters, 5 of them different, and each wrong passcode
// makes the group and the address wait longer before the next check.
func TestPasscodeGuessingBacksOff(t *testing.T) {
	t.Parallel()
	t.Run("short or repetitive passcodes are refused", func(t *testing.T) {
		e := setup(t)
		a := e.register(t, "Owner")
		for _, code := range []string{"1234", "abcdefg", "12121212", "aaaaaaaaaaaa"} {
			r := e.do(t, req{method: "POST", path: "/api/chat-group", bearer: a.access, body: map[string]string{"title": "Weak", "passcode": code}})
			want(t, r, http.StatusBadRequest)
		}
		if n := e.groupsOf(t, a); n != 0 {
			t.Fatalf("%d groups with weak passcodes were created", n)
		}
	})
	join := func(e *env, g group, ip, passcode string) *response {
		return e.do(t, from(ip, req{method: "POST", path: "/api/chat-group/" + g.ID.String() + "/join",
			body: map[string]string{"name": "Someone", "passcode": passcode}}))
	}
	t.Run("wrong passcodes for a group make every address wait", func(t *testing.T) {
		e := setup(t, withTrustedProxies("127.0.0.0/8"), withLimits(withRules(generous, func(l *limitsEdit) {
			l.PasscodeBackoffPerGroup = ratelimit.Backoff{After: 3, Base: hour, Max: 4 * hour}
		})))
		g := e.createGroup(t, e.register(t, "Owner"), "Vault")
		for i := range 4 {
			// A different address each time: the group's back-off counts them all.
			want(t, join(e, g, fmt.Sprintf("203.0.113.%d", i+1), "wrong guess"), http.StatusForbidden)
		}
		r := join(e, g, "203.0.113.99", g.passcode)
		want(t, r, http.StatusTooManyRequests)
		if r.header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		want(t, join(e, g, "198.51.100.1", g.passcode), http.StatusTooManyRequests)
		other := e.createGroup(t, e.register(t, "Other owner"), "Elsewhere")
		want(t, join(e, other, "203.0.113.99", other.passcode), http.StatusOK)
	})
	t.Run("wrong passcodes from an address make it wait for every group", func(t *testing.T) {
		e := setup(t, withTrustedProxies("127.0.0.0/8"), withLimits(withRules(generous, func(l *limitsEdit) {
			l.PasscodeBackoffPerIP = ratelimit.Backoff{After: 2, Base: hour, Max: 4 * hour}
		})))
		owner := e.register(t, "Owner")
		groups := []group{e.createGroup(t, owner, "One"), e.createGroup(t, owner, "Two"), e.createGroup(t, owner, "Three")}
		for _, g := range groups {
			want(t, join(e, g, "203.0.113.5", "wrong guess"), http.StatusForbidden)
		}
		want(t, join(e, groups[0], "203.0.113.5", groups[0].passcode), http.StatusTooManyRequests)
		want(t, join(e, groups[0], "198.51.100.1", groups[0].passcode), http.StatusOK)
	})
}

// Regression: issue 13 M7. Five wrong passwords a minute from anyone locked the owner
// out (429 even with the right password). Limits now count per account and address,
// and the per-account ceiling spares the addresses the owner signed in from.
func TestFailedSignInsElsewhereDoNotLockTheOwnerOut(t *testing.T) {
	t.Parallel()
	e := setup(t, withTrustedProxies("127.0.0.0/8"), withLimits(withRules(generous, func(l *limitsEdit) {
		l.LoginPerAccountAddress = ratelimit.Rule{Limit: 5, Per: hour}
		l.LoginPerAccount = ratelimit.Rule{Limit: 10, Per: hour}
	})))
	const home = "198.51.100.10"
	owner := account{email: "owner@example.test", pass: "the owner's password"}
	e.remember(owner.pass)
	want(t, e.do(t, from(home, req{method: "POST", path: "/api/auth/register",
		body: map[string]string{"email": owner.email, "password": owner.pass, "name": "Owner"}})), http.StatusAccepted)
	login := func(ip, pass string) *response {
		return e.do(t, from(ip, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": owner.email, "password": pass}}))
	}
	want(t, login(home, owner.pass), http.StatusOK)

	// An attacker spreads wrong passwords over many addresses until the account's
	// ceiling refuses them all.
	statuses := map[int]int{}
	for i := range 30 {
		statuses[login(fmt.Sprintf("203.0.113.%d", i/3+1), "a wrong guess").status]++
	}
	if statuses[http.StatusUnauthorized] != 9 || statuses[http.StatusTooManyRequests] != 21 {
		t.Fatalf("attacker statuses %v, want 9 checked (the ceiling's 10 minus the owner's sign-in) and 21 refused", statuses)
	}
	t.Run("the owner still signs in from home", func(t *testing.T) {
		want(t, login(home, owner.pass), http.StatusOK)
	})
	t.Run("an address the owner never used waits like the attacker's", func(t *testing.T) {
		want(t, login("192.0.2.77", owner.pass), http.StatusTooManyRequests)
	})
	t.Run("one address alone is limited for the account", func(t *testing.T) {
		for range 3 {
			want(t, login(home, "owner's typo"), http.StatusUnauthorized)
		}
		want(t, login(home, owner.pass), http.StatusTooManyRequests)
	})
}

// Regression: issue 13 L6. Registration answered 409 for a taken email and 201 for a
// new one, so anyone could list who has an account. Both now get the same answer, and a
// registration never changes or signs in to an existing account.
func TestRegistrationRevealsNoAccount(t *testing.T) {
	t.Parallel()
	e := setup(t)
	existing := e.register(t, "Ada")
	register := func(email string) *response {
		e.remember("squatter's password")
		return e.do(t, req{method: "POST", path: "/api/auth/register", body: map[string]string{"email": email, "password": "squatter's password", "name": "Eve"}})
	}
	taken, free := register(existing.email), register("free@example.test")
	if taken.status != free.status || string(taken.body) != string(free.body) {
		t.Fatalf("a taken email got %s, a free one %s", taken, free)
	}
	want(t, taken, http.StatusAccepted)
	for _, r := range []*response{taken, free} {
		if findCookie(r.header, "qc_refresh") != nil {
			t.Fatal("a registration started a session")
		}
	}
	login := func(email, pass string) *response {
		return e.do(t, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": email, "password": pass}})
	}
	want(t, login(existing.email, "squatter's password"), http.StatusUnauthorized)
	want(t, login(existing.email, existing.pass), http.StatusOK)
	want(t, login("free@example.test", "squatter's password"), http.StatusOK)
}

// Regression: issue 13 L8. The cookie routes accepted simple POSTs from other origins:
// a sibling site (another port or subdomain of the same site gets the SameSite=Strict
// cookie sent along) could sign the victim out or rotate its session. Browsers may now
// call them from the gateway's own origin and the configured ones only.
func TestCookieRoutesRefuseOtherOrigins(t *testing.T) {
	t.Parallel()
	e := setup(t, withAllowedOrigins("https://app.example"))
	a := e.register(t, "Victim")
	refused := []struct {
		name   string
		header http.Header
	}{
		{"another site", http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}},
		{"a sibling origin of the same site", http.Header{"Origin": {"http://127.0.0.1:1"}, "Sec-Fetch-Site": {"same-site"}}},
		{"an older browser on another origin", http.Header{"Origin": {"http://evil.example"}}},
	}
	for _, tt := range refused {
		for _, path := range []string{"/api/auth/logout", "/api/auth/refresh"} {
			t.Run(path+" from "+tt.name+" is refused", func(t *testing.T) {
				r := e.do(t, req{method: "POST", path: path, header: tt.header, cookies: a.refreshCookie()})
				want(t, r, http.StatusForbidden)
				if findCookie(r.header, "qc_refresh") != nil {
					t.Fatal("a refused request changed the cookie")
				}
			})
		}
	}
	t.Run("a sign-in from another origin is refused", func(t *testing.T) {
		r := e.do(t, req{method: "POST", path: "/api/auth/login", header: refused[0].header, body: map[string]string{"email": a.email, "password": a.pass}})
		want(t, r, http.StatusForbidden)
	})
	allowed := []struct {
		name   string
		header http.Header
	}{
		{"the gateway's own origin", http.Header{"Origin": {e.srv.URL}, "Sec-Fetch-Site": {"same-origin"}}},
		{"a configured origin", http.Header{"Origin": {"https://app.example"}, "Sec-Fetch-Site": {"cross-site"}}},
		{"a client that is not a browser", nil},
	}
	for _, tt := range allowed {
		t.Run("a refresh from "+tt.name+" works", func(t *testing.T) {
			r := e.do(t, req{method: "POST", path: "/api/auth/refresh", header: tt.header, cookies: a.refreshCookie()})
			want(t, r, http.StatusOK)
			a.refreshToken = findCookie(r.header, "qc_refresh").Value
		})
	}
}
