package broker

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/harness/devstack"
	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
	"github.com/quickchat-go/quickchat/pkg/roomredis"
	"github.com/quickchat-go/quickchat/pkg/wire"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node/nodetest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// waitFor is a hang guard, not a timing assertion: conditions here become true as soon as
// Redis has done its work.
const waitFor = 30 * time.Second

type bundle struct {
	client rueidis.Client
	broker *RedisBroker
	prefix string
}

func setup(tb testing.TB, addr string, mutate func(*RedisBrokerConfig)) bundle {
	tb.Helper()
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(client.Close)
	return newBundle(tb, client, testenv.KeyPrefix(tb), mutate)
}

// newBundle returns a broker of the tests' usual configuration over client, under prefix.
func newBundle(tb testing.TB, client rueidis.Client, prefix string, mutate func(*RedisBrokerConfig)) bundle {
	tb.Helper()
	cfg := RedisBrokerConfig{
		Prefix: prefix, Shards: 4, StreamMaxLen: 1000, HistorySize: 100,
		HistoryTTL: time.Hour, MetaTTL: 2 * time.Hour, Block: 200 * time.Millisecond, ReadCount: 100,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	b, err := NewRedisBroker(client, cfg, zap.NewNop())
	if err != nil {
		tb.Fatal(err)
	}
	return bundle{client: client, broker: b, prefix: prefix}
}

func publish(tb testing.TB, b *RedisBroker, room, clientMsgID string) wire.Position {
	tb.Helper()
	k := node.DedupKey{Room: room, Sender: "s", ClientMsgID: clientMsgID}
	res, err := b.Reserve(context.Background(), k, "id-"+clientMsgID, "owner-"+clientMsgID, time.Hour, time.Minute, node.Quota{})
	if err != nil {
		tb.Fatal(err)
	}
	pos, _, err := b.Publish(context.Background(), k, res.ID, []byte("data-"+clientMsgID), 100, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return pos
}

// TestRedisBrokerConforms runs the suite every node.Broker must pass, the in-memory one
// of node's tests included.
func TestRedisBrokerConforms(t *testing.T) {
	addr := testenv.RedisAddr(t)
	nodetest.TestBroker(t, func(t *testing.T) node.Broker { return setup(t, addr, nil).broker })
}

// TestRedisBrokerRevocationConforms revokes as the gateway does, through a
// roomredis.Revoker over the same prefix and shards.
func TestRedisBrokerRevocationConforms(t *testing.T) {
	addr := testenv.RedisAddr(t)
	nodetest.TestRevocation(t, func(t *testing.T) (node.Broker, nodetest.Revoke) {
		b := setup(t, addr, nil)
		return b.broker, func(t *testing.T, room string, members ...string) {
			t.Helper()
			revoke(t, b, room, wire.ReasonRemoved, members...)
		}
	})
}

func revoke(tb testing.TB, b bundle, room, reason string, members ...string) {
	tb.Helper()
	r, err := roomredis.NewRevoker(b.client, roomredis.Layout{Prefix: b.prefix, Shards: b.broker.cfg.Shards})
	if err != nil {
		tb.Fatal(err)
	}
	if err := r.Revoke(context.Background(), room, members, reason); err != nil {
		tb.Fatal(err)
	}
}

func TestReaderHandsOnRevocationsInRoomOrder(t *testing.T) {
	t.Parallel()
	b := setup(t, testenv.RedisAddr(t), nil)
	rec := run(t, b.broker)
	publish(t, b.broker, "room", "before")
	revoke(t, b, "room", wire.ReasonPasscodeChanged, "m1", "m2")
	publish(t, b.broker, "room", "after")
	entries := rec.waitUntil(t, "both messages and the revocation", func(es []node.Entry) bool { return len(es) == 3 })
	r := entries[1]
	if entries[0].Kind != node.KindMessage || entries[2].Kind != node.KindMessage || r.Kind != node.KindRevoke {
		t.Fatalf("kinds = %c %c %c, want m r m", entries[0].Kind, r.Kind, entries[2].Kind)
	}
	if r.Room != "room" || r.Reason != wire.ReasonPasscodeChanged || len(r.Members) != 2 || r.Members[0] != "m1" || r.Members[1] != "m2" {
		t.Fatalf("revocation = %+v", r)
	}
}

// TestRecoverTellsClientsToReloadWhatRedisNoLongerHas covers what only Redis can lose;
// the conformance suite covers the rest of recovery.
func TestRecoverTellsClientsToReloadWhatRedisNoLongerHas(t *testing.T) {
	t.Parallel()
	addr := testenv.RedisAddr(t)
	tests := []struct {
		name         string
		historySize  int64
		publish      int
		since        func(epoch string) *wire.Position
		damage       func(b bundle)
		wantComplete bool
		wantEntries  int
	}{
		// 250 behind is within the recovery limit; Redis trims streams by whole nodes of
		// about 100 entries, so a history of ~10 keeps far fewer than 250.
		{"a client before the trimmed history is told to reload", 10, 300, func(e string) *wire.Position { return &wire.Position{Epoch: e, Offset: 50} }, nil, false, 0},
		{"a room whose meta was lost gets a new epoch and the client is told to reload", 100, 5,
			func(e string) *wire.Position { return &wire.Position{Epoch: e, Offset: 3} },
			func(b bundle) {
				meta := b.broker.roomKey("room", "meta")
				if err := b.client.Do(context.Background(), b.client.B().Del().Key(meta).Build()).Error(); err != nil {
					panic(err)
				}
			}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, addr, func(c *RedisBrokerConfig) { c.HistorySize = tt.historySize })
			for i := 0; i < tt.publish; i++ {
				publish(t, b.broker, "room", strconv.Itoa(i))
			}
			limit := node.RecoverLimits{Messages: 1000, Bytes: math.MaxInt64}
			top, err := b.broker.Recover(context.Background(), "room", nil, limit)
			if err != nil {
				t.Fatal(err)
			}
			if tt.damage != nil {
				tt.damage(b)
			}
			rec, err := b.broker.Recover(context.Background(), "room", tt.since(top.Top.Epoch), limit)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Complete != tt.wantComplete || len(rec.Entries) != tt.wantEntries {
				t.Fatalf("complete %v with %d entries, want %v with %d", rec.Complete, len(rec.Entries), tt.wantComplete, tt.wantEntries)
			}
			if tt.damage != nil && rec.Top.Epoch == top.Top.Epoch {
				t.Fatal("a room that lost its meta must get a new epoch")
			}
		})
	}
}

