package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/wire"
)

func TestClientsOnThreeInstancesSeeOneOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a, bb, c := b.start(t, nil), b.start(t, nil), b.start(t, nil)
	group := uuid.NewString()
	alice, bob, carol := dial(t, a.url()), dial(t, bb.url()), dial(t, c.url())
	aliceM, bobM := b.member(t, group, "Alice"), b.member(t, group, "Bob")
	alice.join(group, aliceM, nil)
	bob.join(group, bobM, nil)
	carol.join(group, b.member(t, group, "Carol"), nil)

	const per = 25
	var wg sync.WaitGroup
	acks := map[string]frame{}
	var mu sync.Mutex
	for _, s := range []struct {
		c    *client
		name string
	}{{alice, "alice"}, {bob, "bob"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				ack := s.c.send(group, fmt.Sprintf("%s-%d", s.name, i), fmt.Sprintf("%s says %d", s.name, i))
				mu.Lock()
				acks[ack.ClientMsgID] = ack
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	var orders [][]string
	for _, cl := range []*client{alice, bob, carol} {
		frames := cl.messages(group, 2*per)
		var order []string
		next := map[string]int{}
		for i, f := range frames {
			if f.Type != wire.TypeMessage {
				t.Fatalf("got a %s frame in a healthy room", f.Type)
			}
			m := f.msg(t)
			if i > 0 && (f.Epoch != frames[0].Epoch || f.Offset != frames[i-1].Offset+1) {
				t.Fatalf("message %d at %s/%d follows %d: positions must count up by one", i, f.Epoch, f.Offset, frames[i-1].Offset)
			}
			ack, ok := acks[m.ClientMsgID]
			if !ok || ack.ID != m.ID || ack.Offset != f.Offset {
				t.Fatalf("message %+v does not match its ack %+v", m, ack)
			}
			// Each sender's messages keep the order they were sent in.
			sender, n := "", 0
			fmt.Sscanf(m.Body, "%s says %d", &sender, &n)
			if n != next[sender] {
				t.Fatalf("%s's message %d arrived when %d was expected", sender, n, next[sender])
			}
			next[sender]++
			order = append(order, m.ID)
		}
		orders = append(orders, order)
	}
	if !slices.Equal(orders[0], orders[1]) || !slices.Equal(orders[0], orders[2]) {
		t.Fatal("the three clients saw different orders")
	}
}

func TestResendWithTheSameClientMessageIDIsOneMessage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a, bb := b.start(t, nil), b.start(t, nil)
	group := uuid.NewString()
	alice := b.member(t, group, "Alice")
	observer := dial(t, bb.url())
	observer.join(group, b.member(t, group, "Olga"), nil)

	first := dial(t, a.url())
	first.join(group, alice, nil)
	ack1 := first.send(group, "c1", "hello")
	if ack1.Duplicate {
		t.Fatal("the first send must not be a duplicate")
	}
	// The client reconnects elsewhere (say its ack was lost) and resends.
	second := dial(t, bb.url())
	second.join(group, alice, nil)
	ack2 := second.send(group, "c1", "hello")
	if ack2.ID != ack1.ID || ack2.Position != ack1.Position || !ack2.Duplicate {
		t.Fatalf("resend ack %+v; want the first ack's id and position %+v, marked duplicate", ack2, ack1)
	}

	// Two attempts at once, on two instances: one message.
	var wg sync.WaitGroup
	var racing [2]frame
	for i, cl := range []*client{first, second} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			racing[i] = cl.send(group, "c2", "at once")
		}()
	}
	wg.Wait()
	if racing[0].ID != racing[1].ID || racing[0].Position != racing[1].Position || racing[0].Duplicate == racing[1].Duplicate {
		t.Fatalf("concurrent attempts acked %+v and %+v; want one message, one of them a duplicate", racing[0], racing[1])
	}
	marker := first.send(group, "c3", "marker")

	frames := observer.messages(group, 3)
	got := []string{frames[0].msg(t).ClientMsgID, frames[1].msg(t).ClientMsgID, frames[2].msg(t).ClientMsgID}
	if !slices.Equal(got, []string{"c1", "c2", "c3"}) {
		t.Fatalf("the observer got %v; want each message once", got)
	}
	counts := countRecords(t, b.brokers, b.topic)
	if counts[ack1.ID] != 1 || counts[racing[0].ID] != 1 || counts[marker.ID] != 1 || len(counts) != 3 {
		t.Fatalf("Kafka records per message id: %v; want exactly one each for 3 messages", counts)
	}
}

