package nodetest

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/quickchat-go/quickchat/pkg/wire"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
)

// TestBroker runs the conformance suite of node.Broker against the brokers newBroker
// returns, one per subtest (each may run in parallel with the others). Every
// implementation must pass it: it states what the node relies on.
func TestBroker(t *testing.T, newBroker func(t *testing.T) node.Broker) {
	tests := []struct {
		name string
		test func(t *testing.T, b node.Broker)
	}{
		{"a new room has a position and nothing to recover", testNewRoom},
		{"a client message id is published once", testPublishedOnce},
		{"the lease holder reserving again still owns the send", testReserveAgain},
		{"each room gets one gapless order under concurrent publishes", testGaplessOrder},
		{"recovery gives back exactly what was missed or says it cannot", testRecover},
		{"a member's send quota refuses new client message ids once spent, never known ones", testSendQuota},
		{"a member's typing quota drops events once spent", testTypingQuota},
		{"recovery over the byte bound or the member's replay quota is refused", testRecoverBounds},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.test(t, newBroker(t))
		})
	}
}

func publish(tb testing.TB, b node.Broker, room, clientMsgID string) wire.Position {
	tb.Helper()
	ctx := context.Background()
	k := node.DedupKey{Room: room, Sender: "s", ClientMsgID: clientMsgID}
	res, err := b.Reserve(ctx, k, "id-"+clientMsgID, "owner-"+clientMsgID, time.Hour, time.Minute, node.Quota{})
	if err != nil {
		tb.Fatal(err)
	}
	pos, _, err := b.Publish(ctx, k, res.ID, []byte("data-"+clientMsgID), messageSize, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return pos
}

// messageSize is the size every message of the suite is published with.
const messageSize = 100

// within are limits that only bound the number of messages.
func within(messages int) node.RecoverLimits {
	return node.RecoverLimits{Messages: messages, Bytes: math.MaxInt64}
}

func recoverRoom(tb testing.TB, b node.Broker, room string, since *wire.Position, limit int) node.Recovery {
	tb.Helper()
	return recoverWithin(tb, b, room, since, within(limit))
}

func recoverWithin(tb testing.TB, b node.Broker, room string, since *wire.Position, lim node.RecoverLimits) node.Recovery {
	tb.Helper()
	rec, err := b.Recover(context.Background(), room, since, lim)
	if err != nil {
		tb.Fatal(err)
	}
	return rec
}

func testNewRoom(t *testing.T, b node.Broker) {
	first := recoverRoom(t, b, "fresh", nil, 10)
	if first.Top.Epoch == "" || first.Top.Offset != 0 || first.Complete || len(first.Entries) != 0 {
		t.Fatalf("a new room = %+v; want an epoch, offset 0, nothing recovered", first)
	}
	if again := recoverRoom(t, b, "fresh", nil, 10); again.Top != first.Top {
		t.Fatalf("the room's position moved from %+v to %+v without a publish", first.Top, again.Top)
	}
	if other := recoverRoom(t, b, "other", nil, 10); other.Top.Offset != 0 {
		t.Fatalf("another new room is at %+v; want offset 0", other.Top)
	}
}

func testPublishedOnce(t *testing.T, b node.Broker) {
	ctx := context.Background()
	k := node.DedupKey{Room: "r", Sender: "s", ClientMsgID: "c1"}
	first, err := b.Reserve(ctx, k, "id1", "o1", time.Hour, time.Minute, node.Quota{})
	if err != nil || first.State != node.Owned || first.ID != "id1" {
		t.Fatalf("first reserve = %+v, %v; want owned id1", first, err)
	}
	second, err := b.Reserve(ctx, k, "id2", "o2", time.Hour, time.Minute, node.Quota{})
	if err != nil || second.State != node.Pending || second.ID != "id1" {
		t.Fatalf("reserve while the first holds the lease = %+v, %v; want pending id1", second, err)
	}
	if err := b.Release(ctx, k, "o2"); err != nil {
		t.Fatal(err)
	}
	if r, err := b.Reserve(ctx, k, "id3", "o3", time.Hour, time.Minute, node.Quota{}); err != nil || r.State != node.Pending {
		t.Fatalf("another attempt's release must not free the lease; got %+v, %v", r, err)
	}
	if err := b.Release(ctx, k, "o1"); err != nil {
		t.Fatal(err)
	}
	taken, err := b.Reserve(ctx, k, "id4", "o4", time.Hour, time.Minute, node.Quota{})
	if err != nil || taken.State != node.Owned || taken.ID != "id1" {
		t.Fatalf("reserve after release = %+v, %v; want owned with the first id", taken, err)
	}
	pos, fresh, err := b.Publish(ctx, k, "id1", []byte("x"), messageSize, time.Hour)
	if err != nil || !fresh || pos.Offset != 1 || pos.Epoch == "" {
		t.Fatalf("publish = %+v, fresh %v, %v; want a fresh message at offset 1", pos, fresh, err)
	}
	again, fresh, err := b.Publish(ctx, k, "id1", []byte("x"), messageSize, time.Hour)
	if err != nil || fresh || again != pos {
		t.Fatalf("second publish = %+v, fresh %v, %v; want %+v, not fresh", again, fresh, err, pos)
	}
	done, err := b.Reserve(ctx, k, "id5", "o5", time.Hour, time.Minute, node.Quota{})
	if err != nil || done.State != node.Done || done.ID != "id1" || done.Pos != pos {
		t.Fatalf("reserve after publish = %+v, %v; want done id1 at %+v", done, err, pos)
	}
	if top := recoverRoom(t, b, "r", nil, 10).Top; top != pos {
		t.Fatalf("room top = %+v after one message; want %+v", top, pos)
	}
}

func testReserveAgain(t *testing.T, b node.Broker) {
	ctx := context.Background()
	k := node.DedupKey{Room: "r", Sender: "s", ClientMsgID: "c1"}
	if _, err := b.Reserve(ctx, k, "id1", "o1", time.Hour, time.Minute, node.Quota{}); err != nil {
		t.Fatal(err)
	}
	again, err := b.Reserve(ctx, k, "id2", "o1", time.Hour, time.Minute, node.Quota{})
	if err != nil || again.State != node.Owned || again.ID != "id1" {
		t.Fatalf("reserve by the lease holder = %+v, %v; want owned id1", again, err)
	}
}

func testGaplessOrder(t *testing.T, b node.Broker) {
	const n = 40
	rooms := []string{"room-a", "room-b"}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, room := range rooms {
				publish(t, b, room, strconv.Itoa(i))
			}
		}()
	}
	wg.Wait()
	for _, room := range rooms {
		top := recoverRoom(t, b, room, nil, 1000).Top
		rec := recoverRoom(t, b, room, &wire.Position{Epoch: top.Epoch}, 1000)
		if !rec.Complete || len(rec.Entries) != n || rec.Top.Offset != n {
			t.Fatalf("%s: complete %v, %d entries, top %d; want complete, %d, %d", room, rec.Complete, len(rec.Entries), rec.Top.Offset, n, n)
		}
		seen := map[string]bool{}
		for i, e := range rec.Entries {
			if e.Kind != node.KindMessage || e.Room != room || e.Pos != (wire.Position{Epoch: top.Epoch, Offset: uint64(i + 1)}) || seen[string(e.Data)] {
				t.Fatalf("%s: entry %d is %+v", room, i, e)
			}
			seen[string(e.Data)] = true
		}
	}
}

