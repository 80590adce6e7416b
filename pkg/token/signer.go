package token

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// Signer signs tokens with the newest of its keys and publishes the public half of all.
type Signer struct {
	active jwk.Key
	public jwk.Set
	now    func() time.Time
}

// NewSigner returns a Signer over private ES256 keys. keys[0] signs; every key is published
// in the JWKS so tokens signed by older keys verify until they expire.
func NewSigner(keys ...*ecdsa.PrivateKey) (*Signer, error) {
	if len(keys) == 0 {
		return nil, errors.New("token: signer needs at least one key")
	}
	public := jwk.NewSet()
	var active jwk.Key
	for i, k := range keys {
		priv, err := jwk.FromRaw(k)
		if err != nil {
			return nil, fmt.Errorf("token: import key %d: %w", i, err)
		}
		if err := jwk.AssignKeyID(priv); err != nil {
			return nil, fmt.Errorf("token: key id for key %d: %w", i, err)
		}
		if err := priv.Set(jwk.AlgorithmKey, jwa.ES256); err != nil {
			return nil, fmt.Errorf("token: set alg: %w", err)
		}
		pub, err := priv.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("token: public key %d: %w", i, err)
		}
		if err := pub.Set(jwk.KeyUsageKey, jwk.ForSignature); err != nil {
			return nil, fmt.Errorf("token: set use: %w", err)
		}
		if err := public.AddKey(pub); err != nil {
			return nil, fmt.Errorf("token: add key %d: %w", i, err)
		}
		if i == 0 {
			active = priv
		}
	}
	return &Signer{active: active, public: public, now: time.Now}, nil
}

// GenerateKey returns a fresh P-256 key for ES256.
func GenerateKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("token: generate key: %w", err)
	}
	return k, nil
}

// ParsePEMKeys reads every EC private key ("EC PRIVATE KEY" or PKCS#8 "PRIVATE KEY") from
// PEM data, in order.
func ParsePEMKeys(data []byte) ([]*ecdsa.PrivateKey, error) {
	var keys []*ecdsa.PrivateKey
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		switch block.Type {
		case "EC PRIVATE KEY":
			k, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("token: parse EC key %d: %w", len(keys), err)
			}
			keys = append(keys, k)
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("token: parse PKCS#8 key %d: %w", len(keys), err)
			}
			ec, ok := k.(*ecdsa.PrivateKey)
			if !ok || ec.Curve != elliptic.P256() {
				return nil, fmt.Errorf("token: key %d is not a P-256 EC key", len(keys))
			}
			keys = append(keys, ec)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("token: no EC private key found in PEM data")
	}
	return keys, nil
}

// EncodePEMKey encodes a key as a PKCS#8 PEM block.
func EncodePEMKey(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("token: encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Sign returns a compact JWS for c valid for ttl from now. Subject, Kind and ttl are required.
func (s *Signer) Sign(c Claims, ttl time.Duration) (string, error) {
	return s.SignAt(c, s.now(), ttl)
}

// SignAt is Sign as if the clock read now. Tests use it to make tokens that have already
// expired; everything else calls Sign.
func (s *Signer) SignAt(c Claims, now time.Time, ttl time.Duration) (string, error) {
	if c.Subject == "" || c.Kind == "" || ttl <= 0 {
		return "", errors.New("token: subject, kind and a positive ttl are required")
	}
	if c.Kind.Audience() == "" {
		return "", fmt.Errorf("token: unknown kind %q", c.Kind)
	}
	if (c.Kind == KindMember || c.Kind == KindAttachment) && c.GroupID == "" {
		return "", fmt.Errorf("token: %s tokens need a group id", c.Kind)
	}
	if (c.Kind == KindAttachment) != (c.File != nil) || (c.File != nil && c.File.Uploader == "") {
		return "", errors.New("token: attachment tokens, and only they, carry a file with its uploader")
	}
	b := jwt.NewBuilder().
		Issuer(Issuer).
		Subject(c.Subject).
		Audience([]string{c.Kind.Audience()}).
		IssuedAt(now).
		NotBefore(now.Add(-5*time.Second)).
		Expiration(now.Add(ttl)).
		JwtID(uuid.NewString()).
		Claim(claimKind, string(c.Kind))
	if c.GroupID != "" {
		b = b.Claim(claimGroupID, c.GroupID)
	}
	if c.UserID != "" {
		b = b.Claim(claimUserID, c.UserID)
	}
	if c.Name != "" {
		b = b.Claim(claimName, c.Name)
	}
	if c.Guest {
		// Only the true value is written: a token without the claim is an account's.
		b = b.Claim(claimGuest, true)
	}
	if c.Owner {
		// Only the true value is written: a token without the claim is not the owner's.
		b = b.Claim(claimOwner, true)
	}
	if c.File != nil {
		b = b.Claim(claimFile, *c.File)
	}
	tok, err := b.Build()
	if err != nil {
		return "", fmt.Errorf("token: build: %w", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, s.active))
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	return string(signed), nil
}

// PublicKeys returns the JWKS of every key this signer trusts.
func (s *Signer) PublicKeys() jwk.Set { return s.public }

// JWKSHandler serves the public keys as a JWKS document.
func (s *Signer) JWKSHandler() http.Handler {
	body, err := json.Marshal(s.public)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err != nil {
			http.Error(w, "jwks unavailable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		// Short cache so a rotation reaches verifiers quickly.
		w.Header().Set("Cache-Control", "public, max-age=60")
		_, _ = w.Write(body)
	})
}
