package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/event"
	"github.com/quickchat-go/quickchat/pkg/wire"
	"github.com/quickchat-go/quickchat/services/realtime/internal/hub"
	"github.com/quickchat-go/quickchat/services/realtime/internal/metrics"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node/nodetest"
)

type fakeProducer struct {
	mu      sync.Mutex
	ids     []string
	failing bool
}

func (p *fakeProducer) Produce(_ context.Context, key string, value []byte) error {
	m, err := event.Decode(value)
	if err != nil {
		return err
	}
	if m.GetGroupId() != key {
		return errors.New("record not keyed by its group")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ids = append(p.ids, m.GetId())
	if p.failing {
		return errors.New("kafka is down")
	}
	return nil
}

type bundle struct {
	node     *node.Node
	broker   *nodetest.MemoryBroker
	producer *fakeProducer
}

// setup returns a node over an in-memory broker; mutate, if not nil, changes its config.
func setup(tb testing.TB, mutate func(*node.Config)) bundle {
	tb.Helper()
	b, p := nodetest.NewMemoryBroker(), &fakeProducer{}
	cfg := node.Config{DedupTTL: time.Hour, SendTimeout: 5 * time.Second, RecoverLimit: 100, RecoverMaxBytes: 1 << 20, TypingTTL: time.Second}
	if mutate != nil {
		mutate(&cfg)
	}
	n := node.New(hub.New(), b, nil, p, cfg, metrics.Discard(), zap.NewNop())
	return bundle{node: n, broker: b, producer: p}
}

// history returns the room's messages as the broker keeps them.
func (b bundle) history(tb testing.TB, room string) []node.Entry {
	tb.Helper()
	ctx := context.Background()
	lim := node.RecoverLimits{Messages: 1000, Bytes: math.MaxInt64}
	top, err := b.broker.Recover(ctx, room, nil, lim)
	if err != nil {
		tb.Fatal(err)
	}
	all, err := b.broker.Recover(ctx, room, &wire.Position{Epoch: top.Top.Epoch}, lim)
	if err != nil || !all.Complete {
		tb.Fatalf("history of %s: %+v, %v", room, all, err)
	}
	return all.Entries
}

const (
	room   = "0b9d7a0e-6a3e-4c55-9a47-6a1f3b7b8c11"
	member = "6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"
)

var sender = node.Sender{MemberID: member, Name: "Ada", GroupID: room}

func TestSendIsAcceptedOncePerClientMessageID(t *testing.T) {
	b := setup(t, nil)
	ctx := context.Background()
	first, err := b.node.Send(ctx, sender, "c1", "hello")
	if err != nil {
		t.Fatal(err)
	}
	if first.Duplicate || first.Pos.Offset != 1 {
		t.Fatalf("first send = %+v, want a fresh message at offset 1", first)
	}
	again, err := b.node.Send(ctx, sender, "c1", "hello")
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || again.Pos != first.Pos || !again.Duplicate {
		t.Fatalf("resend = %+v, want the first message %+v marked duplicate", again, first)
	}
	if published := len(b.history(t, room)); len(b.producer.ids) != 1 || published != 1 {
		t.Fatalf("produced %d records and published %d messages, want 1 and 1", len(b.producer.ids), published)
	}
	other, err := b.node.Send(ctx, sender, "c2", "hello")
	if err != nil || other.ID == first.ID || other.Pos.Offset != 2 {
		t.Fatalf("a new client message id = %+v, %v; want a new message at offset 2", other, err)
	}
}

func TestFailedSendCanBeRetriedWithTheSameID(t *testing.T) {
	b := setup(t, nil)
	ctx := context.Background()
	b.producer.failing = true
	if _, err := b.node.Send(ctx, sender, "c1", "hello"); !errors.Is(err, node.ErrUnavailable) {
		t.Fatalf("send with Kafka down: err = %v, want ErrUnavailable", err)
	}
	b.producer.failing = false
	acc, err := b.node.Send(ctx, sender, "c1", "hello")
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if len(b.producer.ids) != 2 || b.producer.ids[0] != b.producer.ids[1] || acc.ID != b.producer.ids[0] {
		t.Fatalf("records %v, ack id %s: a retry must reuse the first attempt's message id", b.producer.ids, acc.ID)
	}
	if published := len(b.history(t, room)); published != 1 {
		t.Fatalf("published %d messages, want 1", published)
	}
}

type recorder struct{ frames []*hub.Frame }

func (r *recorder) Deliver(f *hub.Frame) { r.frames = append(r.frames, f) }

func TestDispatchFillsGapsFromHistoryInOrder(t *testing.T) {
	b := setup(t, nil)
	ctx := context.Background()
	for _, c := range []string{"c1", "c2", "c3", "c4"} {
		if _, err := b.node.Send(ctx, sender, c, "body "+c); err != nil {
			t.Fatal(err)
		}
	}
	rec := &recorder{}
	b.node.Subscribe(room, rec)
	h := b.history(t, room)
	b.node.Dispatch(h[0])
	b.node.Dispatch(h[3]) // 2 and 3 never arrived from the stream
	b.node.Dispatch(h[2]) // late duplicate
	var got []uint64
	for _, f := range rec.frames {
		var m wire.ServerFrame
		if err := json.Unmarshal(f.Data, &m); err != nil {
			t.Fatal(err)
		}
		if m.Type != wire.TypeMessage || m.Offset != f.Offset || m.Message == nil || m.Message.Body == "" {
			t.Fatalf("frame %s does not match its position %d", f.Data, f.Offset)
		}
		got = append(got, f.Offset)
	}
	if len(got) != 4 || got[0] != 1 || got[1] != 2 || got[2] != 3 || got[3] != 4 {
		t.Fatalf("delivered offsets %v, want [1 2 3 4]", got)
	}
}

func TestMessageFramesCarryTheAcceptanceTimeInRFC3339(t *testing.T) {
	b := setup(t, nil)
	before := time.Now().Add(-time.Millisecond)
	acc, err := b.node.Send(context.Background(), sender, "c1", "hello")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	b.node.Subscribe(room, rec)
	b.node.Dispatch(b.history(t, room)[0])
	if len(rec.frames) != 1 {
		t.Fatalf("got %d frames, want 1", len(rec.frames))
	}
	var raw struct {
		Message struct {
			ID        string `json:"id"`
			CreatedAt string `json:"created_at"`
		} `json:"message"`
	}
	if err := json.Unmarshal(rec.frames[0].Data, &raw); err != nil {
		t.Fatal(err)
	}
	at, err := time.Parse(time.RFC3339, raw.Message.CreatedAt)
	if err != nil || raw.Message.ID != acc.ID || len(raw.Message.CreatedAt) != len("2026-11-27T16:12:03.123Z") ||
		!strings.HasSuffix(raw.Message.CreatedAt, "Z") || at.Before(before) || at.After(time.Now()) {
		t.Fatalf("created_at %q (%v) of message %s; want the acceptance time of %s as RFC 3339 UTC with milliseconds",
			raw.Message.CreatedAt, err, raw.Message.ID, acc.ID)
	}
}

func TestRecoverReportsWhetherItIsComplete(t *testing.T) {
	b := setup(t, nil)
	ctx := context.Background()
	for _, c := range []string{"c1", "c2", "c3"} {
		if _, err := b.node.Send(ctx, sender, c, "x"); err != nil {
			t.Fatal(err)
		}
	}
	epoch := b.history(t, room)[0].Pos.Epoch
	tests := []struct {
		name         string
		since        *wire.Position
		wantComplete bool
		wantFrames   int
	}{
		{"no position asked means nothing replayed", nil, false, 0},
		{"a position in the window replays the rest", &wire.Position{Epoch: epoch, Offset: 1}, true, 2},
		{"the current position is complete with nothing to replay", &wire.Position{Epoch: epoch, Offset: 3}, true, 0},
		{"another epoch cannot be recovered", &wire.Position{Epoch: "old", Offset: 1}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := b.node.Recover(ctx, room, member, tt.since, math.MaxInt64)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Complete != tt.wantComplete || len(rec.Frames) != tt.wantFrames || rec.Top.Offset != 3 {
				t.Fatalf("Recover = complete %v, %d frames, top %+v; want %v, %d, offset 3", rec.Complete, len(rec.Frames), rec.Top, tt.wantComplete, tt.wantFrames)
			}
		})
	}
}