// recording collects dispatched entries.
type recording struct {
	mu      sync.Mutex
	entries []node.Entry
	changed chan struct{}
}

func newRecording() *recording { return &recording{changed: make(chan struct{}, 1)} }

func (r *recording) Dispatch(e node.Entry) {
	r.mu.Lock()
	r.entries = append(r.entries, e)
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// waitUntil waits until cond holds for the recorded entries.
func (r *recording) waitUntil(tb testing.TB, what string, cond func([]node.Entry) bool) []node.Entry {
	tb.Helper()
	deadline := time.After(waitFor)
	for {
		r.mu.Lock()
		entries := append([]node.Entry(nil), r.entries...)
		r.mu.Unlock()
		if cond(entries) {
			return entries
		}
		select {
		case <-r.changed:
		case <-deadline:
			tb.Fatalf("gave up waiting for %s; have %d entries", what, len(entries))
		}
	}
}

func countKind(entries []node.Entry, k node.Kind) int {
	n := 0
	for _, e := range entries {
		if e.Kind == k {
			n++
		}
	}
	return n
}

func run(tb testing.TB, b *RedisBroker) *recording {
	tb.Helper()
	rec := newRecording()
	if err := b.Pin(context.Background()); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = b.Run(ctx, rec); close(done) }()
	tb.Cleanup(func() { cancel(); <-done })
	return rec
}