func TestRejoinRecoversWhatWasMissedOrSaysToReload(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inst := b.start(t, func(c *Config) { c.RecoverLimit = 5 })
	group := uuid.NewString()
	sender := dial(t, inst.url())
	sender.join(group, b.member(t, group, "Sam"), nil)
	reader := b.member(t, group, "Rita")

	sendN := func(prefix string, n int) []frame {
		acks := make([]frame, n)
		for i := range acks {
			acks[i] = sender.send(group, fmt.Sprintf("%s-%d", prefix, i), fmt.Sprintf("%s %d", prefix, i))
		}
		return acks
	}
	sendN("before", 2)
	c := dial(t, inst.url())
	joined := c.join(group, reader, nil)
	if joined.Recovered != nil || joined.Offset != 2 || joined.Epoch == "" {
		t.Fatalf("a join without position = %+v; want the room's position 2 and no recovery fields", joined)
	}
	c.write(wire.ClientFrame{Head: wire.Head{Type: wire.TypeLeave, Ref: "l1", GroupID: group}})
	if f := c.reply("l1"); f.Type != wire.TypeLeft {
		t.Fatalf("leave got %+v", f)
	}
	missed := sendN("missed", 3)

	t.Run("a client within the window gets exactly what it missed", func(t *testing.T) {
		c2 := dial(t, inst.url())
		since := joined.Position
		got := c2.join(group, reader, &since)
		if got.Recovered == nil || !*got.Recovered || *got.Missed != 3 || got.Offset != 5 {
			t.Fatalf("joined = %+v; want recovered, 3 missed, position 5", got)
		}
		frames := c2.messages(group, 3)
		for i, f := range frames {
			if f.msg(t).ID != missed[i].ID || f.Offset != missed[i].Offset {
				t.Fatalf("replayed %d: %+v, want %+v", i, f.msg(t), missed[i])
			}
		}
		live := sender.send(group, "live-1", "live")
		if f := c2.messages(group, 1)[0]; f.msg(t).ID != live.ID {
			t.Fatalf("after the replay got %+v, want the live message", f.msg(t))
		}
	})
	t.Run("a client further behind than the limit is told to reload", func(t *testing.T) {
		c3 := dial(t, inst.url())
		since := wire.Position{Epoch: joined.Epoch, Offset: 0}
		got := c3.join(group, reader, &since)
		if got.Recovered == nil || *got.Recovered || *got.Missed != 0 {
			t.Fatalf("joined = %+v; want not recovered, nothing replayed", got)
		}
		live := sender.send(group, "live-2", "live")
		if f := c3.messages(group, 1)[0]; f.Type != wire.TypeMessage || f.msg(t).ID != live.ID {
			t.Fatalf("after an incomplete recovery got %+v, want the next live message", f)
		}
	})
	t.Run("a client from another epoch is told to reload", func(t *testing.T) {
		c4 := dial(t, inst.url())
		since := wire.Position{Epoch: "older", Offset: 4}
		got := c4.join(group, reader, &since)
		if got.Recovered == nil || *got.Recovered || got.Epoch != joined.Epoch {
			t.Fatalf("joined = %+v; want not recovered, in the room's epoch", got)
		}
	})
	complete := metric(t, inst.opsAddr, `realtime_recoveries_total{outcome="complete"}`)
	incomplete := metric(t, inst.opsAddr, `realtime_recoveries_total{outcome="incomplete"}`)
	if complete != 1 || incomplete != 2 {
		t.Fatalf("recovery metrics: %v complete, %v incomplete; want 1 and 2", complete, incomplete)
	}
}