func TestPresenceEventsReachOnlyRoomsUpToTheLimit(t *testing.T) {
	tests := []struct {
		name    string
		members int
		limit   int
		want    int // frames each member gets
	}{
		{"a room at the limit gets the event", 3, 3, 1},
		{"a room over the limit gets none", 4, 3, 0},
		{"no limit means every room gets it", 50, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setup(t, func(c *node.Config) { c.PresenceEventsMaxRoom = tt.limit })
			recs := make([]*recorder, tt.members)
			for i := range recs {
				recs[i] = &recorder{}
				b.node.Subscribe(room, recs[i])
			}
			b.node.Dispatch(node.Entry{Kind: node.KindPresenceJoin, Room: room, Data: []byte(`{"client_id":"c"}`)})
			for i, r := range recs {
				if len(r.frames) != tt.want {
					t.Fatalf("member %d got %d frames, want %d", i, len(r.frames), tt.want)
				}
			}
		})
	}
}

func TestSendOverTheMemberQuotaIsRefusedBeforeKafka(t *testing.T) {
	b := setup(t, func(c *node.Config) { c.SendRate, c.SendBurst = 0.001, 2 })
	ctx := context.Background()
	for _, c := range []string{"c1", "c2"} {
		if _, err := b.node.Send(ctx, sender, c, "hi"); err != nil {
			t.Fatalf("send %s within the burst: %v", c, err)
		}
	}
	_, err := b.node.Send(ctx, sender, "c3", "one too many")
	var limited *node.LimitedError
	if !errors.As(err, &limited) || limited.RetryAfter <= 0 {
		t.Fatalf("a third send = %v; want a LimitedError with a wait", err)
	}
	if len(b.producer.ids) != 2 {
		t.Fatalf("Kafka got %d records; want only the 2 accepted messages", len(b.producer.ids))
	}
	if again, err := b.node.Send(ctx, sender, "c1", "hi"); err != nil || !again.Duplicate {
		t.Fatalf("a resend of an accepted message = %+v, %v; want its duplicate ack, not a refusal", again, err)
	}
	other := node.Sender{MemberID: "7a8b9c0d-0000-4000-8000-000000000001", Name: "Grace", GroupID: room}
	if _, err := b.node.Send(ctx, other, "c1", "hello"); err != nil {
		t.Fatalf("another member's send: %v; quotas are per member", err)
	}
}