func TestReaderDeliversEveryRoomInOrder(t *testing.T) {
	t.Parallel()
	b := setup(t, testenv.RedisAddr(t), nil)
	rec := run(t, b.broker)
	const rooms, per = 6, 15
	for i := 0; i < per; i++ {
		for r := 0; r < rooms; r++ {
			publish(t, b.broker, fmt.Sprintf("room-%d", r), strconv.Itoa(i))
		}
	}
	if _, err := b.broker.PublishEvent(context.Background(), "room-0", node.KindTyping, []byte("typing"), node.Quota{}); err != nil {
		t.Fatal(err)
	}
	entries := rec.waitUntil(t, "every message", func(es []node.Entry) bool { return len(es) == rooms*per+1 })
	last := map[string]uint64{}
	for _, e := range entries {
		if e.Kind == node.KindTyping {
			if e.Room != "room-0" || string(e.Data) != "typing" {
				t.Fatalf("typing event = %+v", e)
			}
			continue
		}
		if e.Pos.Offset != last[e.Room]+1 {
			t.Fatalf("room %s: offset %d after %d", e.Room, e.Pos.Offset, last[e.Room])
		}
		last[e.Room] = e.Pos.Offset
	}
}

func TestReaderCarriesOnAfterRedisLosesItsData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, err := devstack.StartRedis(ctx, devstack.RedisConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	b := setup(t, srv.Addr(), func(c *RedisBrokerConfig) { c.Shards = 1 })
	rec := run(t, b.broker)
	publish(t, b.broker, "room", "before")
	rec.waitUntil(t, "the message before the crash", func(es []node.Entry) bool { return len(es) == 1 })

	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Commands on connections the crash broke fail once; clients retry, and so do we.
	deadline := time.Now().Add(waitFor)
	for b.broker.Ping(ctx) != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	// A restart that lost everything: the stream starts again from nothing.
	if err := b.client.Do(ctx, b.client.B().Flushall().Build()).Error(); err != nil {
		t.Fatal(err)
	}
	pos := publish(t, b.broker, "room", "after")
	entries := rec.waitUntil(t, "the message after the loss", func(es []node.Entry) bool { return len(es) == 2 })
	if string(entries[1].Data) != "data-after" || entries[1].Pos != pos || pos.Epoch == entries[0].Pos.Epoch {
		t.Fatalf("after the loss got %+v at %+v; want data-after in a new epoch", entries[1], pos)
	}
}

func TestPresenceExpiresAndIsSweptOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, testenv.RedisAddr(t), nil)
	rec := run(t, b.broker)
	ctx := context.Background()
	publish(t, b.broker, "room", "warmup")

	if err := b.broker.AddPresence(ctx, "room", "dying", []byte(`{"client_id":"dying"}`), 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := b.broker.AddPresence(ctx, "room", "alive", []byte(`{"client_id":"alive"}`), time.Minute); err != nil {
		t.Fatal(err)
	}
	rec.waitUntil(t, "two join events", func(es []node.Entry) bool { return countKind(es, node.KindPresenceJoin) == 2 })
	// Nobody refreshes "dying", as if its instance had died.
	deadline := time.After(waitFor)
	for {
		list, err := b.broker.Presence(ctx, "room", 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 1 && string(list[0]) == `{"client_id":"alive"}` {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("presence still lists %q", list)
		case <-time.After(50 * time.Millisecond):
		}
	}
	// Two instances sweep; exactly one leave event results.
	alive := map[string][]node.PresenceClient{"room": {{ID: "alive", Data: []byte(`{"client_id":"alive"}`)}}}
	for i := 0; i < 2; i++ {
		if err := b.broker.RefreshPresence(ctx, alive, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.broker.RemovePresence(ctx, "room", "alive"); err != nil {
		t.Fatal(err)
	}
	if err := b.broker.RemovePresence(ctx, "room", "alive"); err != nil {
		t.Fatal(err)
	}
	publish(t, b.broker, "room", "marker") // everything before it has been read once it is
	entries := rec.waitUntil(t, "the marker", func(es []node.Entry) bool { return countKind(es, node.KindMessage) == 2 })
	var leaves []string
	for _, e := range entries {
		if e.Kind == node.KindPresenceLeave {
			leaves = append(leaves, string(e.Data))
		}
	}
	if len(leaves) != 2 || leaves[0] != `{"client_id":"dying"}` || leaves[1] != `{"client_id":"alive"}` {
		t.Fatalf("leave events %q; want one for the expired client, then one for the removed one", leaves)
	}
}

// TestRecoverSizesHistoryWrittenBeforeSizesWereKept covers rooms whose history predates
// the sizes publish.lua keeps for replay budgets: their gaps are sized from the data.
func TestRecoverSizesHistoryWrittenBeforeSizesWereKept(t *testing.T) {
	t.Parallel()
	b := setup(t, testenv.RedisAddr(t), nil)
	ctx := context.Background()
	data := strings.Repeat("x", 100)
	// Three messages as an older publish.lua left them: no sizes in the meta or entries.
	cmds := rueidis.Commands{b.client.B().Hset().Key(b.broker.roomKey("old", "meta")).FieldValue().FieldValue("e", "olden").FieldValue("s", "3").Build()}
	for i := 1; i <= 3; i++ {
		cmds = append(cmds, b.client.B().Xadd().Key(b.broker.roomKey("old", "hist")).Id(fmt.Sprintf("%d-0", i)).FieldValue().FieldValue("d", data).Build())
	}
	for _, r := range b.client.DoMulti(ctx, cmds...) {
		if err := r.Error(); err != nil {
			t.Fatal(err)
		}
	}
	since := &wire.Position{Epoch: "olden", Offset: 0}
	const legacy = 3 * (100 + 300) // data plus the usual envelope of a frame
	tests := []struct {
		name         string
		bytes        int64
		wantComplete bool
		wantRefused  node.Refusal
	}{
		{"a bound below the estimate refuses the gap", legacy - 1, false, node.RefusedTooLarge},
		{"a bound at the estimate replays it", legacy, true, node.NotRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := b.broker.Recover(ctx, "old", since, node.RecoverLimits{Messages: 100, Bytes: tt.bytes})
			if err != nil {
				t.Fatal(err)
			}
			if rec.Complete != tt.wantComplete || rec.Refused != tt.wantRefused || rec.Bytes != legacy {
				t.Fatalf("complete %v, refused %d, %d bytes; want %v, %d, %d", rec.Complete, rec.Refused, rec.Bytes, tt.wantComplete, tt.wantRefused, legacy)
			}
		})
	}
	// A message published now carries its size; a gap of new messages is sized exactly.
	k := node.DedupKey{Room: "old", Sender: "s", ClientMsgID: "new"}
	if _, err := b.broker.Reserve(ctx, k, "id-new", "o", time.Hour, time.Minute, node.Quota{}); err != nil {
		t.Fatal(err)
	}
	pos, _, err := b.broker.Publish(ctx, k, "id-new", []byte("y"), 777, time.Hour)
	if err != nil || pos.Offset != 4 {
		t.Fatalf("publish into the old room = %+v, %v; want offset 4", pos, err)
	}
	rec, err := b.broker.Recover(ctx, "old", &wire.Position{Epoch: "olden", Offset: 3}, node.RecoverLimits{Messages: 100, Bytes: math.MaxInt64})
	if err != nil || !rec.Complete || rec.Bytes != 777 || len(rec.Entries) != 1 {
		t.Fatalf("recover the new message = %+v, %v; want it, sized 777", rec, err)
	}
}

func TestStreamIDsGiveTheTimeTheyWereAdded(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want time.Time
	}{
		{"1764201600123-0", time.UnixMilli(1764201600123)},
		{"1764201600123-17", time.UnixMilli(1764201600123)},
		{"5-0", time.UnixMilli(5)},
		{"0-1", time.Time{}},
		{"not-an-id", time.Time{}},
		{"", time.Time{}},
	} {
		if got := idTime(tc.id); !got.Equal(tc.want) {
			t.Errorf("idTime(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}
