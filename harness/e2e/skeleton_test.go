package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quickchat-go/quickchat/harness/chatclient"
	"github.com/quickchat-go/quickchat/harness/devstack"
)

// TestMessageTravelsThroughEveryService drives the skeleton path: the gateway creates a
// group, two clients on two different realtime instances join it, a message sent by one
// reaches the other through Kafka and a Redis stream, and the persister stores it where
// the gateway's history endpoint finds it.
func TestMessageTravelsThroughEveryService(t *testing.T) {
	sys := startSystem(t, devstack.SystemConfig{Realtimes: 2, Persisters: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	api := chatclient.NewAPI(sys.GatewayURL)

	owner, err := api.Register(ctx, "owner@example.com", "correct horse battery", "Owner")
	if err != nil {
		t.Fatal(err)
	}
	g, err := api.CreateGroup(ctx, owner.AccessToken, "Skeleton", "open sesame")
	if err != nil {
		t.Fatal(err)
	}
	ada, err := api.Join(ctx, g.ID, "Ada", "open sesame", "")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := api.Join(ctx, g.ID, "Bob", "open sesame", "")
	if err != nil {
		t.Fatal(err)
	}

	received := make(chan chatclient.Frame, 16)
	onMessage := func(f chatclient.Frame) {
		if f.Type == "message" {
			received <- f
		}
	}
	a, err := chatclient.Dial(ctx, sys.RealtimeURLs[0], chatclient.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.CloseNow()
	b, err := chatclient.Dial(ctx, sys.RealtimeURLs[1], chatclient.DialOptions{OnFrame: onMessage})
	if err != nil {
		t.Fatal(err)
	}
	defer b.CloseNow()
	if _, err := a.Join(ctx, g.ID, ada.Token, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Join(ctx, g.ID, bob.Token, nil); err != nil {
		t.Fatal(err)
	}

	body := fmt.Sprintf("hello across instances at %d", time.Now().UnixNano())
	ack, err := a.Send(ctx, g.ID, "c-1", body)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Type != "ack" || ack.ID == "" || ack.Epoch == "" || ack.Offset == 0 {
		t.Fatalf("ack without id or position: %s", ack.Raw)
	}
	var got chatclient.Frame
	select {
	case got = <-received:
	case <-ctx.Done():
		t.Fatal("the client on the other instance received nothing")
	}
	if m := got.Message; m == nil || m.Body != body || m.ID != ack.ID || m.SenderName != "Ada" {
		t.Fatalf("other instance received %s, want body %q id %s from Ada", got.Raw, body, ack.ID)
	}
	if got.Position != ack.Position {
		t.Fatalf("delivered position %+v differs from acked position %+v", got.Position, ack.Position)
	}

	// The persister stores it; the gateway serves it from PostgreSQL.
stored:
	for {
		page, err := api.History(ctx, g.ID, bob.Token, "", "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(page.Messages); n > 1 {
			t.Fatalf("history has %d messages, want 1", n)
		} else if n == 1 {
			if m := page.Messages[0]; m.ID != ack.ID || m.Body != body || m.SenderName != "Ada" {
				t.Fatalf("stored message %+v, want id %s body %q", m, ack.ID, body)
			}
			break stored
		}
		select {
		case <-ctx.Done():
			t.Fatal("message never reached the history endpoint")
		case <-time.After(200 * time.Millisecond):
		}
	}

	// Prometheus scrapes each service on its ops port, and the counters saw the message;
	// the public ports serve no ops endpoint (issue 13 L7).
	for _, scrape := range []struct {
		svc    *devstack.Service
		series string
	}{
		{sys.Gateway, "go_goroutines"},
		{sys.Realtime[0], `realtime_sends_total{outcome="accepted"} 1`},
		{sys.Persister[0], "persister_rows_written_total 1"},
	} {
		if status, text := httpGet(t, scrape.svc.OpsURL()+"/metrics"); status != http.StatusOK || !strings.Contains(text, scrape.series) {
			t.Errorf("%s: /metrics on its ops port = %d without %q", scrape.svc.Name(), status, scrape.series)
		}
	}
	for _, public := range []string{sys.GatewayURL, strings.Replace(strings.TrimSuffix(sys.RealtimeURLs[0], "/ws"), "ws://", "http://", 1)} {
		if status, _ := httpGet(t, public+"/metrics"); status != http.StatusNotFound {
			t.Errorf("%s/metrics on a public port = %d, want 404", public, status)
		}
	}
}

// httpGet fetches url and returns the status and body.
func httpGet(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