func TestTypingPassesOncePerMemberAndInterval(t *testing.T) {
	b := setup(t, func(c *node.Config) { c.TypingInterval = time.Hour })
	ctx := context.Background()
	typing := func(member, client string) bool {
		t.Helper()
		sent, err := b.node.Typing(ctx, room, member, client, []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		return sent
	}
	if !typing(member, "tab-1") {
		t.Fatal("the first typing event was dropped")
	}
	if typing(member, "tab-2") {
		t.Fatal("the same member's second connection passed a typing event within the interval")
	}
	if !typing("7a8b9c0d-0000-4000-8000-000000000001", "tab-3") {
		t.Fatal("another member's typing event was dropped")
	}
}

func TestRecoverSaysWhichBudgetRefusedAReplay(t *testing.T) {
	const body = 1000
	b := setup(t, func(c *node.Config) {
		// A message frame is the body plus a few hundred bytes: two fit the bound, three
		// do not; the member's budget pays two replays of two.
		c.RecoverMaxBytes, c.ReplayRate, c.ReplayBurst = 3*body, 0.001, 6*body
	})
	ctx := context.Background()
	for _, c := range []string{"c1", "c2", "c3"} {
		if _, err := b.node.Send(ctx, sender, c, strings.Repeat("x", body)); err != nil {
			t.Fatal(err)
		}
	}
	epoch := b.history(t, room)[0].Pos.Epoch
	at := func(offset uint64) *wire.Position { return &wire.Position{Epoch: epoch, Offset: offset} }
	const unlimited = math.MaxInt64
	tests := []struct {
		name         string
		member       string
		since        *wire.Position
		allowance    int64
		wantComplete bool
		wantSpent    string
	}{
		{"a gap over the byte bound is not replayed and no budget is blamed", member, at(0), unlimited, false, ""},
		{"a gap within the bound is replayed", member, at(1), unlimited, true, ""},
		{"the member's budget pays a second replay", member, at(1), unlimited, true, ""},
		{"a third replay is refused by the member's budget", member, at(1), unlimited, false, node.BudgetMember},
		{"a connection without allowance is refused by its own budget", "7a8b9c0d-0000-4000-8000-000000000001", at(1), 10, false, node.BudgetConnection},
	}
	for _, tt := range tests {
		rec, err := b.node.Recover(ctx, room, tt.member, tt.since, tt.allowance)
		if err != nil {
			t.Fatal(err)
		}
		wantFrames := 0
		if tt.wantComplete {
			wantFrames = 2
		}
		if rec.Complete != tt.wantComplete || rec.Spent != tt.wantSpent || len(rec.Frames) != wantFrames || rec.Bytes <= 0 {
			t.Fatalf("%s: complete %v, spent %q, %d frames, %d bytes; want %v, %q, %d frames and the gap's size",
				tt.name, rec.Complete, rec.Spent, len(rec.Frames), rec.Bytes, tt.wantComplete, tt.wantSpent, wantFrames)
		}
		if tt.wantComplete {
			var size int
			for _, f := range rec.Frames {
				size += len(f)
			}
			if int64(size) > rec.Bytes {
				t.Fatalf("%s: the replayed frames are %d bytes but were charged %d", tt.name, size, rec.Bytes)
			}
		}
	}
}

func TestRevocationsReachTheRoomAsARemovedFrameNamingTheMembers(t *testing.T) {
	tests := []struct {
		name, reason, wantReason string
	}{
		{"a documented reason is passed on", wire.ReasonBanned, wire.ReasonBanned},
		{"an undocumented reason reads as removed", "kicked", wire.ReasonRemoved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setup(t, nil)
			r := &recorder{}
			b.node.Subscribe(room, r)
			b.node.Dispatch(node.Entry{Kind: node.KindRevoke, Room: room, Members: []string{member, "m2"}, Reason: tt.reason})
			if len(r.frames) != 1 {
				t.Fatalf("%d frames, want 1", len(r.frames))
			}
			f := r.frames[0]
			var got wire.ServerFrame
			if err := json.Unmarshal(f.Data, &got); err != nil {
				t.Fatal(err)
			}
			if got.Type != wire.TypeRemoved || got.GroupID != room || got.Reason != tt.wantReason || f.Reason != tt.wantReason {
				t.Fatalf("frame %s (reason %q), want removed with %q", f.Data, f.Reason, tt.wantReason)
			}
			if len(f.Revoked) != 2 || !f.Revoked[member] || !f.Revoked["m2"] || f.Offset != 0 {
				t.Fatalf("frame names %v at offset %d, want both members and no position", f.Revoked, f.Offset)
			}
		})
	}
}

