package main

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/redis/rueidis"

	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
	"github.com/quickchat-go/quickchat/pkg/roomredis"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

// TestRunEndsMembershipsInRealtimesRedis checks the wiring of run: with the Redis address,
// prefix and shard count of its configuration, a removal leaves the revoked mark where a
// realtime instance with the same settings looks for it.
func TestRunEndsMembershipsInRealtimesRedis(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "keys.pem")
	writeKeys(t, keyFile, mustKey(t))
	t.Setenv("GATEWAY_REDIS_SHARDS", "3")
	cfg := testConfig(t, keyFile)
	gw := startGateway(t, cfg)

	var sess struct {
		AccessToken string `json:"access_token"`
	}
	creds := map[string]string{"email": "owner@example.com", "password": "a long password", "name": "Owner"}
	post(t, gw.url+"/api/auth/register", "", creds, nil)
	delete(creds, "name")
	post(t, gw.url+"/api/auth/login", "", creds, &sess)
	var g struct {
		ID string `json:"id"`
	}
	post(t, gw.url+"/api/chat-group", sess.AccessToken, map[string]string{"title": "Room", "passcode": "open sesame"}, &g)
	var joined struct {
		Token  string `json:"token"`
		Member struct {
			ID string `json:"id"`
		} `json:"member"`
	}
	post(t, gw.url+"/api/chat-group/"+g.ID+"/join", "", map[string]string{"name": "Guest", "passcode": "open sesame"}, &joined)
	call(t, http.MethodDelete, gw.url+"/api/chat-group/"+g.ID+"/members/"+joined.Member.ID, sess.AccessToken, nil, nil, http.StatusNoContent)

	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{testenv.RedisAddr(t)}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	key := roomredis.Layout{Prefix: cfg.RedisPrefix, Shards: 3}.Revoked(g.ID, joined.Member.ID)
	v, err := client.Do(context.Background(), client.B().Get().Key(key).Build()).ToString()
	if err != nil || v != wire.ReasonRemoved {
		t.Fatalf("%s = %q, %v; want %q", key, v, err, wire.ReasonRemoved)
	}
	call(t, http.MethodPost, gw.url+"/api/chat-group/"+g.ID+"/token", joined.Token, nil, nil, http.StatusForbidden)
}
