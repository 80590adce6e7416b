package token

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/quickchat-go/quickchat/pkg/apperr"
)

func TestAttachmentTokensCarryTheirFileAndPassOnlyWhereAccepted(t *testing.T) {
	s := newSigner(t, newKey(t))
	file := &File{Uploader: "m1", Name: "cat.png", ContentType: "image/png", Size: 1234,
		Width: 640, Height: 480, ThumbWidth: 320, ThumbHeight: 240}
	raw, err := s.Sign(Claims{Subject: "a1", Kind: KindAttachment, GroupID: "g1", File: file}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	member, err := s.Sign(Claims{Subject: "m1", Kind: KindMember, GroupID: "g1"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	jwks := newJWKSServer(t, s)
	remote, err := NewRemoteVerifier(ctx, RemoteVerifierConfig{URL: jwks.srv.URL, Accept: []Kind{KindMember}})
	if err != nil {
		t.Fatal(err)
	}
	attachments := remote.For(KindAttachment)

	t.Run("the attachment verifier returns the file as signed", func(t *testing.T) {
		for name, v := range map[string]Verifier{"static": NewStaticVerifier(s.PublicKeys(), KindAttachment), "remote view": attachments} {
			c, err := v.Verify(ctx, raw)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if c.Kind != KindAttachment || c.Subject != "a1" || c.GroupID != "g1" || !reflect.DeepEqual(c.File, file) {
				t.Fatalf("%s: claims %+v file %+v", name, c, c.File)
			}
		}
	})
	t.Run("the member verifier refuses an attachment token as forbidden", func(t *testing.T) {
		if _, err := remote.Verify(ctx, raw); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("err = %v; want forbidden", err)
		}
	})
	t.Run("the attachment view refuses a member token as forbidden", func(t *testing.T) {
		if _, err := attachments.Verify(ctx, member); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("err = %v; want forbidden", err)
		}
	})
	t.Run("a genuine attachment token without its file is refused", func(t *testing.T) {
		bare := signClaims(t, s, func(b *jwt.Builder) *jwt.Builder {
			return b.Subject("a1").Audience([]string{AudienceAttachment}).Claim(claimKind, string(KindAttachment)).Claim(claimGroupID, "g1")
		})
		if _, err := attachments.Verify(ctx, bare); !apperr.Is(err, apperr.Unauthorized) {
			t.Fatalf("err = %v; want unauthorized", err)
		}
	})
	t.Run("a file claim that is not an object is refused", func(t *testing.T) {
		odd := signClaims(t, s, func(b *jwt.Builder) *jwt.Builder {
			return b.Subject("a1").Audience([]string{AudienceAttachment}).Claim(claimKind, string(KindAttachment)).
				Claim(claimGroupID, "g1").Claim(claimFile, "cat.png")
		})
		if _, err := attachments.Verify(ctx, odd); !apperr.Is(err, apperr.Unauthorized) {
			t.Fatalf("err = %v; want unauthorized", err)
		}
	})
	t.Run("the signer refuses attachment tokens without a file and files on other kinds", func(t *testing.T) {
		for name, c := range map[string]Claims{
			"no file":     {Subject: "a1", Kind: KindAttachment, GroupID: "g1"},
			"no uploader": {Subject: "a1", Kind: KindAttachment, GroupID: "g1", File: &File{Name: "x"}},
			"no group":    {Subject: "a1", Kind: KindAttachment, File: file},
			"a member":    {Subject: "m1", Kind: KindMember, GroupID: "g1", File: file},
		} {
			if _, err := s.Sign(c, time.Minute); err == nil {
				t.Errorf("%s: signed", name)
			}
		}
	})
}
