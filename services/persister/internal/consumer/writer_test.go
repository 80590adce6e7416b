package consumer_test

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"testing"

	"github.com/IBM/sarama"
	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/event"
	"github.com/quickchat-go/quickchat/services/persister/internal/consumer"
)

func TestWriter(t *testing.T) {
	group, gone := uuid.New(), uuid.New()
	type want struct {
		stored []int    // indexes into the batch's messages that end up stored
		dead   []string // "<offset>:<code>" of the dead letters, in order
		err    bool
	}
	tests := []struct {
		name  string
		msgs  func(t *testing.T) []*event.Message
		batch func(t *testing.T, msgs []*event.Message) []*sarama.ConsumerMessage
		sink  func(s *memSink)
		dead  func(d *memDeadLetters)
		ctx   func() context.Context
		want  want
	}{
		{
			name: "every message of a clean batch is stored",
			msgs: func(t *testing.T) []*event.Message {
				return []*event.Message{chatMessage(t, group, "a"), chatMessage(t, group, "b"), chatMessage(t, group, "c")}
			},
			want: want{stored: []int{0, 1, 2}},
		},
		{
			name: "a redelivered message and a client retry under a new id are each stored once",
			msgs: func(t *testing.T) []*event.Message {
				a := chatMessage(t, group, "a")
				retry := chatMessage(t, group, "a again")
				retry.SenderId, retry.ClientMsgId = a.GetSenderId(), a.GetClientMsgId()
				return []*event.Message{a, a, retry}
			},
			want: want{stored: []int{0}},
		},
		{
			name: "an undecodable record is dead-lettered and the others are stored",
			msgs: func(t *testing.T) []*event.Message {
				return []*event.Message{chatMessage(t, group, "a"), chatMessage(t, group, "b")}
			},
			batch: func(t *testing.T, msgs []*event.Message) []*sarama.ConsumerMessage {
				recs := records(t, 10, msgs...)
				poison := &sarama.ConsumerMessage{Topic: "chat", Offset: 11, Value: []byte("not protobuf \xff")}
				recs[1].Offset = 12
				return []*sarama.ConsumerMessage{recs[0], poison, recs[1]}
			},
			want: want{stored: []int{0, 1}, dead: []string{"11:undecodable"}},
		},
		{
			name: "a message with an impossible timestamp is dead-lettered as undecodable",
			msgs: func(t *testing.T) []*event.Message {
				m := chatMessage(t, group, "from the far future")
				m.CreatedAtUnixMs = 1 << 62
				return []*event.Message{chatMessage(t, group, "a"), m}
			},
			want: want{stored: []int{0}, dead: []string{"1:undecodable"}},
		},
		{
			name: "messages of a deleted group are dead-lettered and their neighbours are stored",
			msgs: func(t *testing.T) []*event.Message {
				var out []*event.Message
				for i := range 9 {
					g := group
					if i == 2 || i == 7 {
						g = gone
					}
					out = append(out, chatMessage(t, g, "m"))
				}
				return out
			},
			want: want{stored: []int{0, 1, 3, 4, 5, 6, 8}, dead: []string{"2:not_found", "7:not_found"}},
		},
		{
			name: "a body PostgreSQL rejects is dead-lettered as invalid",
			msgs: func(t *testing.T) []*event.Message {
				return []*event.Message{chatMessage(t, group, "nul \x00 byte"), chatMessage(t, group, "fine")}
			},
			want: want{stored: []int{1}, dead: []string{"0:invalid"}},
		},
		{
			name: "a database outage is retried until it ends and dead-letters nothing",
			msgs: func(t *testing.T) []*event.Message {
				return []*event.Message{chatMessage(t, group, "a"), chatMessage(t, group, "b")}
			},
			sink: func(s *memSink) { s.outages = 5 },
			want: want{stored: []int{0, 1}},
		},
		{
			name: "a failure to publish dead letters is retried",
			msgs: func(t *testing.T) []*event.Message {
				return []*event.Message{chatMessage(t, gone, "a")}
			},
			dead: func(d *memDeadLetters) { d.failures = 3 },
			want: want{dead: []string{"0:not_found"}},
		},
		{
			name: "a batch not stored before the context ends is reported and dead-letters nothing",
			msgs: func(t *testing.T) []*event.Message {
				return []*event.Message{chatMessage(t, group, "a"), chatMessage(t, gone, "b")}
			},
			ctx: func() context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			want: want{err: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink, dead := newMemSink(group), &memDeadLetters{}
			if tt.sink != nil {
				tt.sink(sink)
			}
			if tt.dead != nil {
				tt.dead(dead)
			}
			msgs := tt.msgs(t)
			batch := records(t, 0, msgs...)
			if tt.batch != nil {
				batch = tt.batch(t, msgs)
			}
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}

			err := newWriter(t, sink, dead).Write(ctx, batch)

			if (err != nil) != tt.want.err {
				t.Fatalf("Write error = %v, want error: %v", err, tt.want.err)
			}
			wantIDs := map[uuid.UUID]bool{}
			for _, i := range tt.want.stored {
				wantIDs[uuid.MustParse(msgs[i].GetId())] = true
			}
			if got := sink.ids(); !maps.Equal(got, wantIDs) {
				t.Errorf("stored %d ids %v, want %d ids %v", len(got), got, len(wantIDs), wantIDs)
			}
			var gotDead []string
			for _, l := range dead.all() {
				gotDead = append(gotDead, formatDead(l))
				if l.Reason == "" {
					t.Errorf("dead letter at offset %d has no reason", l.Record.Offset)
				}
			}
			if !slices.Equal(gotDead, tt.want.dead) {
				t.Errorf("dead letters %v, want %v", gotDead, tt.want.dead)
			}
		})
	}
}

func formatDead(l consumer.DeadLetter) string {
	return strconv.FormatInt(l.Record.Offset, 10) + ":" + l.Code
}
