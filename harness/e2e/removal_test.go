package e2e

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/quickchat-go/quickchat/harness/chatclient"
	"github.com/quickchat-go/quickchat/harness/devstack"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

// removalDeadline is the product's promise: a removed or banned member's sockets, on
// every realtime instance, get the removed frame and are closed within it.
const removalDeadline = time.Second

// TestRemovalThroughTheGatewayReachesEveryRealtimeInstance bans a guest connected to
// realtime instance 2 and removes an account member connected to instance 1, both
// through the gateway: each socket gets a removed frame and close code 4003 within 1 s,
// the other member sees the guest's presence end, the old member token no longer joins
// on either instance nor renews, the banned guest cannot join back with the passcode and
// its guest key, and nothing the removed member sends afterwards is stored.
func TestRemovalThroughTheGatewayReachesEveryRealtimeInstance(t *testing.T) {
	sys := startSystem(t, devstack.SystemConfig{Realtimes: 2, Persisters: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	api := chatclient.NewAPI(sys.GatewayURL)
	const passcode = "open sesame"

	owner, err := api.Register(ctx, "owner@example.com", "correct horse battery", "Olivia Owner")
	if err != nil {
		t.Fatal(err)
	}
	g, err := api.CreateGroup(ctx, owner.AccessToken, "Removals", passcode)
	if err != nil {
		t.Fatal(err)
	}
	ownerMember, err := api.Join(ctx, g.ID, "Olivia Owner", passcode, owner.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	guest, err := api.Join(ctx, g.ID, "Grace Guest", passcode, "")
	if err != nil {
		t.Fatal(err)
	}
	if guest.GuestKey == "" {
		t.Fatal("the guest's join answered no guest_key")
	}
	adaSession, err := api.Register(ctx, "ada@example.com", "correct horse battery", "Ada")
	if err != nil {
		t.Fatal(err)
	}
	ada, err := api.Join(ctx, g.ID, "Ada", passcode, adaSession.AccessToken)
	if err != nil {
		t.Fatal(err)
	}

	// The guest is on instance 2, Ada on instance 1; each socket reports its removed
	// frames and the guest's presence_leave as they arrive.
	guestRemoved := make(chan chatclient.Frame, 4)
	guestConn, err := chatclient.Dial(ctx, sys.RealtimeURLs[1], chatclient.DialOptions{OnFrame: func(f chatclient.Frame) {
		if f.Type == wire.TypeRemoved {
			guestRemoved <- f
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer guestConn.CloseNow()
	adaRemoved := make(chan chatclient.Frame, 4)
	guestLeft := make(chan chatclient.Frame, 4)
	adaConn, err := chatclient.Dial(ctx, sys.RealtimeURLs[0], chatclient.DialOptions{OnFrame: func(f chatclient.Frame) {
		switch {
		case f.Type == wire.TypeRemoved:
			adaRemoved <- f
		case f.Type == wire.TypePresenceLeave && f.Client != nil && f.Client.MemberID == guest.Member.ID:
			guestLeft <- f
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer adaConn.CloseNow()
	if _, err := guestConn.Join(ctx, g.ID, guest.Token, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := adaConn.Join(ctx, g.ID, ada.Token, nil); err != nil {
		t.Fatal(err)
	}
	// Ada must see the guest online before the ban, or a missing presence_leave proves
	// nothing.
	waitOnline(ctx, t, adaConn, g.ID, guest.Member.ID)

	// Ban the guest: removed frame and close within the promise.
	banned := time.Now()
	if _, err := api.BanMember(ctx, g.ID, owner.AccessToken, guest.Member.ID); err != nil {
		t.Fatal(err)
	}
	expectRemoved(t, "the guest on instance 2", guestConn, guestRemoved, g.ID, wire.ReasonBanned, banned)
	select {
	case <-guestLeft:
	case <-ctx.Done():
		t.Fatal("Ada on instance 1 never got presence_leave for the banned guest")
	}

	// The banned guest's socket accepts nothing; it is closed, which is fine too.
	if ack, err := guestConn.Send(ctx, g.ID, "after-ban", "sent after the ban"); err == nil {
		t.Fatalf("a send on the banned guest's socket was accepted: %s", ack.Raw)
	}
	// Its old member token joins no instance, renews nothing, and the passcode with its
	// guest key does not get it back in.
	expectJoinRevoked(ctx, t, sys.RealtimeURLs, g.ID, guest.Token)
	if _, err := api.RenewMemberToken(ctx, g.ID, guest.Token); !isAPIError(err, http.StatusForbidden, "") {
		t.Errorf("renewing the banned guest's token: %v, want 403", err)
	}
	_, err = api.JoinWith(ctx, g.ID, chatclient.JoinRequest{Name: "Grace Guest", Passcode: passcode, GuestKey: guest.GuestKey}, "")
	if !isAPIError(err, http.StatusForbidden, "banned") {
		t.Errorf("the banned guest joining again with the passcode and its guest key: %v, want 403 banned", err)
	}

	// Ada posts once while a member, so the history shows her messages are stored.
	before, err := adaConn.Send(ctx, g.ID, "ada-before", "Ada while a member")
	if err != nil {
		t.Fatal(err)
	}

	// Remove Ada: the same on instance 1.
	removed := time.Now()
	if err := api.RemoveMember(ctx, g.ID, owner.AccessToken, ada.Member.ID); err != nil {
		t.Fatal(err)
	}
	expectRemoved(t, "Ada on instance 1", adaConn, adaRemoved, g.ID, wire.ReasonRemoved, removed)
	if ack, err := adaConn.Send(ctx, g.ID, "ada-after", "Ada after her removal"); err == nil {
		t.Fatalf("a send on the removed member's socket was accepted: %s", ack.Raw)
	}
	expectJoinRevoked(ctx, t, sys.RealtimeURLs, g.ID, ada.Token)
	if _, err := api.RenewMemberToken(ctx, g.ID, ada.Token); !isAPIError(err, http.StatusForbidden, "") {
		t.Errorf("renewing the removed member's token: %v, want 403", err)
	}

	// The owner posts after the removal; once that is stored, everything sent before it
	// is, so Ada's post-removal send would be there if it had been accepted.
	ownerConn, err := chatclient.Dial(ctx, sys.RealtimeURLs[0], chatclient.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ownerConn.CloseNow()
	if _, err := ownerConn.Join(ctx, g.ID, ownerMember.Token, nil); err != nil {
		t.Fatal(err)
	}
	marker, err := ownerConn.Send(ctx, g.ID, "owner-after", "after the removals")
	if err != nil {
		t.Fatal(err)
	}
	for {
		all, err := api.AllHistory(ctx, g.ID, ownerMember.Token)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, m := range all {
			ids[m.ID] = true
			if m.Body == "Ada after her removal" || m.Body == "sent after the ban" {
				t.Fatalf("a message sent after its sender's removal was stored: %+v", m)
			}
		}
		if ids[marker.ID] {
			if !ids[before.ID] {
				t.Fatalf("Ada's message from before her removal (%s) is not stored: %+v", before.ID, all)
			}
			if len(all) != 2 {
				t.Fatalf("history has %d messages, want Ada's and the owner's: %+v", len(all), all)
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the owner's message never reached the history")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitOnline waits until the room's presence, as c sees it, lists memberID.
func waitOnline(ctx context.Context, t *testing.T, c *chatclient.Conn, groupID, memberID string) {
	t.Helper()
	for {
		p, err := c.Presence(ctx, groupID)
		if err != nil {
			t.Fatal(err)
		}
		for _, cl := range p.Clients {
			if cl.MemberID == memberID {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("member %s never showed up in the presence", memberID)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// expectRemoved checks that c got a removed frame for the room with the reason and was
// closed with wire.CloseRemoved, both within removalDeadline of since.
func expectRemoved(t *testing.T, who string, c *chatclient.Conn, frames <-chan chatclient.Frame, groupID, reason string, since time.Time) {
	t.Helper()
	deadline := time.NewTimer(time.Until(since.Add(removalDeadline)))
	defer deadline.Stop()
	select {
	case f := <-frames:
		if f.GroupID != groupID || f.Reason != reason {
			t.Fatalf("%s got %s, want a removed frame for %s with reason %q", who, f.Raw, groupID, reason)
		}
	case <-deadline.C:
		t.Fatalf("%s got no removed frame within %v", who, removalDeadline)
	}
	select {
	case <-c.Done():
	case <-deadline.C:
		t.Fatalf("%s's socket was not closed within %v", who, removalDeadline)
	}
	if got := c.CloseStatus(); got != websocket.StatusCode(wire.CloseRemoved) {
		t.Fatalf("%s's socket closed with %d, want %d", who, got, wire.CloseRemoved)
	}
}

// expectJoinRevoked checks that a fresh socket on every realtime instance is refused a
// join of the room with token, with code revoked.
func expectJoinRevoked(ctx context.Context, t *testing.T, urls []string, groupID, token string) {
	t.Helper()
	for i, u := range urls {
		c, err := chatclient.Dial(ctx, u, chatclient.DialOptions{})
		if err != nil {
			t.Fatal(err)
		}
		f, err := c.Join(ctx, groupID, token, nil)
		c.CloseNow()
		var fe *chatclient.FrameError
		if !errors.As(err, &fe) || fe.Code != wire.CodeRevoked {
			t.Errorf("instance %d: join with the old member token = %s, %v; want error %q", i+1, f.Raw, err, wire.CodeRevoked)
		}
	}
}

// isAPIError reports whether err is the gateway's answer with status and, unless code
// is empty, that code.
func isAPIError(err error, status int, code string) bool {
	var ae *chatclient.APIError
	return errors.As(err, &ae) && ae.Status == status && (code == "" || ae.Code == code)
}
