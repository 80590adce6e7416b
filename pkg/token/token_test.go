package token

import (
	"context"
	"crypto/ecdsa"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/quickchat-go/quickchat/pkg/apperr"
)

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newSigner(t testing.TB, keys ...*ecdsa.PrivateKey) *Signer {
	t.Helper()
	s, err := NewSigner(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStaticVerifier(t *testing.T) {
	signer := newSigner(t, newKey(t))
	other := newSigner(t, newKey(t))
	v := NewStaticVerifier(signer.PublicKeys(), KindAccess, KindMember)
	member := Claims{Subject: "m1", Kind: KindMember, GroupID: "g1", Name: "Ada"}

	good, err := signer.Sign(member, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := other.Sign(member, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	past := newSigner(t, newKey(t))
	past.now = func() time.Time { return time.Now().Add(-time.Hour) }
	vPast := NewStaticVerifier(past.PublicKeys(), KindAccess, KindMember)
	expired, err := past.Sign(member, time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		v        Verifier
		raw      string
		wantCode apperr.Code
	}{
		{"a token from the signer verifies", v, good, ""},
		{"a token signed by another key is rejected", v, forged, apperr.Unauthorized},
		{"an expired token is rejected", vPast, expired, apperr.Unauthorized},
		{"garbage is rejected", v, "not.a.token", apperr.Unauthorized},
		{"an empty token is rejected", v, "", apperr.Unauthorized},
		{"a tampered payload is rejected", v, good[:len(good)-4] + "AAAA", apperr.Unauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.v.Verify(context.Background(), tt.raw)
			if got := apperr.CodeOf(err); got != tt.wantCode {
				t.Fatalf("code = %q (%v), want %q", got, err, tt.wantCode)
			}
			if err == nil && (c.Subject != "m1" || c.GroupID != "g1" || c.Kind != KindMember || c.Name != "Ada") {
				t.Fatalf("claims = %+v", c)
			}
		})
	}
}

func TestGuestClaimRoundTrips(t *testing.T) {
	signer := newSigner(t, newKey(t))
	v := NewStaticVerifier(signer.PublicKeys(), KindMember)
	tests := []struct {
		name   string
		claims Claims
	}{
		{"a guest's member token says guest", Claims{Subject: "m1", Kind: KindMember, GroupID: "g1", Name: "Eve", Guest: true}},
		{"an account's member token does not", Claims{Subject: "m2", Kind: KindMember, GroupID: "g1", UserID: "u1", Name: "Ada"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := signer.Sign(tt.claims, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			c, err := v.Verify(context.Background(), raw)
			if err != nil {
				t.Fatal(err)
			}
			if c.Guest != tt.claims.Guest || c.UserID != tt.claims.UserID || c.Name != tt.claims.Name {
				t.Fatalf("claims = %+v, want guest=%v uid=%q name=%q", c, tt.claims.Guest, tt.claims.UserID, tt.claims.Name)
			}
		})
	}
}

func TestOwnerClaimRoundTrips(t *testing.T) {
	signer := newSigner(t, newKey(t))
	v := NewStaticVerifier(signer.PublicKeys(), KindMember)
	tests := []struct {
		name      string
		claims    Claims
		wantClaim bool
	}{
		{"the owner's member token says owner", Claims{Subject: "m1", Kind: KindMember, GroupID: "g1", UserID: "u1", Name: "Ada", Owner: true}, true},
		{"another member's token does not, and carries no own claim at all", Claims{Subject: "m2", Kind: KindMember, GroupID: "g1", Name: "Eve", Guest: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := signer.Sign(tt.claims, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			c, err := v.Verify(context.Background(), raw)
			if err != nil {
				t.Fatal(err)
			}
			if c.Owner != tt.claims.Owner || c.Guest != tt.claims.Guest {
				t.Fatalf("claims = %+v, want owner=%v guest=%v", c, tt.claims.Owner, tt.claims.Guest)
			}
			tok, err := jwt.ParseString(raw, jwt.WithVerify(false))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := tok.Get(claimOwner); ok != tt.wantClaim {
				t.Fatalf("own claim present = %v, want %v", ok, tt.wantClaim)
			}
		})
	}
}

func TestSignRejectsIncompleteClaims(t *testing.T) {
	s := newSigner(t, newKey(t))
	for _, c := range []Claims{{Kind: KindAccess}, {Subject: "u"}, {Subject: "m", Kind: KindMember}} {
		if _, err := s.Sign(c, time.Minute); err == nil {
			t.Errorf("Sign(%+v) succeeded", c)
		}
	}
}

func TestPEMRoundTrip(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	p1, _ := EncodePEMKey(k1)
	p2, _ := EncodePEMKey(k2)
	keys, err := ParsePEMKeys(append(p1, p2...))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || !keys[0].Equal(k1) || !keys[1].Equal(k2) {
		t.Fatalf("keys did not round-trip in order")
	}
	if _, err := ParsePEMKeys([]byte("nothing here")); err == nil {
		t.Fatal("want error for data without keys")
	}
}

func TestSignAtBacksTheClock(t *testing.T) {
	s := newSigner(t, newKey(t))
	v := NewStaticVerifier(s.PublicKeys(), KindAccess, KindMember)
	claims := Claims{Subject: "u1", Kind: KindAccess}
	old, err := s.SignAt(claims, time.Now().Add(-time.Hour), 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), old); !apperr.Is(err, apperr.Unauthorized) {
		t.Fatalf("a token that expired 45 minutes ago: err = %v", err)
	}
	fresh, err := s.SignAt(claims, time.Now(), 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(context.Background(), fresh)
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Expiry.Sub(c.IssuedAt); d != 15*time.Minute {
		t.Fatalf("lifetime = %s", d)
	}
}
