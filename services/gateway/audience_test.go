package main

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/quickchat-go/quickchat/pkg/gatewayapi"
	"github.com/quickchat-go/quickchat/pkg/token"
)

// Regression: issue 13 (Info: an aud claim per token kind). Tokens said what they were
// only in the private "knd" claim, and nothing tied the kind to an audience: a token that
// named one kind's audience and claimed the other kind, or named no audience at all, was
// taken at its "knd". Here the tokens carry genuine signatures of the gateway's own key,
// so the audience is the only thing wrong with them.
func TestGatewayRoutesRefuseTokensWithoutTheAudienceOfTheirKind(t *testing.T) {
	key := mustKey(t)
	keyFile := filepath.Join(t.TempDir(), "keys.pem")
	writeKeys(t, keyFile, key)
	gw := startGateway(t, testConfig(t, keyFile))

	creds := gatewayapi.Credentials{Email: "owner@example.com", Password: "a long and careful password", Name: "Owner"}
	call(t, http.MethodPost, gw.url+"/api/auth/register", "", creds, nil, http.StatusAccepted, http.StatusCreated, http.StatusOK)
	var sess gatewayapi.Session
	call(t, http.MethodPost, gw.url+"/api/auth/login", "", creds, &sess, http.StatusOK)
	var g gatewayapi.Group
	call(t, http.MethodPost, gw.url+"/api/chat-group", sess.AccessToken,
		gatewayapi.NewGroup{Title: "Room", Passcode: "a passcode long enough for anyone"}, &g, http.StatusCreated, http.StatusOK)
	var joined gatewayapi.Membership
	call(t, http.MethodPost, gw.url+"/api/chat-group/"+g.ID+"/join", "",
		gatewayapi.JoinRequest{Name: "Guest", Passcode: "a passcode long enough for anyone"}, &joined, http.StatusOK)

	owner := func(b *jwt.Builder) *jwt.Builder {
		return b.Subject(sess.User.ID).Claim("knd", string(token.KindAccess))
	}
	guest := func(b *jwt.Builder) *jwt.Builder {
		return b.Subject(joined.Member.ID).Claim("knd", string(token.KindMember)).Claim("grp", g.ID)
	}
	withAudience := func(claims func(*jwt.Builder) *jwt.Builder, aud ...string) func(*jwt.Builder) *jwt.Builder {
		return func(b *jwt.Builder) *jwt.Builder { return claims(b).Audience(aud) }
	}
	mine := gw.url + "/api/chat-group"                         // needs an access token
	members := gw.url + "/api/chat-group/" + g.ID + "/members" // a member token will do
	tests := []struct {
		name   string
		url    string
		bearer string
		want   int
	}{
		{"the owner's genuine access token lists their groups", mine, sess.AccessToken, http.StatusOK},
		{"the guest's genuine member token lists the members", members, joined.Token, http.StatusOK},
		{"an access token with the member audience is refused", mine, forge(t, key, withAudience(owner, token.AudienceMember)), http.StatusUnauthorized},
		{"an access token without an audience is refused", mine, forge(t, key, owner), http.StatusUnauthorized},
		{"a member token with the access audience is refused", members, forge(t, key, withAudience(guest, token.AudienceAccess)), http.StatusUnauthorized},
		{"a member token without an audience is refused", members, forge(t, key, guest), http.StatusUnauthorized},
		{"a member token is refused where an account is required", mine, joined.Token, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call(t, http.MethodGet, tt.url, tt.bearer, nil, nil, tt.want)
		})
	}
}

// forge signs the claims set builds with key as the gateway would (its key id, ES256,
// issuer and lifetime), but without the gateway's rules about which claims go together.
func forge(t testing.TB, key *ecdsa.PrivateKey, set func(*jwt.Builder) *jwt.Builder) string {
	t.Helper()
	jk, err := jwk.FromRaw(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := jwk.AssignKeyID(jk); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := set(jwt.NewBuilder().Issuer(token.Issuer).IssuedAt(now).Expiration(now.Add(5 * time.Minute)).JwtID(uuid.NewString())).Build()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, jk))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// call makes one JSON request and fails the test unless the status is one of want; out,
// if not nil, receives the JSON answer.
func call(t testing.TB, method, url, bearer string, body, out any, want ...int) {
	t.Helper()
	var rd bytes.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd.Reset(data)
	}
	r, err := http.NewRequest(method, url, &rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got bytes.Buffer
	_, _ = got.ReadFrom(resp.Body)
	ok := false
	for _, w := range want {
		ok = ok || resp.StatusCode == w
	}
	if !ok {
		t.Fatalf("%s %s: %d %s; want %v", method, url, resp.StatusCode, got.String(), want)
	}
	if out != nil {
		if err := json.Unmarshal(got.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, got.String())
		}
	}
}
