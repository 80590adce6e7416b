package main

import (
	"crypto/ecdsa"
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

// withKey gives the bundle a gateway stand-in whose private key the test holds, so it can
// sign claims the gateway never would; the JWKS is served over TLS when tls is set.
func (b *bundle) withKey(t *testing.T, tls bool) (*ecdsa.PrivateKey, *httptest.Server) {
	t.Helper()
	key, err := token.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if b.signer, err = token.NewSigner(key); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(b.signer.JWKSHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	b.jwksURL = srv.URL + "/.well-known/jwks.json"
	return key, srv
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

// Regression: issue 13 (Info: an aud claim per token kind). Realtime took a token's kind
// from the private "knd" claim alone: a token naming the access audience, or none at all,
// joined a room as long as it said "knd": "member". The tokens here carry genuine
// signatures, so their audience is the only thing wrong with them.
func TestJoinRefusesTokensWithoutTheMemberAudience(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key, _ := b.withKey(t, false)
	inst := b.start(t, nil)
	group := uuid.NewString()
	memberClaims := func(b *jwt.Builder) *jwt.Builder {
		return b.Subject(uuid.NewString()).Claim("knd", string(token.KindMember)).Claim("grp", group).Claim("name", "Mallory")
	}
	withAudience := func(aud ...string) func(*jwt.Builder) *jwt.Builder {
		return func(b *jwt.Builder) *jwt.Builder { return memberClaims(b).Audience(aud) }
	}
	tests := []struct {
		name     string
		token    string
		wantCode string // "" for a join that succeeds
	}{
		{"a member token from the gateway joins", b.member(t, group, "Ada").token, ""},
		{"a member token with the access audience is refused", forge(t, key, withAudience(token.AudienceAccess)), wire.CodeUnauthorized},
		{"a member token without an audience is refused", forge(t, key, memberClaims), wire.CodeUnauthorized},
		{"a member token naming both audiences is refused", forge(t, key, withAudience(token.AudienceMember, token.AudienceAccess)), wire.CodeUnauthorized},
		{"an access token from the gateway is forbidden", accessToken(t, b), wire.CodeForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, inst.url())
			ref := c.ref()
			c.write(wire.ClientFrame{Head: wire.Head{Type: wire.TypeJoin, Ref: ref, GroupID: group}, Token: tt.token})
			f := c.reply(ref)
			switch {
			case tt.wantCode == "" && f.Type != wire.TypeJoined:
				t.Fatalf("join got %s %s (%s), want joined", f.Type, f.Code, f.Detail)
			case tt.wantCode != "" && (f.Type != wire.TypeError || f.Code != tt.wantCode):
				t.Fatalf("join got %s %s (%s), want error %s", f.Type, f.Code, f.Detail, tt.wantCode)
			}
		})
	}
}

// TestJWKSOverHTTPSFromAPrivateCA: with REALTIME_JWKS_CA_FILE naming the CA of the
// gateway's certificate, realtime fetches the keys over https; without it, the same
// certificate is not trusted and joins are answered "unavailable", never accepted.
func TestJWKSOverHTTPSFromAPrivateCA(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, srv := b.withKey(t, true)
	caFile := filepath.Join(t.TempDir(), "gateway-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	group := uuid.NewString()
	m := b.member(t, group, "Ada")

	trusting := b.start(t, func(c *Config) { c.JWKSCAFile = caFile })
	dial(t, trusting.url()).join(group, m, nil)

	doubting := b.start(t, nil)
	c := dial(t, doubting.url())
	ref := c.ref()
	c.write(wire.ClientFrame{Head: wire.Head{Type: wire.TypeJoin, Ref: ref, GroupID: group}, Token: m.token})
	if f := c.reply(ref); f.Type != wire.TypeError || f.Code != wire.CodeUnavailable {
		t.Fatalf("join without the CA got %s %s (%s), want error %s", f.Type, f.Code, f.Detail, wire.CodeUnavailable)
	}
}

func TestConfigReadsTheJWKSCAFileAndWantsHTTPSWithIt(t *testing.T) {
	tests := []struct {
		name string
		url  string
		ok   bool
	}{
		{"a CA file with an https JWKS URL is accepted", "https://gateway:8443/.well-known/jwks.json", true},
		{"a CA file with a plain-HTTP JWKS URL is refused", "http://gateway:8080/.well-known/jwks.json", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("REALTIME_JWKS_URL", tt.url)
			t.Setenv("REALTIME_JWKS_CA_FILE", "/etc/quickchat/gateway-ca.pem")
			cfg, err := loadConfig()
			if (err == nil) != tt.ok {
				t.Fatalf("loadConfig = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && cfg.JWKSCAFile != "/etc/quickchat/gateway-ca.pem" {
				t.Fatalf("JWKSCAFile = %q", cfg.JWKSCAFile)
			}
		})
	}
}