func TestBadFramesGetTheDocumentedErrorAndTheConnectionLives(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inst := b.start(t, nil)
	group, other := uuid.NewString(), uuid.NewString()
	m := b.member(t, group, "Mallory")
	c := dial(t, inst.url())
	c.join(group, m, nil)

	expired, err := b.signer.SignAt(tokenClaims(m.id, group), timeAgo(), 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	forged := setup2Signer(t, m.id, group)
	access := accessToken(t, b)
	tests := []struct {
		name     string
		frame    string
		wantCode string
	}{
		{"text that is not JSON", `not json at all`, wire.CodeBadFrame},
		{"a frame of unknown type", `{"type":"shout","ref":"x"}`, wire.CodeUnknownType},
		{"a body over 4 KiB", fmt.Sprintf(`{"type":"send","group_id":%q,"client_msg_id":"big","body":%q}`, group, strings.Repeat("a", 5000)), wire.CodeTooLarge},
		{"an empty body", fmt.Sprintf(`{"type":"send","group_id":%q,"client_msg_id":"e","body":""}`, group), wire.CodeBadFrame},
		{"a send to a room not joined", fmt.Sprintf(`{"type":"send","group_id":%q,"client_msg_id":"n","body":"hi"}`, other), wire.CodeNotJoined},
		{"a join with another room's token", fmt.Sprintf(`{"type":"join","group_id":%q,"token":%q}`, other, m.token), wire.CodeForbidden},
		{"a join with an access token", fmt.Sprintf(`{"type":"join","group_id":%q,"token":%q}`, group, access), wire.CodeForbidden},
		{"a join with a forged token", fmt.Sprintf(`{"type":"join","group_id":%q,"token":%q}`, other, forged), wire.CodeUnauthorized},
		{"a join with an expired token", fmt.Sprintf(`{"type":"join","group_id":%q,"token":%q}`, other, expired), wire.CodeUnauthorized},
		{"a second join of the same room", fmt.Sprintf(`{"type":"join","group_id":%q,"token":%q}`, group, m.token), wire.CodeAlreadyJoined},
		{"typing in a room not joined", fmt.Sprintf(`{"type":"typing","group_id":%q}`, other), wire.CodeNotJoined},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			c.writeText(tt.frame)
			f := c.next("the error", func(f frame) bool { return f.Type == wire.TypeError })
			if f.Code != tt.wantCode {
				t.Fatalf("error code %q (%s), want %q", f.Code, f.Detail, tt.wantCode)
			}
			ref := fmt.Sprintf("alive-%d", i)
			c.write(map[string]string{"type": "ping", "ref": ref})
			if f := c.reply(ref); f.Type != wire.TypePong {
				t.Fatalf("after the error a ping got %+v", f)
			}
		})
	}
	c.t = t
	if ack := c.send(group, "fine", "still works"); ack.ID == "" {
		t.Fatal("a valid send after the errors was not acknowledged")
	}

	t.Run("a frame over the read limit closes with 1009 and the server carries on", func(t *testing.T) {
		big := dial(t, inst.url())
		big.writeText(`{"type":"ping","ref":"` + strings.Repeat("r", 64<<10) + `"}`)
		<-big.done
		if code := closeStatus(big.err); code != 1009 {
			t.Fatalf("close status %d (%v), want 1009", code, big.err)
		}
		again := dial(t, inst.url())
		again.write(map[string]string{"type": "ping", "ref": "p"})
		if f := again.reply("p"); f.Type != wire.TypePong {
			t.Fatalf("a new connection got %+v", f)
		}
	})
	t.Run("a browser from an origin not allowed is refused", func(t *testing.T) {
		if status := dialStatus(t, inst.url(), http.Header{"Origin": {"https://evil.example"}}); status != http.StatusForbidden {
			t.Fatalf("status %d, want 403", status)
		}
		if status := dialStatus(t, inst.url(), http.Header{"Origin": {"http://localhost:3000"}}); status != http.StatusSwitchingProtocols {
			t.Fatalf("an allowed origin got status %d", status)
		}
	})
	resp, err := http.Get("http://" + inst.opsAddr + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz after the bad frames: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestConnectionAndFrameLimits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inst := b.start(t, func(c *Config) { c.MaxConnsPerIP = 2; c.FrameRate, c.FrameBurst = 1, 3 })

	t.Run("a third connection from one address is refused", func(t *testing.T) {
		c1, c2 := dial(t, inst.url()), dial(t, inst.url())
		if status := dialStatus(t, inst.url(), nil); status != http.StatusTooManyRequests {
			t.Fatalf("status %d, want 429", status)
		}
		_ = c1.ws.CloseNow()
		<-c1.done
		c2.write(map[string]string{"type": "ping", "ref": "p"})
		c2.reply("p") // c1's slot is free once the server has seen it go
		waitUntil(t, "a slot to free up", func() bool { return dialStatus(t, inst.url(), nil) == http.StatusSwitchingProtocols })
	})
	t.Run("frames over the rate are refused one by one", func(t *testing.T) {
		c := dial(t, inst.url())
		for i := 0; i < 6; i++ {
			c.write(map[string]string{"type": "ping", "ref": fmt.Sprint(i)})
		}
		pongs, limited := 0, 0
		for i := 0; i < 6; i++ {
			switch f := c.reply(fmt.Sprint(i)); {
			case f.Type == wire.TypePong:
				pongs++
			case f.Code == wire.CodeRateLimited:
				limited++
			default:
				t.Fatalf("reply %+v", f)
			}
		}
		if pongs < 3 || limited < 1 || pongs+limited != 6 {
			t.Fatalf("%d pongs and %d rate_limited errors; want the burst of 3 through and the rest limited", pongs, limited)
		}
	})
}

