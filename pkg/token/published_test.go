package token

import (
	"os"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
)

func TestFingerprintIsTheKeyIDTheSignerPublishes(t *testing.T) {
	k := newKey(t)
	s := newSigner(t, k)
	raw, err := s.Sign(Claims{Subject: "u1", Kind: KindAccess}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := jws.ParseString(raw)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := Fingerprint(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if kid := msg.Signatures()[0].ProtectedHeaders().KeyID(); kid != fp {
		t.Fatalf("kid %q, fingerprint %q", kid, fp)
	}
}

func TestPublishedKnowsTheCommittedKeysOnly(t *testing.T) {
	data, err := os.ReadFile(fuzzKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ParsePEMKeys(data)
	if err != nil {
		t.Fatal(err)
	}
	if where, ok := Published(&keys[0].PublicKey); !ok || where == "" {
		t.Errorf("the committed fuzz key is not published: %q, %v", where, ok)
	}
	if where, ok := Published(&newKey(t).PublicKey); ok {
		t.Errorf("a fresh key counts as published at %q", where)
	}
}
