package token

import (
	"context"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/quickchat-go/quickchat/pkg/apperr"
)

// fuzzKeyFile is a signing key used only by FuzzVerify, committed so that the valid
// tokens in the seed corpus (testdata/fuzz/FuzzVerify) verify on every run.
const fuzzKeyFile = "testdata/fuzz-signing-key.pem"

// fuzzSigned are the claims of every token the fuzz key has signed, by subject: a token
// that verifies must carry exactly one of these claim sets, or the fuzzer forged one.
var fuzzSigned = map[string]Claims{
	"fuzz-access-1": {Subject: "fuzz-access-1", Kind: KindAccess, Name: "Ada"},
	"fuzz-member-1": {Subject: "fuzz-member-1", Kind: KindMember, GroupID: "0b9d7a0e-6a3e-4c55-9a47-6a1f3b7b8c11",
		UserID: "6f1c2d3e-0000-4000-8000-000000000001", Name: "<b>Grace</b>"},
}

// FuzzVerify feeds arbitrary strings to the verifiers the realtime service and the gateway
// run on every bearer token and member token they are handed. No input may panic them,
// every refusal must be an Unauthorized error, and a token may verify only if the fuzz key
// signed exactly its claims; the JWKS-backed verifier must agree with the static one.
func FuzzVerify(f *testing.F) {
	pemData, err := os.ReadFile(fuzzKeyFile)
	if err != nil {
		f.Fatal(err)
	}
	keys, err := ParsePEMKeys(pemData)
	if err != nil {
		f.Fatal(err)
	}
	signer, err := NewSigner(keys...)
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range fuzzSigned {
		for _, ttl := range []time.Duration{time.Hour, -time.Hour} {
			now := time.Now()
			if ttl < 0 { // already expired
				now, ttl = now.Add(-2*time.Hour), -ttl
			}
			raw, err := signer.SignAt(c, now, ttl)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(raw)
		}
	}
	f.Add("")
	f.Add("a.b.c")

	jwks := httptest.NewServer(signer.JWKSHandler())
	f.Cleanup(jwks.Close)
	ctx, cancel := context.WithCancel(context.Background())
	f.Cleanup(cancel)
	remote, err := NewRemoteVerifier(ctx, RemoteVerifierConfig{URL: jwks.URL, Accept: []Kind{KindAccess, KindMember}, MinRefresh: time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	static := NewStaticVerifier(signer.PublicKeys(), KindAccess, KindMember)

	f.Fuzz(func(t *testing.T, raw string) {
		got, err := static.Verify(ctx, raw)
		rgot, rerr := remote.Verify(ctx, raw)
		if (err == nil) != (rerr == nil) || got != rgot {
			t.Fatalf("verifiers disagree on %q:\nstatic %+v, %v\nremote %+v, %v", raw, got, err, rgot, rerr)
		}
		if err != nil {
			if !apperr.Is(err, apperr.Unauthorized) || !apperr.Is(rerr, apperr.Unauthorized) {
				t.Fatalf("refusal is not Unauthorized: static %v, remote %v", err, rerr)
			}
			if got != (Claims{}) {
				t.Fatalf("refusal came with claims %+v", got)
			}
			return
		}
		want, ok := fuzzSigned[got.Subject]
		if !ok || got.Kind != want.Kind || got.GroupID != want.GroupID || got.UserID != want.UserID || got.Name != want.Name {
			t.Fatalf("forged claims verified: %+v from %q", got, raw)
		}
		if now := time.Now(); !got.Expiry.After(now.Add(-clockSkew)) || got.IssuedAt.After(now.Add(clockSkew)) {
			t.Fatalf("token outside its validity verified: %+v", got)
		}
	})
}
