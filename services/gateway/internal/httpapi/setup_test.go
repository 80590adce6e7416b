package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/rueidis"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
	"github.com/quickchat-go/quickchat/pkg/clientip"
	"github.com/quickchat-go/quickchat/pkg/roomredis"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/services/gateway/internal/app"
	"github.com/quickchat-go/quickchat/services/gateway/internal/httpapi"
	"github.com/quickchat-go/quickchat/services/gateway/internal/oidclogin"
	"github.com/quickchat-go/quickchat/services/gateway/internal/oidctest"
	"github.com/quickchat-go/quickchat/services/gateway/internal/password"
	"github.com/quickchat-go/quickchat/services/gateway/internal/ratelimit"
	"github.com/quickchat-go/quickchat/services/gateway/internal/session"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// env is a gateway API on a real PostgreSQL database of its own.
type env struct {
	srv    *httptest.Server
	api    *httpapi.Server
	st     *store.Store
	key    *ecdsa.PrivateKey
	signer *token.Signer
	oidc   *oidctest.Provider
	// revoker records the memberships the API ended (unless the env uses real Redis);
	// presence says who is online.
	revoker  *recordingRevoker
	presence *fakePresence

	mu sync.Mutex
	// secrets are passwords and passcodes that no response may ever contain.
	secrets []string
}

type options struct {
	limits  app.Limits
	trusted []netip.Prefix
	oidc    bool
	origins []string
	session session.Config
	// rooms, when set, revokes and reads presence in real Redis instead of the fakes.
	rooms *roomsInRedis
	// files, when set, configures attachments (attachments_test.go).
	files func(t testing.TB, e *env, app *app.Deps, api *httpapi.Deps)
}

// roomsInRedis is realtime's Redis for an env: the roomredis revoker and presence over
// one test's key prefix.
type roomsInRedis struct {
	client   rueidis.Client
	layout   roomredis.Layout
	revoker  *roomredis.Revoker
	presence *roomredis.Presence
}

// generous limits keep tests that are not about abuse limits from tripping them.
var generous = app.Limits{
	PasscodePerIP: ratelimit.Rule{Limit: 10000, Per: time.Minute}, PasscodePerGroup: ratelimit.Rule{Limit: 10000, Per: time.Minute},
	LoginPerIP: ratelimit.Rule{Limit: 10000, Per: time.Minute}, LoginPerAccount: ratelimit.Rule{Limit: 10000, Per: time.Minute},
	LoginPerAccountAddress: ratelimit.Rule{Limit: 10000, Per: time.Minute}, OIDCStartPerIP: ratelimit.Rule{Limit: 10000, Per: time.Minute},
	GroupCreatePerAccount: ratelimit.Rule{Limit: 10000, Per: time.Minute}, PasscodeChangePerAccount: ratelimit.Rule{Limit: 10000, Per: time.Minute},
}

func withLimits(l app.Limits) func(*options) { return func(o *options) { o.limits = l } }
func withTrustedProxies(p ...string) func(*options) {
	return func(o *options) { o.trusted = mustPrefixes(p) }
}
func withOIDC() func(*options) { return func(o *options) { o.oidc = true } }
func withAllowedOrigins(origins ...string) func(*options) {
	return func(o *options) { o.origins = origins }
}
func withSessions(c session.Config) func(*options) { return func(o *options) { o.session = c } }

// withRedis ends memberships in real Redis (the stack's, under a key prefix of the test's
// own) through pkg/roomredis, as the gateway does; it skips with -short.
func withRedis(t testing.TB, rooms **roomsInRedis) func(*options) {
	t.Helper()
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{testenv.RedisAddr(t)}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	r := &roomsInRedis{client: client, layout: roomredis.Layout{Prefix: testenv.KeyPrefix(t), Shards: 4}}
	if r.revoker, err = roomredis.NewRevoker(client, r.layout); err != nil {
		t.Fatal(err)
	}
	if r.presence, err = roomredis.NewPresence(client, r.layout); err != nil {
		t.Fatal(err)
	}
	*rooms = r
	return func(o *options) { o.rooms = r }
}

// recordingRevoker records every revocation, like realtime would see them; fail makes it
// fail like an unreachable Redis.
type recordingRevoker struct {
	mu    sync.Mutex
	calls []revocation
	fail  bool
}

// revocation is one call of Revoke.
type revocation struct {
	room    string
	members []string
	reason  string
}

func (r *recordingRevoker) Revoke(_ context.Context, room string, members []string, reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("redis: connection refused")
	}
	r.calls = append(r.calls, revocation{room: room, members: slices.Clone(members), reason: reason})
	return nil
}

