package roomredis

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type bundle struct {
	client rueidis.Client
	layout Layout
}

func setup(tb testing.TB) bundle {
	tb.Helper()
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{testenv.RedisAddr(tb)}, DisableCache: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(client.Close)
	return bundle{client: client, layout: Layout{Prefix: testenv.KeyPrefix(tb), Shards: 4}}
}

func (b bundle) do(tb testing.TB, cmd rueidis.Completed) rueidis.RedisResult {
	tb.Helper()
	return b.client.Do(context.Background(), cmd)
}

// revocations returns the revocation entries of the room's shard stream.
func (b bundle) revocations(tb testing.TB, room string) []Revocation {
	tb.Helper()
	entries, err := b.do(tb, b.client.B().Xrange().Key(b.layout.RoomStream(room)).Start("-").End("+").Build()).AsXRangeSlices()
	if err != nil {
		tb.Fatal(err)
	}
	var out []Revocation
	for _, e := range entries {
		if e.FieldValues[0].Value != EntryKind {
			continue
		}
		var r Revocation
		if err := json.Unmarshal([]byte(e.FieldValues[2].Value), &r); err != nil {
			tb.Fatal(err)
		}
		if e.FieldValues[1].Value != r.Room {
			tb.Fatalf("entry names room %q, its data %q", e.FieldValues[1].Value, r.Room)
		}
		out = append(out, r)
	}
	return out
}

func TestRevokeMarksMembersAndTellsTheRoomsStreamOnce(t *testing.T) {
	testRevokeMarksMembersAndTellsTheRoomsStreamOnce(t, setup(t))
}

func testRevokeMarksMembersAndTellsTheRoomsStreamOnce(t *testing.T, b bundle) {
	ctx := context.Background()
	r, err := NewRevoker(b.client, b.layout)
	if err != nil {
		t.Fatal(err)
	}
	room := "room-1"
	if err := r.Revoke(ctx, room, []string{"m1", "m2"}, wire.ReasonPasscodeChanged); err != nil {
		t.Fatal(err)
	}

	t.Run("every member is marked with the reason for the revocation TTL", func(t *testing.T) {
		for _, m := range []string{"m1", "m2"} {
			key := b.layout.Revoked(room, m)
			if v, err := b.do(t, b.client.B().Get().Key(key).Build()).ToString(); err != nil || v != wire.ReasonPasscodeChanged {
				t.Fatalf("%s = %q, %v", key, v, err)
			}
			ttl, err := b.do(t, b.client.B().Pttl().Key(key).Build()).AsInt64()
			if err != nil || ttl <= (RevokeTTL-time.Minute).Milliseconds() || ttl > RevokeTTL.Milliseconds() {
				t.Fatalf("%s expires in %d ms (%v), want about %v", key, ttl, err, RevokeTTL)
			}
		}
	})
	t.Run("other members are not marked", func(t *testing.T) {
		if n, err := b.do(t, b.client.B().Exists().Key(b.layout.Revoked(room, "m3")).Build()).AsInt64(); err != nil || n != 0 {
			t.Fatalf("m3 marked: %d, %v", n, err)
		}
	})
	t.Run("the room's shard stream gets exactly one revocation", func(t *testing.T) {
		got := b.revocations(t, room)
		if len(got) != 1 || got[0].Room != room || got[0].Reason != wire.ReasonPasscodeChanged || len(got[0].Members) != 2 ||
			got[0].Members[0] != "m1" || got[0].Members[1] != "m2" {
			t.Fatalf("revocations = %+v", got)
		}
	})
	t.Run("the marks and the entry share the room's hash slot", func(t *testing.T) {
		if a, z := hashTag(b.layout.RoomStream(room)), hashTag(b.layout.Revoked(room, "m1")); a != z {
			t.Fatalf("stream hashes %q, mark %q", a, z)
		}
	})
	t.Run("revoking again changes nothing but the reason and adds an entry", func(t *testing.T) {
		if err := r.Revoke(ctx, room, []string{"m1"}, wire.ReasonBanned); err != nil {
			t.Fatal(err)
		}
		if v, _ := b.do(t, b.client.B().Get().Key(b.layout.Revoked(room, "m1")).Build()).ToString(); v != wire.ReasonBanned {
			t.Fatalf("m1 = %q", v)
		}
		if v, _ := b.do(t, b.client.B().Get().Key(b.layout.Revoked(room, "m2")).Build()).ToString(); v != wire.ReasonPasscodeChanged {
			t.Fatalf("m2 = %q", v)
		}
		if got := b.revocations(t, room); len(got) != 2 || got[1].Reason != wire.ReasonBanned {
			t.Fatalf("revocations = %+v", got)
		}
	})
}