func TestSendOfARevokedMemberIsRefusedBeforeKafka(t *testing.T) {
	b := setup(t, nil)
	guest := sender
	guest.Guest = true
	if _, err := b.node.Send(context.Background(), guest, "c1", "before"); err != nil {
		t.Fatal(err)
	}
	if h := b.history(t, room); len(h) != 1 || !decode(t, h[0]).GetSenderGuest() {
		t.Fatalf("history = %+v, want one message marked as a guest's", h)
	}
	b.broker.Revoke(room, member)
	for _, id := range []string{"c1", "c2"} {
		if _, err := b.node.Send(context.Background(), guest, id, "after"); !errors.Is(err, node.ErrRevoked) {
			t.Fatalf("send %s after the revocation = %v, want ErrRevoked", id, err)
		}
	}
	if len(b.producer.ids) != 1 {
		t.Fatalf("%d records produced, want only the one before the revocation", len(b.producer.ids))
	}
}

func decode(tb testing.TB, e node.Entry) *event.Message {
	tb.Helper()
	m, err := event.Decode(e.Data)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func TestOnlyTheOwnerDeletesAndTheDeletionIsAnEventOfTheRoom(t *testing.T) {
	b := setup(t, nil)
	ctx := context.Background()
	msg, err := b.node.Send(ctx, sender, "c1", "hello")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.node.Delete(ctx, sender, "d1", msg.ID); !errors.Is(err, node.ErrForbidden) {
		t.Fatalf("delete by a member who is not the owner = %v, want ErrForbidden", err)
	}
	if len(b.producer.ids) != 1 {
		t.Fatalf("%d records produced, want only the message: a refused delete writes nothing", len(b.producer.ids))
	}
	owner := node.Sender{MemberID: "7a1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f", Name: "Olga", GroupID: room, Owner: true}
	del, err := b.node.Delete(ctx, owner, "d1", msg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if del.ID == msg.ID || del.Pos.Offset != 2 || del.Duplicate {
		t.Fatalf("deletion = %+v, want an event of its own at offset 2", del)
	}
	again, err := b.node.Delete(ctx, owner, "d1", msg.ID)
	if err != nil || again.ID != del.ID || again.Pos != del.Pos || !again.Duplicate {
		t.Fatalf("repeated delete = %+v, %v; want the first deletion marked duplicate", again, err)
	}
	h := b.history(t, room)
	if len(h) != 2 || len(b.producer.ids) != 2 {
		t.Fatalf("published %d events and produced %d records, want 2 and 2", len(h), len(b.producer.ids))
	}
	if d := decode(t, h[1]); !event.IsDeletion(d) || d.GetDeletion().GetMessageId() != msg.ID || d.GetSenderId() != owner.MemberID || d.GetBody() != "" {
		t.Fatalf("stream entry %v, want the owner's deletion of %s", d, msg.ID)
	}

	rec := &recorder{}
	b.node.Subscribe(room, rec)
	for _, e := range h {
		b.node.Dispatch(e)
	}
	if len(rec.frames) != 2 {
		t.Fatalf("got %d frames, want the message and its deletion", len(rec.frames))
	}
	var f wire.ServerFrame
	if err := json.Unmarshal(rec.frames[1].Data, &f); err != nil {
		t.Fatal(err)
	}
	if f.Type != wire.TypeDeleted || f.ID != del.ID || f.MessageID != msg.ID || f.DeletedBy != owner.MemberID ||
		f.DeletedAt == nil || f.Position != del.Pos || rec.frames[1].Offset != 2 || f.Message != nil {
		t.Fatalf("deletion frame %s; want message_deleted of %s by the owner at %+v", rec.frames[1].Data, msg.ID, del.Pos)
	}
}
