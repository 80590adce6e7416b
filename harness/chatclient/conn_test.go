package chatclient

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/quickchat-go/quickchat/pkg/wire"
)

// fakeServer answers each client frame with what reply returns, encoded, and first pushes
// the frames in push.
func fakeServer(t *testing.T, push []any, reply func(wire.ClientFrame) any) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		ctx := r.Context()
		write := func(v any) bool {
			b, err := json.Marshal(v)
			return err == nil && ws.Write(ctx, websocket.MessageText, b) == nil
		}
		for _, f := range push {
			if !write(f) {
				return
			}
		}
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				return
			}
			var f wire.ClientFrame
			if err := json.Unmarshal(data, &f); err != nil || !write(reply(f)) {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func TestConnSpeaksTheWireFrames(t *testing.T) {
	at := time.Date(2026, 11, 27, 16, 12, 3, 123e6, time.UTC)
	pushed := wire.MessageFrame{Head: wire.Head{Type: wire.TypeMessage, GroupID: "g"}, Position: wire.Position{Epoch: "e", Offset: 7},
		Message: &wire.Message{ID: "i", GroupID: "g", Body: "hi", CreatedAt: wire.Time{Time: at}}}
	url := fakeServer(t, []any{pushed}, func(f wire.ClientFrame) any {
		switch {
		case f.Type == wire.TypeJoin && f.Since != nil && f.Token == "tok":
			return wire.Joined{Head: wire.Head{Type: wire.TypeJoined, Ref: f.Ref, GroupID: f.GroupID}, ClientID: "c", Position: *f.Since}
		case f.Type == wire.TypeSend && f.ClientMsgID == "c1":
			return wire.ErrorFrame{Head: wire.Head{Type: wire.TypeError, Ref: f.Ref, GroupID: f.GroupID}, Code: wire.CodeTooLarge, Detail: "body is too long"}
		case f.Type == wire.TypeDelete && f.ClientMsgID == "d1" && f.MessageID == "i":
			return wire.Ack{Head: wire.Head{Type: wire.TypeAck, Ref: f.Ref, GroupID: f.GroupID}, ID: "d", ClientMsgID: f.ClientMsgID, Position: wire.Position{Epoch: "e", Offset: 8}}
		}
		return wire.ErrorFrame{Head: wire.Head{Type: wire.TypeError, Ref: f.Ref}, Code: wire.CodeBadFrame, Detail: "unexpected frame"}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan Frame, 1)
	c, err := Dial(ctx, url, DialOptions{OnFrame: func(f Frame) { got <- f }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()

	select {
	case f := <-got:
		if f.Message == nil || f.Position != pushed.Position || !f.Message.CreatedAt.Equal(at) || string(f.Raw) == "" {
			t.Fatalf("pushed message read as %+v", f)
		}
	case <-ctx.Done():
		t.Fatal("the pushed message never arrived")
	}
	since := wire.Position{Epoch: "e", Offset: 7}
	j, err := c.Join(ctx, "g", "tok", &since)
	if err != nil || j.Type != wire.TypeJoined || j.Position != since {
		t.Fatalf("join = %+v, %v; want joined at %+v", j, err, since)
	}
	_, err = c.Send(ctx, "g", "c1", "x")
	var fe *FrameError
	if !errors.As(err, &fe) || fe.Code != wire.CodeTooLarge || fe.Detail != "body is too long" {
		t.Fatalf("refused send = %v; want a FrameError with the frame's code and detail", err)
	}
	d, err := c.Delete(ctx, "g", "d1", "i")
	if err != nil || d.Type != wire.TypeAck || d.ID != "d" || d.Offset != 8 {
		t.Fatalf("delete = %+v, %v; want the ack of the deletion at offset 8", d, err)
	}
}

func TestConnSurfacesItsRemovalFromARoom(t *testing.T) {
	removed := wire.Removed{Head: wire.Head{Type: wire.TypeRemoved, GroupID: "g"}, Reason: wire.ReasonBanned}
	url := fakeServer(t, []any{removed}, func(f wire.ClientFrame) any {
		return wire.ErrorFrame{Head: wire.Head{Type: wire.TypeError, Ref: f.Ref, GroupID: f.GroupID}, Code: wire.CodeRevoked, Detail: "membership ended"}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan Frame, 1)
	c, err := Dial(ctx, url, DialOptions{OnFrame: func(f Frame) { got <- f }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	select {
	case f := <-got:
		if f.Type != wire.TypeRemoved || f.Reason != wire.ReasonBanned {
			t.Fatalf("pushed frame read as %+v", f)
		}
	case <-ctx.Done():
		t.Fatal("the removed frame never reached OnFrame")
	}
	if reason, ok := c.Removed("g"); !ok || reason != wire.ReasonBanned {
		t.Fatalf("Removed(g) = %q, %v; want banned", reason, ok)
	}
	if _, ok := c.Removed("other"); ok {
		t.Fatal("Removed(other) = true for a room never removed from")
	}
	_, err = c.Send(ctx, "g", "c1", "x")
	var fe *FrameError
	if !errors.As(err, &fe) || fe.Code != wire.CodeRevoked {
		t.Fatalf("send after removal = %v; want a revoked FrameError", err)
	}
}