func TestRevokeOfManyMembersSplitsIntoEntriesOfAtMostABatch(t *testing.T) {
	testRevokeOfManyMembersSplitsIntoEntriesOfAtMostABatch(t, setup(t))
}

func testRevokeOfManyMembersSplitsIntoEntriesOfAtMostABatch(t *testing.T, b bundle) {
	r, err := NewRevoker(b.client, b.layout)
	if err != nil {
		t.Fatal(err)
	}
	members := make([]string, revokeBatch+3)
	for i := range members {
		members[i] = "m" + strconv.Itoa(i)
	}
	if err := r.Revoke(context.Background(), "big", members, wire.ReasonPasscodeChanged); err != nil {
		t.Fatal(err)
	}
	got := b.revocations(t, "big")
	if len(got) != 2 || len(got[0].Members) != revokeBatch || len(got[1].Members) != 3 {
		t.Fatalf("%d entries", len(got))
	}
	if n, err := b.do(t, b.client.B().Exists().Key(b.layout.Revoked("big", members[len(members)-1])).Build()).AsInt64(); err != nil || n != 1 {
		t.Fatalf("last member not marked: %d, %v", n, err)
	}
}

func TestRevokeRefusesWhatRealtimeCouldNotRead(t *testing.T) {
	testRevokeRefusesWhatRealtimeCouldNotRead(t, setup(t))
}

func testRevokeRefusesWhatRealtimeCouldNotRead(t *testing.T, b bundle) {
	r, err := NewRevoker(b.client, b.layout)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		room    string
		members []string
		reason  string
	}{
		{"an unknown reason", "r", []string{"m"}, "kicked"},
		{"no room", "", []string{"m"}, wire.ReasonRemoved},
		{"an empty member id", "r", []string{""}, wire.ReasonRemoved},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			if err := r.Revoke(context.Background(), tt.room, tt.members, tt.reason); err == nil {
				t.Fatal("Revoke succeeded")
			}
		})
	}
	if err := r.Revoke(context.Background(), "r", nil, wire.ReasonRemoved); err != nil {
		t.Fatalf("revoking nobody: %v", err)
	}
	if got := b.revocations(t, "r"); len(got) != 0 {
		t.Fatalf("revocations = %+v", got)
	}
}

func TestOnlineListsMembersWithALiveConnection(t *testing.T) {
	testOnlineListsMembersWithALiveConnection(t, setup(t))
}

func testOnlineListsMembersWithALiveConnection(t *testing.T, b bundle) {
	ctx := context.Background()
	p, err := NewPresence(b.client, b.layout)
	if err != nil {
		t.Fatal(err)
	}
	room := "room-p"
	if got, err := p.Online(ctx, room); err != nil || len(got) != 0 {
		t.Fatalf("empty room: %v, %v", got, err)
	}
	now, err := b.do(t, b.client.B().Time().Build()).AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	sec, _ := strconv.ParseInt(now[0], 10, 64)
	nowMs := sec * 1000
	set, info := b.layout.Presence(room)
	// As realtime writes them: two connections of m1, one of guest m2, and m3's entry
	// that expired without being swept yet.
	entries := []struct {
		client  wire.Client
		expires int64
	}{
		{wire.Client{ClientID: "c1", MemberID: "m1", Name: "Ada"}, nowMs + 60_000},
		{wire.Client{ClientID: "c2", MemberID: "m1", Name: "Ada"}, nowMs + 60_000},
		{wire.Client{ClientID: "c3", MemberID: "m2", Name: "Eve", Guest: true}, nowMs + 60_000},
		{wire.Client{ClientID: "c4", MemberID: "m3", Name: "Bob"}, nowMs - 10_000},
	}
	for _, e := range entries {
		data, _ := json.Marshal(e.client)
		if err := b.do(t, b.client.B().Zadd().Key(set).ScoreMember().ScoreMember(float64(e.expires), e.client.ClientID).Build()).Error(); err != nil {
			t.Fatal(err)
		}
		if err := b.do(t, b.client.B().Hset().Key(info).FieldValue().FieldValue(e.client.ClientID, string(data)).Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
	got, err := p.Online(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got["m1"] || !got["m2"] {
		t.Fatalf("online = %v, want m1 and m2", got)
	}
}
