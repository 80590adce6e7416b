package nodetest

import (
	"context"
	"fmt"
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
	res, err := b.Reserve(ctx, k, "id-"+clientMsgID, "owner-"+clientMsgID, time.Hour, time.Minute)
	if err != nil {
		tb.Fatal(err)
	}
	pos, _, err := b.Publish(ctx, k, res.ID, []byte("data-"+clientMsgID), time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return pos
}

func recoverRoom(tb testing.TB, b node.Broker, room string, since *wire.Position, limit int) node.Recovery {
	tb.Helper()
	rec, err := b.Recover(context.Background(), room, since, limit)
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
	first, err := b.Reserve(ctx, k, "id1", "o1", time.Hour, time.Minute)
	if err != nil || first.State != node.Owned || first.ID != "id1" {
		t.Fatalf("first reserve = %+v, %v; want owned id1", first, err)
	}
	second, err := b.Reserve(ctx, k, "id2", "o2", time.Hour, time.Minute)
	if err != nil || second.State != node.Pending || second.ID != "id1" {
		t.Fatalf("reserve while the first holds the lease = %+v, %v; want pending id1", second, err)
	}
	if err := b.Release(ctx, k, "o2"); err != nil {
		t.Fatal(err)
	}
	if r, err := b.Reserve(ctx, k, "id3", "o3", time.Hour, time.Minute); err != nil || r.State != node.Pending {
		t.Fatalf("another attempt's release must not free the lease; got %+v, %v", r, err)
	}
	if err := b.Release(ctx, k, "o1"); err != nil {
		t.Fatal(err)
	}
	taken, err := b.Reserve(ctx, k, "id4", "o4", time.Hour, time.Minute)
	if err != nil || taken.State != node.Owned || taken.ID != "id1" {
		t.Fatalf("reserve after release = %+v, %v; want owned with the first id", taken, err)
	}
	pos, fresh, err := b.Publish(ctx, k, "id1", []byte("x"), time.Hour)
	if err != nil || !fresh || pos.Offset != 1 || pos.Epoch == "" {
		t.Fatalf("publish = %+v, fresh %v, %v; want a fresh message at offset 1", pos, fresh, err)
	}
	again, fresh, err := b.Publish(ctx, k, "id1", []byte("x"), time.Hour)
	if err != nil || fresh || again != pos {
		t.Fatalf("second publish = %+v, fresh %v, %v; want %+v, not fresh", again, fresh, err, pos)
	}
	done, err := b.Reserve(ctx, k, "id5", "o5", time.Hour, time.Minute)
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
	if _, err := b.Reserve(ctx, k, "id1", "o1", time.Hour, time.Minute); err != nil {
		t.Fatal(err)
	}
	again, err := b.Reserve(ctx, k, "id2", "o1", time.Hour, time.Minute)
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