func (r *recordingRevoker) setFail(fail bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = fail
}

// revoked returns the member ids revoked in room for reason, sorted.
func (r *recordingRevoker) revoked(room uuid.UUID, reason string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.calls {
		if c.room == room.String() && c.reason == reason {
			out = append(out, c.members...)
		}
	}
	slices.Sort(out)
	return out
}

// fakePresence says nobody is online unless told otherwise.
type fakePresence struct {
	mu     sync.Mutex
	online map[string]bool
}

func (p *fakePresence) Online(context.Context, string) (map[string]bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.online), nil
}

func (p *fakePresence) set(online ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.online = map[string]bool{}
	for _, m := range online {
		p.online[m] = true
	}
}

func mustPrefixes(p []string) []netip.Prefix {
	out, err := clientip.ParsePrefixes(p)
	if err != nil {
		panic(err)
	}
	return out
}

// setup starts the API over a fresh, migrated database.
func setup(t testing.TB, opts ...func(*options)) *env {
	t.Helper()
	o := options{limits: generous, session: session.Config{AccessTTL: 15 * time.Minute, RefreshTTL: 24 * time.Hour}}
	for _, f := range opts {
		f(&o)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{URL: testenv.PostgresURL(t), MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	key, err := token.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := token.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, key: key, signer: signer, revoker: &recordingRevoker{}, presence: &fakePresence{}}
	appDeps := app.Deps{
		Users: st, Addresses: st, OIDCLogins: st, Groups: st, Members: st, Bans: st, Messages: st,
		Revoker: e.revoker, Presence: e.presence, MembershipMaxAge: 720 * time.Hour,
		Sessions: session.New(st, signer, o.session),
		// The cheapest argon2id settings: tests check behaviour, not hashing cost.
		Hasher:  password.NewHasher(password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}),
		Limiter: ratelimit.New(st), Limits: o.limits,
		Tokens: signer, MemberTokenTTL: 15 * time.Minute,
	}
	deps := httpapi.Deps{
		Signer:   signer,
		ClientIP: clientip.New(o.trusted),
		Log:      zap.NewNop(), RealtimeURL: "ws://realtime.test/ws", PostLoginURL: "/app", MaxBodyBytes: 4096,
		AllowedOrigins: o.origins,
	}
	if o.rooms != nil {
		appDeps.Revoker, appDeps.Presence = o.rooms.revoker, o.rooms.presence
	}
	if o.oidc {
		e.oidc = oidctest.Start(t, "quickchat", "client-secret")
	}
	// The handler is built after the server so the OIDC redirect URL can name its address.
	var handler http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	if o.oidc {
		c, err := oidclogin.New(oidclogin.Config{
			Issuer: e.oidc.Issuer, ClientID: e.oidc.ClientID, ClientSecret: e.oidc.ClientSecret,
			RedirectURL: e.srv.URL + "/api/auth/oidc/callback",
		})
		if err != nil {
			t.Fatal(err)
		}
		appDeps.OIDC = c
	}
	if o.files != nil {
		o.files(t, e, &appDeps, &deps)
	}
	deps.App = app.New(appDeps)
	e.api = httpapi.NewServer(deps)
	handler = e.api
	return e
}