func testRecover(t *testing.T, b node.Broker) {
	const published, limit = 8, 5
	for i := 1; i <= published; i++ {
		publish(t, b, "room", strconv.Itoa(i))
	}
	epoch := recoverRoom(t, b, "room", nil, limit).Top.Epoch
	tests := []struct {
		name         string
		since        wire.Position
		wantComplete bool
		wantFirst    int // the first entry's offset, 0 for none
	}{
		{"a client at the top is complete with nothing to replay", wire.Position{Epoch: epoch, Offset: published}, true, 0},
		{"a client a few behind gets exactly those", wire.Position{Epoch: epoch, Offset: published - 2}, true, published - 1},
		{"a client exactly the limit behind gets them all", wire.Position{Epoch: epoch, Offset: published - limit}, true, published - limit + 1},
		{"a client further behind than the limit is told to reload", wire.Position{Epoch: epoch, Offset: published - limit - 1}, false, 0},
		{"a client ahead of the room is told to reload", wire.Position{Epoch: epoch, Offset: published + 1}, false, 0},
		{"a client of another epoch is told to reload", wire.Position{Epoch: "gone" + epoch, Offset: 4}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := recoverRoom(t, b, "room", &tt.since, limit)
			if rec.Top != (wire.Position{Epoch: epoch, Offset: published}) || rec.Complete != tt.wantComplete {
				t.Fatalf("top %+v, complete %v; want %s/%d, %v", rec.Top, rec.Complete, epoch, published, tt.wantComplete)
			}
			want := 0
			if tt.wantFirst > 0 {
				want = published - tt.wantFirst + 1
			}
			if len(rec.Entries) != want {
				t.Fatalf("%d entries, want %d", len(rec.Entries), want)
			}
			for i, e := range rec.Entries {
				off := uint64(tt.wantFirst + i)
				if e.Pos.Offset != off || string(e.Data) != fmt.Sprintf("data-%d", off) {
					t.Fatalf("entry %d is %+v (%q); want offset %d", i, e, e.Data, off)
				}
			}
		})
	}
}

