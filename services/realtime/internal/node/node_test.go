package node

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/event"
	"github.com/quickchat-go/quickchat/services/realtime/internal/broker"
	"github.com/quickchat-go/quickchat/services/realtime/internal/hub"
	"github.com/quickchat-go/quickchat/services/realtime/internal/metrics"
	"github.com/quickchat-go/quickchat/services/realtime/internal/protocol"
)

// fakeBroker keeps dedup state and room history in memory, with the semantics of the Redis
// scripts that matter to the node. The Redis broker itself is tested against Redis.
type fakeBroker struct {
	mu        sync.Mutex
	state     map[broker.DedupKey]broker.Reservation
	leased    map[broker.DedupKey]string
	history   map[string][]broker.Entry
	published int
}

func newFakeBroker() *fakeBroker {
	return &fakeBroker{state: map[broker.DedupKey]broker.Reservation{}, leased: map[broker.DedupKey]string{}, history: map[string][]broker.Entry{}}
}

func (b *fakeBroker) Reserve(_ context.Context, k broker.DedupKey, id, owner string, _, _ time.Duration) (broker.Reservation, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.state[k]
	if !ok {
		b.state[k] = broker.Reservation{State: broker.Pending, ID: id}
		b.leased[k] = owner
		return broker.Reservation{State: broker.Owned, ID: id}, nil
	}
	if r.State == broker.Done {
		return r, nil
	}
	if b.leased[k] == "" {
		b.leased[k] = owner
		return broker.Reservation{State: broker.Owned, ID: r.ID}, nil
	}
	return broker.Reservation{State: broker.Pending, ID: r.ID}, nil
}

func (b *fakeBroker) Release(_ context.Context, k broker.DedupKey, owner string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.leased[k] == owner {
		delete(b.leased, k)
	}
	return nil
}

func (b *fakeBroker) Publish(_ context.Context, k broker.DedupKey, id string, data []byte, _ time.Duration) (broker.Position, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r := b.state[k]; r.State == broker.Done {
		return r.Pos, false, nil
	}
	pos := broker.Position{Epoch: "e", Offset: uint64(len(b.history[k.Room]) + 1)}
	b.history[k.Room] = append(b.history[k.Room], broker.Entry{Kind: broker.KindMessage, Room: k.Room, Pos: pos, Data: data})
	b.state[k] = broker.Reservation{State: broker.Done, ID: id, Pos: pos}
	delete(b.leased, k)
	b.published++
	return pos, true, nil
}

func (b *fakeBroker) Recover(_ context.Context, room string, since *broker.Position, limit int) (broker.Recovery, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.history[room]
	rec := broker.Recovery{Top: broker.Position{Epoch: "e", Offset: uint64(len(h))}}
	if since != nil && since.Epoch == "e" && since.Offset <= uint64(len(h)) && len(h)-int(since.Offset) <= limit {
		rec.Entries = append([]broker.Entry(nil), h[since.Offset:]...)
		rec.Complete = true
	}
	return rec, nil
}

func (b *fakeBroker) PublishEvent(context.Context, string, broker.Kind, []byte) error { return nil }

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
	node     *Node
	broker   *fakeBroker
	producer *fakeProducer
}

func setup(tb testing.TB) bundle {
	tb.Helper()
	b, p := newFakeBroker(), &fakeProducer{}
	n := New(hub.New(), b, nil, p, Config{DedupTTL: time.Hour, SendTimeout: 5 * time.Second, RecoverLimit: 100, TypingTTL: time.Second},
		metrics.Discard(), zap.NewNop())
	return bundle{node: n, broker: b, producer: p}
}

const (
	room   = "0b9d7a0e-6a3e-4c55-9a47-6a1f3b7b8c11"
	member = "6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"
)

var sender = Sender{MemberID: member, Name: "Ada", GroupID: room}

func TestSendIsAcceptedOncePerClientMessageID(t *testing.T) {
	b := setup(t)
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
	if len(b.producer.ids) != 1 || b.broker.published != 1 {
		t.Fatalf("produced %d records and published %d times, want 1 and 1", len(b.producer.ids), b.broker.published)
	}
	other, err := b.node.Send(ctx, sender, "c2", "hello")
	if err != nil || other.ID == first.ID || other.Pos.Offset != 2 {
		t.Fatalf("a new client message id = %+v, %v; want a new message at offset 2", other, err)
	}
}

func TestFailedSendCanBeRetriedWithTheSameID(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	b.producer.failing = true
	if _, err := b.node.Send(ctx, sender, "c1", "hello"); !errors.Is(err, ErrUnavailable) {
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
	if b.broker.published != 1 {
		t.Fatalf("published %d times, want 1", b.broker.published)
	}
}

type recorder struct{ frames []*hub.Frame }

func (r *recorder) Deliver(f *hub.Frame) { r.frames = append(r.frames, f) }

func TestDispatchFillsGapsFromHistoryInOrder(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	for _, c := range []string{"c1", "c2", "c3", "c4"} {
		if _, err := b.node.Send(ctx, sender, c, "body "+c); err != nil {
			t.Fatal(err)
		}
	}
	rec := &recorder{}
	b.node.Hub().Subscribe(room, rec)
	h := b.broker.history[room]
	b.node.Dispatch(h[0])
	b.node.Dispatch(h[3]) // 2 and 3 never arrived from the stream
	b.node.Dispatch(h[2]) // late duplicate
	var got []uint64
	for _, f := range rec.frames {
		var m struct {
			Offset  uint64
			Message protocol.Message
		}
		if err := json.Unmarshal(f.Data, &m); err != nil {
			t.Fatal(err)
		}
		if m.Offset != f.Offset || m.Message.Body == "" {
			t.Fatalf("frame %s does not match its position %d", f.Data, f.Offset)
		}
		got = append(got, f.Offset)
	}
	if len(got) != 4 || got[0] != 1 || got[1] != 2 || got[2] != 3 || got[3] != 4 {
		t.Fatalf("delivered offsets %v, want [1 2 3 4]", got)
	}
}

func TestRecoverReportsWhetherItIsComplete(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	for _, c := range []string{"c1", "c2", "c3"} {
		if _, err := b.node.Send(ctx, sender, c, "x"); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name         string
		since        *protocol.Position
		wantComplete bool
		wantFrames   int
	}{
		{"no position asked means nothing replayed", nil, false, 0},
		{"a position in the window replays the rest", &protocol.Position{Epoch: "e", Offset: 1}, true, 2},
		{"the current position is complete with nothing to replay", &protocol.Position{Epoch: "e", Offset: 3}, true, 0},
		{"another epoch cannot be recovered", &protocol.Position{Epoch: "old", Offset: 1}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := b.node.Recover(ctx, room, tt.since)
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
			b := setup(t)
			b.node.cfg.PresenceEventsMaxRoom = tt.limit
			recs := make([]*recorder, tt.members)
			for i := range recs {
				recs[i] = &recorder{}
				b.node.Hub().Subscribe(room, recs[i])
			}
			b.node.Dispatch(broker.Entry{Kind: broker.KindPresenceJoin, Room: room, Data: []byte(`{"client_id":"c"}`)})
			for i, r := range recs {
				if len(r.frames) != tt.want {
					t.Fatalf("member %d got %d frames, want %d", i, len(r.frames), tt.want)
				}
			}
		})
	}
}
