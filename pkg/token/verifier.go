package token

import (
	"context"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/quickchat-go/quickchat/pkg/apperr"
)

// Verifier checks a token's signature and validity and returns its claims. Failures are
// apperr.Unauthorized.
type Verifier interface {
	Verify(ctx context.Context, raw string) (Claims, error)
}

var _ Verifier = (*StaticVerifier)(nil)

// clockSkew is how far verifier and signer clocks may disagree.
const clockSkew = 30 * time.Second

// StaticVerifier verifies against a fixed set of public keys.
type StaticVerifier struct {
	keys jwk.Set
}

// NewStaticVerifier returns a verifier that trusts exactly keys.
func NewStaticVerifier(keys jwk.Set) *StaticVerifier { return &StaticVerifier{keys: keys} }

// Verify implements Verifier.
func (v *StaticVerifier) Verify(_ context.Context, raw string) (Claims, error) {
	return parse(raw, v.keys)
}

func parse(raw string, keys jwk.Set) (Claims, error) {
	if raw == "" {
		return Claims{}, apperr.New(apperr.Unauthorized, "token missing")
	}
	tok, err := jwt.ParseString(raw,
		jwt.WithKeySet(keys, jwsRequireKid()),
		jwt.WithValidate(true),
		jwt.WithIssuer(Issuer),
		jwt.WithAcceptableSkew(clockSkew),
	)
	if err != nil {
		return Claims{}, apperr.Wrap(err, apperr.Unauthorized, "token invalid or expired")
	}
	c := Claims{
		Subject:  tok.Subject(),
		IssuedAt: tok.IssuedAt(),
		Expiry:   tok.Expiration(),
		ID:       tok.JwtID(),
	}
	c.Kind = Kind(stringClaim(tok, claimKind))
	c.GroupID = stringClaim(tok, claimGroupID)
	c.UserID = stringClaim(tok, claimUserID)
	c.Name = stringClaim(tok, claimName)
	switch {
	case c.Subject == "":
		return Claims{}, apperr.New(apperr.Unauthorized, "token has no subject")
	case c.Kind != KindAccess && c.Kind != KindMember:
		return Claims{}, apperr.New(apperr.Unauthorized, "token of unknown kind")
	case c.Kind == KindMember && c.GroupID == "":
		return Claims{}, apperr.New(apperr.Unauthorized, "member token without group")
	case c.Expiry.IsZero():
		return Claims{}, apperr.New(apperr.Unauthorized, "token without expiry")
	}
	return c, nil
}

func stringClaim(tok jwt.Token, name string) string {
	v, ok := tok.Get(name)
	if !ok {
		return ""
	}
	s, _ := v.(string)
	return s
}