// remember adds secrets that must never appear in a response.
func (e *env) remember(secrets ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.secrets = append(e.secrets, secrets...)
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// decode parses the JSON body into v.
func (r *response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorCode returns the code of a JSON error body, failing if the body is not one.
func (r *response) errorCode(t testing.TB) string {
	t.Helper()
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	r.decode(t, &b)
	if b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf("not an error body: %s", r.body)
	}
	return b.Error.Code
}

// req describes one request.
type req struct {
	method, path string
	bearer       string
	body         any // marshalled as JSON unless it is a string (sent as is)
	header       http.Header
	cookies      []*http.Cookie
}

// do sends r and checks that the response leaks no secret and no password hash.
func (e *env) do(t testing.TB, r req) *response {
	t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(data)
	}
	hr, err := http.NewRequest(r.method, e.srv.URL+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range r.header {
		hr.Header[k] = vs
	}
	if r.bearer != "" {
		hr.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	for _, c := range r.cookies {
		hr.AddCookie(c)
	}
	resp, err := noRedirects.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	e.assertNoSecrets(t, r, data)
	return &response{status: resp.StatusCode, header: resp.Header, body: data}
}

func (e *env) assertNoSecrets(t testing.TB, r req, body []byte) {
	t.Helper()
	if bytes.Contains(body, []byte("$argon2")) {
		t.Fatalf("%s %s: response contains a password hash: %s", r.method, r.path, body)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.secrets {
		if bytes.Contains(body, []byte(s)) {
			t.Fatalf("%s %s: response contains the secret %q: %s", r.method, r.path, s, body)
		}
	}
}

var noRedirects = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// want fails unless the response has the given status.
func want(t testing.TB, r *response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
}

// account is a registered user with a live session.
type account struct {
	id           uuid.UUID
	email, pass  string
	name         string
	access       string
	refreshToken string
}

var seq struct {
	sync.Mutex
	n int
}

func next() int {
	seq.Lock()
	defer seq.Unlock()
	seq.n++
	return seq.n
}

// register creates an account with unique email and password and signs it in.
func (e *env) register(t testing.TB, name string) account {
	t.Helper()
	n := next()
	a := account{email: fmt.Sprintf("user%d@example.test", n), pass: fmt.Sprintf("pw-secret-%d-%s", n, uuid.NewString()[:8]), name: name}
	e.remember(a.pass)
	r := e.do(t, req{method: "POST", path: "/api/auth/register", body: map[string]string{"email": a.email, "password": a.pass, "name": name}})
	want(t, r, http.StatusAccepted)
	e.login(t, &a)
	return a
}

// login signs a in with its password, keeping the access token and the refresh cookie.
func (e *env) login(t testing.TB, a *account) {
	t.Helper()
	r := e.do(t, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": a.email, "password": a.pass}})
	want(t, r, http.StatusOK)
	var s sessionBody
	r.decode(t, &s)
	c := findCookie(r.header, "qc_refresh")
	if s.RefreshToken != "" || c == nil || c.Value == "" {
		t.Fatalf("the refresh token came in the body (%q) or not in the cookie (%+v)", s.RefreshToken, c)
	}
	a.id, a.access, a.refreshToken = s.User.ID, s.AccessToken, c.Value
}

// refreshCookie is a's refresh token as the browser sends it back.
func (a account) refreshCookie() []*http.Cookie {
	return []*http.Cookie{{Name: "qc_refresh", Value: a.refreshToken}}
}

type sessionBody struct {
	User struct {
		ID    uuid.UUID `json:"id"`
		Email string    `json:"email"`
		Name  string    `json:"name"`
	} `json:"user"`
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

type groupBody struct {
	ID      uuid.UUID `json:"id"`
	Title   string    `json:"title"`
	OwnerID uuid.UUID `json:"owner_id"`
}

// group is a created group with its passcode.
type group struct {
	groupBody
	passcode string
}

// createGroup creates a group owned by owner with a unique title and passcode.
func (e *env) createGroup(t testing.TB, owner account, title string) group {
	t.Helper()
	g := group{passcode: fmt.Sprintf("code-%d-%s", next(), uuid.NewString()[:8])}
	e.remember(g.passcode)
	r := e.do(t, req{method: "POST", path: "/api/chat-group", bearer: owner.access, body: map[string]string{"title": title, "passcode": g.passcode}})
	want(t, r, http.StatusCreated)
	r.decode(t, &g.groupBody)
	return g
}

type joinBody struct {
	Group  groupBody `json:"group"`
	Member struct {
		ID          uuid.UUID `json:"id"`
		DisplayName string    `json:"display_name"`
		IsGuest     bool      `json:"is_guest"`
	} `json:"member"`
	Token       string `json:"token"`
	ExpiresIn   int    `json:"expires_in"`
	RealtimeURL string `json:"realtime_url"`
	Guest       bool   `json:"guest"`
	GuestKey    string `json:"guest_key"`
}

// join joins g as name, with the bearer token of an account or as a guest (bearer "").
func (e *env) join(t testing.TB, g group, name, bearer string) joinBody {
	t.Helper()
	r := e.do(t, req{method: "POST", path: "/api/chat-group/" + g.ID.String() + "/join", bearer: bearer, body: map[string]string{"name": name, "passcode": g.passcode}})
	want(t, r, http.StatusOK)
	var j joinBody
	r.decode(t, &j)
	return j
}

// verify checks a gateway token with the gateway's public keys only.
func (e *env) verify(t testing.TB, raw string) token.Claims {
	t.Helper()
	c, err := token.NewStaticVerifier(e.signer.PublicKeys(), token.KindAccess, token.KindMember).Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("verify token: %v", err)
	}
	return c
}

type limitsEdit = app.Limits

// withRules returns base changed by edit.
func withRules(base app.Limits, edit func(*limitsEdit)) app.Limits {
	edit(&base)
	return base
}
