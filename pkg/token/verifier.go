package token

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/quickchat-go/quickchat/pkg/apperr"
)

// Verifier checks a token's signature and validity and returns its claims. Failures are
// apperr.Unauthorized, except that a valid token of a kind the verifier does not accept is
// apperr.Forbidden.
type Verifier interface {
	Verify(ctx context.Context, raw string) (Claims, error)
}

var _ Verifier = (*StaticVerifier)(nil)

// clockSkew is how far verifier and signer clocks may disagree.
const clockSkew = 30 * time.Second

// StaticVerifier verifies against a fixed set of public keys.
type StaticVerifier struct {
	keys   jwk.Set
	accept []Kind
}

// NewStaticVerifier returns a verifier that trusts exactly keys and accepts tokens of the
// kinds given (see Kind.Audience); a valid token of another kind is Forbidden.
func NewStaticVerifier(keys jwk.Set, accept Kind, more ...Kind) *StaticVerifier {
	return &StaticVerifier{keys: keys, accept: append([]Kind{accept}, more...)}
}

// Verify implements Verifier.
func (v *StaticVerifier) Verify(_ context.Context, raw string) (Claims, error) {
	return parse(raw, v.keys, v.accept)
}

// parse verifies raw against keys and returns its claims if it is a valid token of one of
// the accepted kinds. A token must name its audience, exactly one, and the audience must be
// that of the kind it claims: the audience, not the kind claim alone, decides what a token
// may be used for.
func parse(raw string, keys jwk.Set, accept []Kind) (Claims, error) {
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
	c.Guest = boolClaim(tok, claimGuest)
	c.Owner = boolClaim(tok, claimOwner)
	if c.Kind == KindAttachment {
		f, err := fileClaim(tok)
		if err != nil {
			return Claims{}, apperr.Wrap(err, apperr.Unauthorized, "attachment token with a malformed file")
		}
		c.File = f
	}
	switch {
	case c.Subject == "":
		return Claims{}, apperr.New(apperr.Unauthorized, "token has no subject")
	case c.Kind.Audience() == "":
		return Claims{}, apperr.New(apperr.Unauthorized, "token of unknown kind")
	case (c.Kind == KindMember || c.Kind == KindAttachment) && c.GroupID == "":
		return Claims{}, apperr.New(apperr.Unauthorized, "%s token without group", c.Kind)
	case c.Kind == KindAttachment && (c.File == nil || c.File.Uploader == ""):
		return Claims{}, apperr.New(apperr.Unauthorized, "attachment token without its file")
	case c.Expiry.IsZero():
		return Claims{}, apperr.New(apperr.Unauthorized, "token without expiry")
	}
	aud := tok.Audience()
	if len(aud) != 1 {
		return Claims{}, apperr.New(apperr.Unauthorized, "token must name exactly one audience")
	}
	if kind, ok := kindOfAudience(aud[0]); !ok || kind != c.Kind {
		return Claims{}, apperr.New(apperr.Unauthorized, "token audience does not match its kind")
	}
	if !slices.Contains(accept, c.Kind) {
		return Claims{}, apperr.New(apperr.Forbidden, "%s tokens cannot be used here", c.Kind)
	}
	return c, nil
}

// fileClaim reads the file of an attachment token; the JSON parser hands an object claim
// over as a map, which goes back through JSON into File.
func fileClaim(tok jwt.Token) (*File, error) {
	v, ok := tok.Get(claimFile)
	if !ok {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("token: file claim: %w", err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("token: file claim: %w", err)
	}
	return &f, nil
}

func stringClaim(tok jwt.Token, name string) string {
	v, ok := tok.Get(name)
	if !ok {
		return ""
	}
	s, _ := v.(string)
	return s
}

func boolClaim(tok jwt.Token, name string) bool {
	v, ok := tok.Get(name)
	if !ok {
		return false
	}
	b, _ := v.(bool)
	return b
}
