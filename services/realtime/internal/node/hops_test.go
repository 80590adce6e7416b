package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/services/realtime/internal/hub"
	"github.com/quickchat-go/quickchat/services/realtime/internal/metrics"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node/nodetest"
)

func TestEverySendAndDeliveryHopIsTimed(t *testing.T) {
	reg := prometheus.NewRegistry()
	b := nodetest.NewMemoryBroker()
	cfg := node.Config{DedupTTL: time.Hour, SendTimeout: 5 * time.Second, RecoverLimit: 100, RecoverMaxBytes: 1 << 20, TypingTTL: time.Second}
	n := node.New(hub.New(), b, nil, &fakeProducer{}, cfg, metrics.New(reg, func() float64 { return 0 }), zap.NewNop())
	if _, err := n.Send(context.Background(), sender, "c1", "hello"); err != nil {
		t.Fatal(err)
	}
	entries := bundle{broker: b}.history(t, room)
	if len(entries) != 1 {
		t.Fatalf("history holds %d entries, want 1", len(entries))
	}
	e := entries[0]
	e.Added = time.Now().Add(-20 * time.Millisecond)
	n.Dispatch(e)

	counts := hopCounts(t, reg)
	for _, hop := range []string{metrics.HopReserve, metrics.HopProduce, metrics.HopPublish, metrics.HopStream, metrics.HopDispatch} {
		if counts[hop].count != 1 {
			t.Errorf("hop %s observed %d times, want 1", hop, counts[hop].count)
		}
	}
	if s := counts[metrics.HopStream].sum; s < 0.02 {
		t.Errorf("stream hop = %.3fs, want at least the 20ms since the entry was added", s)
	}
}

type hopCount struct {
	count uint64
	sum   float64
}

func hopCounts(t *testing.T, reg *prometheus.Registry) map[string]hopCount {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]hopCount{}
	for _, f := range families {
		if f.GetName() != "realtime_hop_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "hop" {
					out[l.GetValue()] = hopCount{m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()}
				}
			}
		}
	}
	return out
}
