package token

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/quickchat-go/quickchat/pkg/apperr"
)

// signClaims signs exactly the claims set builds, with s's signing key, so tests can make
// tokens the Signer never would: genuine signatures over claims that must still be refused.
func signClaims(t testing.TB, s *Signer, set func(*jwt.Builder) *jwt.Builder) string {
	t.Helper()
	now := time.Now()
	b := jwt.NewBuilder().Issuer(Issuer).IssuedAt(now).Expiration(now.Add(time.Minute)).JwtID(uuid.NewString())
	tok, err := set(b).Build()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, s.active))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// Regression: issue 13 (Info: an aud claim per token kind). Tokens named their kind only
// in the private "knd" claim and no verifier was told which kind it expected.
func TestEachVerifierAcceptsOnlyTheAudienceItExpects(t *testing.T) {
	s := newSigner(t, newKey(t))
	access, err := s.Sign(Claims{Subject: "u1", Kind: KindAccess}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	member, err := s.Sign(Claims{Subject: "m1", Kind: KindMember, GroupID: "g1"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	memberClaims := func(b *jwt.Builder) *jwt.Builder {
		return b.Subject("m1").Claim(claimKind, string(KindMember)).Claim(claimGroupID, "g1")
	}
	withoutAudience := signClaims(t, s, memberClaims)
	accessAudience := signClaims(t, s, func(b *jwt.Builder) *jwt.Builder {
		return memberClaims(b).Audience([]string{AudienceAccess})
	})
	bothAudiences := signClaims(t, s, func(b *jwt.Builder) *jwt.Builder {
		return memberClaims(b).Audience([]string{AudienceMember, AudienceAccess})
	})
	foreignAudience := signClaims(t, s, func(b *jwt.Builder) *jwt.Builder {
		return memberClaims(b).Audience([]string{"another-service"})
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	jwks := newJWKSServer(t, s)
	remoteMembers, err := NewRemoteVerifier(ctx, RemoteVerifierConfig{URL: jwks.srv.URL, Accept: []Kind{KindMember}})
	if err != nil {
		t.Fatal(err)
	}
	verifiers := []struct {
		name string
		v    Verifier
	}{
		{"static", NewStaticVerifier(s.PublicKeys(), KindMember)},
		{"remote", remoteMembers},
	}
	tests := []struct {
		name     string
		raw      string
		wantCode apperr.Code
	}{
		{"a member token is accepted where member tokens are expected", member, ""},
		{"an access token is forbidden where member tokens are expected", access, apperr.Forbidden},
		{"a member token without an audience is refused", withoutAudience, apperr.Unauthorized},
		{"a member token with the access audience is refused", accessAudience, apperr.Unauthorized},
		{"a token naming both audiences is refused", bothAudiences, apperr.Unauthorized},
		{"a token for another audience is refused", foreignAudience, apperr.Unauthorized},
	}
	for _, v := range verifiers {
		for _, tt := range tests {
			t.Run(v.name+": "+tt.name, func(t *testing.T) {
				c, err := v.v.Verify(ctx, tt.raw)
				if got := apperr.CodeOf(err); got != tt.wantCode {
					t.Fatalf("code = %q (%v), want %q", got, err, tt.wantCode)
				}
				if err == nil && (c.Kind != KindMember || c.GroupID != "g1") {
					t.Fatalf("claims = %+v", c)
				}
				if err != nil && c != (Claims{}) {
					t.Fatalf("a refusal came with claims %+v", c)
				}
			})
		}
	}

	t.Run("an access verifier refuses member tokens and accepts access tokens", func(t *testing.T) {
		v := NewStaticVerifier(s.PublicKeys(), KindAccess)
		if _, err := v.Verify(ctx, member); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("member token: err = %v, want forbidden", err)
		}
		if c, err := v.Verify(ctx, access); err != nil || c.Kind != KindAccess {
			t.Fatalf("access token: %+v, %v", c, err)
		}
	})
}

func TestSignedTokensNameTheAudienceOfTheirKind(t *testing.T) {
	s := newSigner(t, newKey(t))
	for _, c := range []Claims{{Subject: "u1", Kind: KindAccess}, {Subject: "m1", Kind: KindMember, GroupID: "g1"}} {
		raw, err := s.Sign(c, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.ParseString(raw, jwt.WithVerify(false))
		if err != nil {
			t.Fatal(err)
		}
		if aud := tok.Audience(); len(aud) != 1 || aud[0] != c.Kind.Audience() {
			t.Errorf("%s token: aud = %q, want [%q]", c.Kind, aud, c.Kind.Audience())
		}
	}
	if _, err := s.Sign(Claims{Subject: "r1", Kind: "refresh"}, time.Minute); err == nil {
		t.Error("a token of an unknown kind was signed")
	}
}
