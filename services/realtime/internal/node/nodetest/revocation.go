package nodetest

import (
	"context"
	"testing"
	"time"

	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
)

// Revoke ends the memberships of members of room, as the gateway does.
type Revoke func(t *testing.T, room string, members ...string)

// TestRevocation runs the conformance suite of what a node.Broker does for members whose
// memberships were revoked, against the brokers newBroker returns with their way of
// revoking, one per subtest.
func TestRevocation(t *testing.T, newBroker func(t *testing.T) (node.Broker, Revoke)) {
	tests := []struct {
		name string
		test func(t *testing.T, b node.Broker, revoke Revoke)
	}{
		{"a revoked member can send nothing, not even a retry, and others still can", testRevokedSends},
		{"a revoked member's join reads nothing, and other joins and gap fills are unaffected", testRevokedJoins},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, revoke := newBroker(t)
			tt.test(t, b, revoke)
		})
	}
}

func reserveAs(tb testing.TB, b node.Broker, room, sender, clientMsgID string) node.Reservation {
	tb.Helper()
	k := node.DedupKey{Room: room, Sender: sender, ClientMsgID: clientMsgID}
	res, err := b.Reserve(context.Background(), k, "id-"+clientMsgID, "owner-"+clientMsgID, time.Hour, time.Minute, node.Quota{Name: node.QuotaSend, Member: sender, Rate: 100, Burst: 100})
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

func testRevokedSends(t *testing.T, b node.Broker, revoke Revoke) {
	ctx := context.Background()
	k := node.DedupKey{Room: "room", Sender: "eve", ClientMsgID: "before"}
	if res := reserveAs(t, b, "room", "eve", "before"); res.State != node.Owned {
		t.Fatalf("before the revocation: state %d", res.State)
	}
	if _, _, err := b.Publish(ctx, k, "id-before", []byte("x"), messageSize, time.Hour); err != nil {
		t.Fatal(err)
	}
	revoke(t, "room", "eve", "mallory")
	for _, id := range []string{"before", "after"} {
		if res := reserveAs(t, b, "room", "eve", id); res.State != node.Revoked {
			t.Fatalf("client message id %q after the revocation: state %d, want Revoked", id, res.State)
		}
	}
	if res := reserveAs(t, b, "room", "mallory", "m1"); res.State != node.Revoked {
		t.Fatalf("second revoked member: state %d, want Revoked", res.State)
	}
	if res := reserveAs(t, b, "room", "ada", "a1"); res.State != node.Owned {
		t.Fatalf("another member: state %d, want Owned", res.State)
	}
	if res := reserveAs(t, b, "other-room", "eve", "o1"); res.State != node.Owned {
		t.Fatalf("the revoked member in another room: state %d, want Owned", res.State)
	}
}

func testRevokedJoins(t *testing.T, b node.Broker, revoke Revoke) {
	publish(t, b, "room", "m1")
	revoke(t, "room", "eve")
	lim := within(10)
	lim.Member = "eve"
	if rec := recoverWithin(t, b, "room", nil, lim); !rec.Revoked || rec.Top.Epoch != "" || len(rec.Entries) != 0 {
		t.Fatalf("revoked member's join = %+v, want only Revoked", rec)
	}
	lim.Member = "ada"
	if rec := recoverWithin(t, b, "room", nil, lim); rec.Revoked || rec.Top.Offset != 1 {
		t.Fatalf("other member's join = %+v", rec)
	}
	top := recoverRoom(t, b, "room", nil, 10).Top
	if rec := recoverWithin(t, b, "room", &top, within(10)); rec.Revoked || !rec.Complete {
		t.Fatalf("gap fill = %+v", rec)
	}
	lim.Member = "eve"
	if rec := recoverWithin(t, b, "other-room", nil, lim); rec.Revoked {
		t.Fatalf("the revoked member's join of another room = %+v", rec)
	}
}
