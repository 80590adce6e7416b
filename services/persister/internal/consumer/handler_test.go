package consumer_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/services/persister/internal/consumer"
)

// fakeSession records marks and commits the way Sarama's session would apply them.
type fakeSession struct {
	ctx context.Context
	mu  sync.Mutex
	// marked is the offset marked last; committed is what the last Commit sent.
	marked, committed int64
	commits           chan int64
}

var _ sarama.ConsumerGroupSession = (*fakeSession)(nil)

func newFakeSession(ctx context.Context) *fakeSession {
	return &fakeSession{ctx: ctx, marked: -1, committed: -1, commits: make(chan int64, 100)}
}

func (s *fakeSession) Claims() map[string][]int32               { return map[string][]int32{"chat": {0}} }
func (s *fakeSession) MemberID() string                         { return "member" }
func (s *fakeSession) GenerationID() int32                      { return 1 }
func (s *fakeSession) ResetOffset(string, int32, int64, string) {}
func (s *fakeSession) Context() context.Context                 { return s.ctx }
func (s *fakeSession) MarkMessage(m *sarama.ConsumerMessage, _ string) {
	s.MarkOffset(m.Topic, m.Partition, m.Offset+1, "")
}
func (s *fakeSession) MarkOffset(_ string, _ int32, offset int64, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marked = max(s.marked, offset)
}

func (s *fakeSession) Commit() {
	s.mu.Lock()
	s.committed = s.marked
	s.mu.Unlock()
	s.commits <- s.committed
}

func (s *fakeSession) state() (marked, committed int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.marked, s.committed
}

type fakeClaim struct{ ch chan *sarama.ConsumerMessage }

var _ sarama.ConsumerGroupClaim = (*fakeClaim)(nil)

func (c *fakeClaim) Topic() string                            { return "chat" }
func (c *fakeClaim) Partition() int32                         { return 0 }
func (c *fakeClaim) InitialOffset() int64                     { return sarama.OffsetOldest }
func (c *fakeClaim) HighWaterMarkOffset() int64               { return 0 }
func (c *fakeClaim) Messages() <-chan *sarama.ConsumerMessage { return c.ch }

// gateWriter hands each batch to the test and waits for the test's verdict.
type gateWriter struct {
	batches chan []int64 // offsets of each batch
	verdict chan error
}

func (w *gateWriter) Write(ctx context.Context, batch []*sarama.ConsumerMessage) error {
	offsets := make([]int64, len(batch))
	for i, r := range batch {
		offsets[i] = r.Offset
	}
	w.batches <- offsets
	select {
	case err := <-w.verdict:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

type handlerBundle struct {
	sess   *fakeSession
	claim  *fakeClaim
	writer *gateWriter
	cancel context.CancelFunc
	done   chan error
}

func setupHandler(t *testing.T, cfg consumer.HandlerConfig) *handlerBundle {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := &handlerBundle{
		sess: newFakeSession(ctx), claim: &fakeClaim{ch: make(chan *sarama.ConsumerMessage, 100)},
		writer: &gateWriter{batches: make(chan []int64, 100), verdict: make(chan error)},
		cancel: cancel, done: make(chan error, 1),
	}
	h := consumer.NewHandler(b.writer, cfg, newMetrics(t), zap.NewNop())
	go func() { b.done <- h.ConsumeClaim(b.sess, b.claim) }()
	t.Cleanup(func() {
		cancel()
		<-b.done
	})
	return b
}

func (b *handlerBundle) send(first, n int64) {
	for o := first; o < first+n; o++ {
		b.claim.ch <- &sarama.ConsumerMessage{Topic: "chat", Offset: o}
	}
}

func TestHandler(t *testing.T) {
	t.Run("offsets are committed only after the batch is written", func(t *testing.T) {
		b := setupHandler(t, consumer.HandlerConfig{BatchSize: 3, Linger: time.Hour})
		b.send(0, 3)
		if got := <-b.writer.batches; !slices.Equal(got, []int64{0, 1, 2}) {
			t.Fatalf("batch %v, want [0 1 2]", got)
		}
		if marked, committed := b.sess.state(); marked != -1 || committed != -1 {
			t.Fatalf("while writing: marked %d committed %d, want nothing", marked, committed)
		}
		b.writer.verdict <- nil
		if got := <-b.sess.commits; got != 3 {
			t.Fatalf("committed offset %d, want 3", got)
		}
	})

	t.Run("a partial batch is written once it has lingered", func(t *testing.T) {
		b := setupHandler(t, consumer.HandlerConfig{BatchSize: 100, Linger: time.Millisecond})
		b.send(7, 2)
		if got := <-b.writer.batches; !slices.Equal(got, []int64{7, 8}) {
			t.Fatalf("batch %v, want [7 8]", got)
		}
		b.writer.verdict <- nil
		if got := <-b.sess.commits; got != 9 {
			t.Fatalf("committed offset %d, want 9", got)
		}
	})

	t.Run("batches follow offset order and each is committed before the next is written", func(t *testing.T) {
		b := setupHandler(t, consumer.HandlerConfig{BatchSize: 2, Linger: time.Hour})
		b.send(0, 5)
		close(b.claim.ch) // revoked: the partial last batch is still written
		for _, want := range [][]int64{{0, 1}, {2, 3}, {4}} {
			if got := <-b.writer.batches; !slices.Equal(got, want) {
				t.Fatalf("batch %v, want %v", got, want)
			}
			b.writer.verdict <- nil
			if got := <-b.sess.commits; got != want[len(want)-1]+1 {
				t.Fatalf("committed offset %d, want %d", got, want[len(want)-1]+1)
			}
		}
		if err := <-b.done; err != nil {
			t.Fatalf("ConsumeClaim: %v", err)
		}
		b.done <- nil // for the cleanup
	})

	t.Run("a write cut short by the end of the session commits nothing", func(t *testing.T) {
		b := setupHandler(t, consumer.HandlerConfig{BatchSize: 2, Linger: time.Hour})
		b.send(0, 2)
		<-b.writer.batches
		b.cancel()
		if err := <-b.done; err != nil {
			t.Fatalf("ConsumeClaim: %v, want nil", err)
		}
		b.done <- nil
		if marked, committed := b.sess.state(); marked != -1 || committed != -1 {
			t.Fatalf("marked %d committed %d, want nothing", marked, committed)
		}
	})
}
