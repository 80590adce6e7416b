package token

import (
	"github.com/lestrrat-go/jwx/v2/jws"
)

// jwsRequireKid makes key selection strict: a token must name its key id, and only a key
// with that id and a matching algorithm may verify it.
func jwsRequireKid() jws.WithKeySetSuboption {
	return jws.WithRequireKid(true)
}

// keyID returns the "kid" header of a compact JWS without verifying it.
func keyID(raw string) (string, bool) {
	msg, err := jws.ParseString(raw)
	if err != nil || len(msg.Signatures()) == 0 {
		return "", false
	}
	kid := msg.Signatures()[0].ProtectedHeaders().KeyID()
	return kid, kid != ""
}
