package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/quickchat-go/quickchat/pkg/devstack"
)

type session struct {
	AccessToken string `json:"access_token"`
}

type group struct {
	ID string `json:"id"`
}

type joined struct {
	Token string `json:"token"`
}

type history struct {
	Messages []struct {
		ID         string `json:"id"`
		Body       string `json:"body"`
		SenderName string `json:"sender_name"`
	} `json:"messages"`
}

// TestMessageTravelsThroughEveryService drives the skeleton path: the gateway creates a
// group, two clients on two different realtime instances join it, a message sent by one
// reaches the other through Kafka and a Redis stream, and the persister stores it where
// the gateway's history endpoint finds it.
func TestMessageTravelsThroughEveryService(t *testing.T) {
	sys := startSystem(t, devstack.SystemConfig{Realtimes: 2, Persisters: 1})
	gw := sys.GatewayURL

	var owner session
	api(t, "POST", gw+"/api/auth/register", "", map[string]string{
		"email": "owner@example.com", "password": "correct horse battery", "name": "Owner",
	}, http.StatusCreated, &owner)
	var g group
	api(t, "POST", gw+"/api/chat-group", owner.AccessToken, map[string]string{
		"title": "Skeleton", "passcode": "open sesame",
	}, http.StatusCreated, &g)
	var ada, bob joined
	api(t, "POST", gw+"/api/chat-group/"+g.ID+"/join", "", map[string]string{"name": "Ada", "passcode": "open sesame"}, http.StatusOK, &ada)
	api(t, "POST", gw+"/api/chat-group/"+g.ID+"/join", "", map[string]string{"name": "Bob", "passcode": "open sesame"}, http.StatusOK, &bob)

	a := dial(t, sys.RealtimeURLs[0])
	b := dial(t, sys.RealtimeURLs[1])
	a.join(g.ID, ada.Token)
	b.join(g.ID, bob.Token)

	body := fmt.Sprintf("hello across instances at %d", time.Now().UnixNano())
	ack := a.send(g.ID, "c-1", body)
	if ack.ID == "" || ack.Epoch == "" || ack.Offset == 0 {
		t.Fatalf("ack without id or position: %+v", ack)
	}
	got := b.next("message")
	if got.Message == nil || got.Message.Body != body || got.Message.ID != ack.ID || got.Message.SenderName != "Ada" {
		t.Fatalf("other instance received %+v, want body %q id %s from Ada", got.Message, body, ack.ID)
	}
	if got.Epoch != ack.Epoch || got.Offset != ack.Offset {
		t.Fatalf("delivered position %s/%d differs from acked position %s/%d", got.Epoch, got.Offset, ack.Epoch, ack.Offset)
	}

	// The persister stores it; the gateway serves it from PostgreSQL.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var h history
		api(t, "GET", gw+"/api/chats/"+g.ID, bob.Token, nil, http.StatusOK, &h)
		if len(h.Messages) == 1 {
			if m := h.Messages[0]; m.ID != ack.ID || m.Body != body || m.SenderName != "Ada" {
				t.Fatalf("stored message %+v, want id %s body %q", m, ack.ID, body)
			}
			break
		}
		if len(h.Messages) > 1 {
			t.Fatalf("history has %d messages, want 1", len(h.Messages))
		}
		if time.Now().After(deadline) {
			t.Fatal("message never reached the history endpoint")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
