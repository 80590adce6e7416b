package token

import (
	"crypto"
	"crypto/ecdsa"
	"encoding/base64"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Fingerprint identifies a signing key by its public half: the base64url SHA-256 JWK
// thumbprint (RFC 7638). It is also the key id ("kid") the Signer gives the key, so the
// JWKS a gateway publishes shows which keys it signs with.
func Fingerprint(pub *ecdsa.PublicKey) (string, error) {
	k, err := jwk.FromRaw(pub)
	if err != nil {
		return "", fmt.Errorf("token: fingerprint: %w", err)
	}
	sum, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("token: fingerprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// publishedKeys holds the fingerprint of every private key ever committed to the Quick
// Chat repository, with where it was committed. Anyone with a clone can sign tokens with
// these keys, so a gateway must never trust them (see Published). The entries stay after a
// file is deleted: the key remains in the history and in deployments copied from it.
// harness/deploycheck fails when a committed private key is missing here.
var publishedKeys = map[string]string{
	"KxbwSn0doWg_MX3_VXICaD0YtA3jV-OnJcylV15KThE": "k8s/base/signing-keys.example.pem, the example key docker-compose and the k8s base used until issue 13 (now services/gateway/testdata/published-example-key.pem)",
	"ZjDcU0uy8FYfRPqBKmgNgEn1Ur8ANZcZnPjWfeVo580": "pkg/token/testdata/fuzz-signing-key.pem, the key of FuzzVerify's seed corpus",
}

// Published reports whether pub is the public half of a private key committed to the Quick
// Chat repository and, if so, where it was committed.
func Published(pub *ecdsa.PublicKey) (where string, published bool) {
	fp, err := Fingerprint(pub)
	if err != nil {
		return "", false
	}
	where, published = publishedKeys[fp]
	return where, published
}
