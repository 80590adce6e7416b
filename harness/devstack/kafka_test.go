package devstack

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

func TestKafkaKeepsMessagesAcrossStopAndKill(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	start := time.Now()
	k, err := StartKafka(ctx, KafkaConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("StartKafka %s took %v (log %s)", k.Version(), time.Since(start), k.LogPath())
	t.Cleanup(func() { _ = k.Close() })
	if k.Version() == "" {
		t.Fatal("Version() is empty")
	}

	const topic = "devstack.test"
	if err := k.CreateTopic(ctx, topic, 3); err != nil {
		t.Fatal(err)
	}
	produce(t, k.Brokers(), topic, "before stop")

	port := k.Port()
	stopStart := time.Now()
	if err := k.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	t.Logf("Stop took %v", time.Since(stopStart))
	if err := k.Start(ctx); err != nil {
		t.Fatalf("start after stop: %v", err)
	}
	if k.Port() != port {
		t.Fatalf("port changed from %d to %d", port, k.Port())
	}
	produce(t, k.Brokers(), topic, "before kill")

	pid := k.Pid()
	if err := k.Kill(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	requireGone(t, pid, k.Dir())
	if err := k.Start(ctx); err != nil {
		t.Fatalf("start after kill: %v", err)
	}
	got := consumeAll(t, k.Brokers(), topic, 2)
	want := map[string]bool{"before stop": true, "before kill": true}
	for _, v := range got {
		if !want[v] {
			t.Fatalf("unexpected message %q", v)
		}
		delete(want, v)
	}
	if len(want) != 0 {
		t.Fatalf("messages missing after restarts: %v (got %q)", want, got)
	}

	dir, pid := k.Dir(), k.Pid()
	if err := k.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	requireGone(t, pid, dir)
	requireNoDir(t, dir)
}

func saramaTestConfig() *sarama.Config {
	c := newSaramaConfig()
	c.Producer.Return.Successes = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Retry.Max = 10
	c.Producer.Retry.Backoff = 200 * time.Millisecond
	c.Metadata.Retry.Max = 10
	return c
}

func produce(tb testing.TB, brokers []string, topic, value string) {
	tb.Helper()
	p, err := sarama.NewSyncProducer(brokers, saramaTestConfig())
	if err != nil {
		tb.Fatalf("producer: %v", err)
	}
	defer p.Close()
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(value)}); err != nil {
		tb.Fatalf("produce %q: %v", value, err)
	}
}

// consumeAll reads every partition of topic from the oldest offset until n messages
// arrived or 20 s passed, and returns their values.
func consumeAll(tb testing.TB, brokers []string, topic string, n int) []string {
	tb.Helper()
	c, err := sarama.NewConsumer(brokers, saramaTestConfig())
	if err != nil {
		tb.Fatalf("consumer: %v", err)
	}
	defer c.Close()
	parts, err := c.Partitions(topic)
	if err != nil {
		tb.Fatalf("partitions of %s: %v", topic, err)
	}
	values := make(chan string, n)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, p := range parts {
		pc, err := c.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			tb.Fatalf("consume %s/%d: %v", topic, p, err)
		}
		defer pc.Close()
		go func() {
			for m := range pc.Messages() {
				select {
				case values <- string(m.Value):
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	var got []string
	for len(got) < n {
		select {
		case v := <-values:
			got = append(got, v)
		case <-ctx.Done():
			tb.Fatalf("got %d of %d messages from %s: %q", len(got), n, topic, got)
		}
	}
	return got
}

func TestNewClusterIDNeverStartsWithADash(t *testing.T) {
	// 0xf8 encodes to '-' as the first base64url character; the id must be drawn again.
	dash := bytes.Repeat([]byte{0xf8}, 16)
	next := bytes.Repeat([]byte{0x00}, 16)
	id, err := newClusterID(io.MultiReader(bytes.NewReader(dash), bytes.NewReader(next)))
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.RawURLEncoding.EncodeToString(next); id != want {
		t.Fatalf("cluster id %q, want %q (the second draw)", id, want)
	}
	if _, err := newClusterID(bytes.NewReader(dash)); err == nil {
		t.Fatal("want an error when the random source runs out")
	}
}
