package main

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

// fileRef signs an attachment reference as the gateway's complete route does.
func (b *bundle) fileRef(t testing.TB, group, uploader string, at time.Time, ttl time.Duration) (string, *token.File) {
	t.Helper()
	f := &token.File{Uploader: uploader, Name: "cat.png", ContentType: "image/png", Size: 4321,
		Width: 640, Height: 480, ThumbWidth: 320, ThumbHeight: 240}
	ref, err := b.signer.SignAt(token.Claims{Subject: uuid.NewString(), Kind: token.KindAttachment, GroupID: group, File: f}, at, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return ref, f
}

// sendFiles sends a message with attachment references and returns the reply.
func (c *client) sendFiles(group, clientMsgID, body string, refs ...string) frame {
	c.t.Helper()
	ref := c.ref()
	c.write(wire.ClientFrame{Head: wire.Head{Type: wire.TypeSend, Ref: ref, GroupID: group}, ClientMsgID: clientMsgID,
		Body: body, Attachments: refs})
	return c.reply(ref)
}

func TestMessagesCarryTheFilesTheGatewayChecked(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a, other := b.start(t, nil), b.start(t, nil)
	group := uuid.NewString()
	gus, rita := b.guest(t, group, "Gus"), b.member(t, group, "Rita")
	sender := dial(t, a.url())
	sender.join(group, gus, nil)
	reader := dial(t, other.url())
	reader.join(group, rita, nil)

	ref, file := b.fileRef(t, group, gus.id, time.Now(), time.Hour)
	claims, err := token.NewStaticVerifier(b.signer.PublicKeys(), token.KindAttachment).Verify(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	ack := sender.sendFiles(group, "f1", "", ref)
	if ack.Type != wire.TypeAck {
		t.Fatalf("a send with only a file got %+v", ack.ServerFrame)
	}
	got := reader.messages(group, 1)[0].msg(t)
	want := wire.Attachment{ID: claims.Subject, Name: file.Name, ContentType: file.ContentType, Size: file.Size,
		Width: 640, Height: 480, Thumbnail: &wire.Thumbnail{Width: 320, Height: 240}}
	if got.ID != ack.ID || got.Body != "" || len(got.Attachments) != 1 || got.Attachments[0].Thumbnail == nil ||
		*got.Attachments[0].Thumbnail != *want.Thumbnail {
		t.Fatalf("the other member got %+v", got)
	}
	if a := got.Attachments[0]; a.ID != want.ID || a.Name != want.Name || a.ContentType != want.ContentType || a.Size != want.Size ||
		a.Width != want.Width || a.Height != want.Height {
		t.Fatalf("attachment %+v, want %+v", a, want)
	}

	expired, _ := b.fileRef(t, group, gus.id, time.Now().Add(-2*time.Hour), time.Hour)
	otherMembers, _ := b.fileRef(t, group, rita.id, time.Now(), time.Hour)
	otherRooms, _ := b.fileRef(t, uuid.NewString(), gus.id, time.Now(), time.Hour)
	for _, tc := range []struct {
		name string
		refs []string
		code string
	}{
		{"an expired reference is unauthorized", []string{expired}, wire.CodeUnauthorized},
		{"a garbage reference is unauthorized", []string{"not-a-token"}, wire.CodeUnauthorized},
		{"another member's file is forbidden", []string{otherMembers}, wire.CodeForbidden},
		{"another room's file is forbidden", []string{otherRooms}, wire.CodeForbidden},
		{"a member token is not a reference", []string{gus.token}, wire.CodeForbidden},
		{"the same file twice is a bad frame", []string{ref, ref}, wire.CodeBadFrame},
		{"five files are a bad frame", []string{ref, ref, ref, ref, ref}, wire.CodeBadFrame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := sender.sendFiles(group, "x-"+tc.name, "", tc.refs...)
			if f.Type != wire.TypeError || f.Code != tc.code {
				t.Fatalf("got %+v; want %s", f.ServerFrame, tc.code)
			}
		})
	}
	t.Run("an attachment reference does not join a room", func(t *testing.T) {
		c := dial(t, a.url())
		r := c.ref()
		c.write(wire.ClientFrame{Head: wire.Head{Type: wire.TypeJoin, Ref: r, GroupID: group}, Token: ref})
		if f := c.reply(r); f.Type != wire.TypeError || f.Code != wire.CodeForbidden {
			t.Fatalf("join with a reference got %+v", f.ServerFrame)
		}
	})
	t.Run("a blank body without files is still refused", func(t *testing.T) {
		if f := sender.sendFiles(group, "blank", "  "); f.Type != wire.TypeError || f.Code != wire.CodeBadFrame {
			t.Fatalf("got %+v", f.ServerFrame)
		}
	})
}