func testSendQuota(t *testing.T, b node.Broker) {
	ctx := context.Background()
	spent := node.Quota{Name: node.QuotaSend, Member: "m1", Rate: 0.001, Burst: 3}
	reserve := func(room, member, clientMsgID string, q node.Quota) node.Reservation {
		t.Helper()
		k := node.DedupKey{Room: room, Sender: member, ClientMsgID: clientMsgID}
		r, err := b.Reserve(ctx, k, "id-"+clientMsgID, "owner-"+clientMsgID, time.Hour, time.Minute, q)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for i := 1; i <= 3; i++ {
		if r := reserve("r", "m1", fmt.Sprint("c", i), spent); r.State != node.Owned {
			t.Fatalf("new id %d of a burst of 3 = %+v; want owned", i, r)
		}
	}
	if r := reserve("r", "m1", "c4", spent); r.State != node.Limited || r.RetryAfter <= 0 {
		t.Fatalf("a fourth new id = %+v; want limited with a wait", r)
	}
	if r := reserve("r", "m1", "c1", spent); r.State != node.Owned || r.ID != "id-c1" {
		t.Fatalf("the lease holder retrying a known id = %+v; want owned, not limited", r)
	}
	k := node.DedupKey{Room: "r", Sender: "m1", ClientMsgID: "c1"}
	if _, _, err := b.Publish(ctx, k, "id-c1", []byte("x"), messageSize, time.Hour); err != nil {
		t.Fatal(err)
	}
	if r, err := b.Reserve(ctx, k, "id-other", "other", time.Hour, time.Minute, spent); err != nil || r.State != node.Done {
		t.Fatalf("a resend of a published id = %+v, %v; want done, not limited", r, err)
	}
	if r := reserve("r", "m2", "c1", node.Quota{Name: node.QuotaSend, Member: "m2", Rate: 0.001, Burst: 3}); r.State != node.Owned {
		t.Fatalf("another member = %+v; want owned: quotas are per member", r)
	}
	if r := reserve("other-room", "m1", "c5", spent); r.State != node.Owned {
		t.Fatalf("the same member id in another room = %+v; want owned: quotas are per room", r)
	}

	fast := node.Quota{Name: node.QuotaSend, Member: "m3", Rate: 10, Burst: 1}
	if r := reserve("r", "m3", "f1", fast); r.State != node.Owned {
		t.Fatalf("first id = %+v; want owned", r)
	}
	r := reserve("r", "m3", "f2", fast)
	if r.State != node.Limited || r.RetryAfter <= 0 || r.RetryAfter > 150*time.Millisecond {
		t.Fatalf("second id at once = %+v; want limited for at most one refill (100 ms)", r)
	}
	time.Sleep(r.RetryAfter + 20*time.Millisecond)
	if r := reserve("r", "m3", "f2", fast); r.State != node.Owned {
		t.Fatalf("the refused id after the wait = %+v; want owned: a refusal claims nothing", r)
	}
}

func testTypingQuota(t *testing.T, b node.Broker) {
	ctx := context.Background()
	publish := func(q node.Quota) bool {
		t.Helper()
		sent, err := b.PublishEvent(ctx, "r", node.KindTyping, []byte("c\n{}"), q)
		if err != nil {
			t.Fatal(err)
		}
		return sent
	}
	q := node.Quota{Name: node.QuotaTyping, Member: "m1", Rate: 0.001, Burst: 1}
	if !publish(q) || publish(q) {
		t.Fatal("a typing quota of one must pass the first event and drop the second")
	}
	if !publish(node.Quota{Name: node.QuotaTyping, Member: "m2", Rate: 0.001, Burst: 1}) {
		t.Fatal("another member's typing event was dropped")
	}
	if !publish(node.Quota{}) || !publish(node.Quota{}) {
		t.Fatal("events without a quota must always pass")
	}
}

func testRecoverBounds(t *testing.T, b node.Broker) {
	const published = 8
	for i := 1; i <= published; i++ {
		publish(t, b, "room", strconv.Itoa(i))
	}
	epoch := recoverRoom(t, b, "room", nil, 100).Top.Epoch
	behind := func(n int) *wire.Position { return &wire.Position{Epoch: epoch, Offset: uint64(published - n)} }
	replay := func(member string) node.Quota {
		return node.Quota{Name: node.QuotaReplay, Member: member, Rate: 0.001, Burst: 5 * messageSize}
	}
	tests := []struct {
		name        string
		since       *wire.Position
		lim         node.RecoverLimits
		wantEntries int
		wantRefused node.Refusal
	}{
		{"a gap within the byte bound is replayed", behind(2), node.RecoverLimits{Messages: 100, Bytes: 2*messageSize + 50}, 2, node.NotRefused},
		{"a gap over the byte bound is refused as too large", behind(3), node.RecoverLimits{Messages: 100, Bytes: 2*messageSize + 50}, 0, node.RefusedTooLarge},
		{"a replay the quota can pay is charged to it", behind(3), node.RecoverLimits{Messages: 100, Bytes: math.MaxInt64, Quota: replay("m1")}, 3, node.NotRefused},
		{"the same replay again is refused once the quota is spent", behind(3), node.RecoverLimits{Messages: 100, Bytes: math.MaxInt64, Quota: replay("m1")}, 0, node.RefusedQuota},
		{"what is left of the quota still pays a smaller replay", behind(2), node.RecoverLimits{Messages: 100, Bytes: math.MaxInt64, Quota: replay("m1")}, 2, node.NotRefused},
		{"a client at the top costs nothing even with the quota spent", behind(0), node.RecoverLimits{Messages: 100, Bytes: math.MaxInt64, Quota: replay("m1")}, 0, node.NotRefused},
		{"another member has a quota of its own", behind(3), node.RecoverLimits{Messages: 100, Bytes: math.MaxInt64, Quota: replay("m2")}, 3, node.NotRefused},
	}
	for _, tt := range tests {
		rec := recoverWithin(t, b, "room", tt.since, tt.lim)
		wantBytes := int64(published-int(tt.since.Offset)) * messageSize
		if len(rec.Entries) != tt.wantEntries || rec.Refused != tt.wantRefused || rec.Complete != (tt.wantRefused == node.NotRefused) || rec.Bytes != wantBytes {
			t.Fatalf("%s: %d entries, refused %d, complete %v, %d bytes; want %d, %d, %v, %d",
				tt.name, len(rec.Entries), rec.Refused, rec.Complete, rec.Bytes, tt.wantEntries, tt.wantRefused, tt.wantRefused == node.NotRefused, wantBytes)
		}
	}
}