func TestPerAddressLimitBehindATrustedProxy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// The test dials from loopback, so loopback plays the proxy.
	behindProxy := b.start(t, func(c *Config) { c.MaxConnsPerIP = 1; c.TrustedProxies = []string{"127.0.0.0/8", "::1"} })
	direct := b.start(t, func(c *Config) { c.MaxConnsPerIP = 1 })

	// hold dials with X-Forwarded-For: xff and keeps an accepted connection open.
	hold := func(t *testing.T, url, xff string) int {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), hang)
		defer cancel()
		ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"X-Forwarded-For": {xff}}})
		if err == nil {
			t.Cleanup(func() { _ = ws.CloseNow() })
		}
		if resp == nil {
			t.Fatalf("dial %s: no response: %v", url, err)
		}
		return resp.StatusCode
	}
	tests := []struct {
		name string
		inst *instance
		xffs []string
		want []int
	}{
		{"behind a trusted proxy each client has its own limit", behindProxy,
			[]string{"203.0.113.1", "203.0.113.2"}, []int{101, 101}},
		{"behind a trusted proxy one client is still limited", behindProxy,
			[]string{"203.0.113.3", "198.51.100.9, 203.0.113.3"}, []int{101, 429}},
		{"IPv6 clients count per /64", behindProxy,
			[]string{"2001:db8:1:1::1", "2001:db8:1:1::2"}, []int{101, 429}},
		{"a header from an untrusted peer is ignored", direct,
			[]string{"203.0.113.4", "203.0.113.5"}, []int{101, 429}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, xff := range tt.xffs {
				if got := hold(t, tt.inst.url(), xff); got != tt.want[i] {
					t.Fatalf("connection %d (X-Forwarded-For %s): status %d, want %d", i+1, xff, got, tt.want[i])
				}
			}
		})
	}
}
