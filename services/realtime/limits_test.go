package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/wire"
)

// dialFrom dials as a client behind a proxy that says the client is xff.
func dialFrom(t testing.TB, url, xff string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"X-Forwarded-For": {xff}}})
	if err != nil {
		t.Fatalf("dial %s as %s: %v", url, xff, err)
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = ws.CloseNow() })
	c := &client{t: t, ws: ws, frames: make(chan frame, 100000), done: make(chan struct{})}
	go c.readLoop()
	return c
}

// leave leaves a room and waits for the reply.
func (c *client) leave(group string) {
	c.t.Helper()
	ref := c.ref()
	c.write(wire.ClientFrame{Head: wire.Head{Type: wire.TypeLeave, Ref: ref, GroupID: group}})
	if f := c.reply(ref); f.Type != wire.TypeLeft {
		c.t.Fatalf("leave got %+v", f)
	}
}

// flood writes n sends at once, then reads every reply, and counts acks and rate_limited
// errors; any other reply fails the test.
func (c *client) flood(group, prefix string, n int) (acks, limited int) {
	c.t.Helper()
	refs := make([]string, n)
	for i := range refs {
		refs[i] = c.ref()
		c.write(wire.ClientFrame{Head: wire.Head{Type: wire.TypeSend, Ref: refs[i], GroupID: group},
			ClientMsgID: fmt.Sprintf("%s-%d", prefix, i), Body: fmt.Sprintf("%s %d", prefix, i)})
	}
	for _, ref := range refs {
		switch f := c.reply(ref); {
		case f.Type == wire.TypeAck:
			acks++
		case f.Type == wire.TypeError && f.Code == wire.CodeRateLimited && f.RetryAfterMs > 0:
			limited++
		default:
			c.t.Errorf("a flooded send got %+v; want an ack or rate_limited with retry_after_ms", f)
		}
	}
	return acks, limited
}

// Regression: issue 13 H1. A member who leaves and rejoins with an old position again and
// again got the same megabyte replay each time. Now each replay is paid from the member's
// budget (shared by every instance) and the connection's, a gap larger than the per-join
// bound is answered with recovered:false (reload over REST) instead of a replay, and
// other members keep their own budgets.
func TestReplaysAreBoundedAndPaidFromBudgets(t *testing.T) {
	t.Parallel()
	const (
		body        = 3000     // a frame is a few hundred bytes more
		bound       = 64 << 10 // bytes one join may replay
		memberBurst = 128 << 10
		memberRate  = 4 << 10 // bytes per second
	)
	b := setup(t)
	limits := func(c *Config) {
		c.RecoverMaxBytes, c.MemberReplayBurst, c.MemberReplayRate = bound, memberBurst, memberRate
	}
	inst, other := b.start(t, limits), b.start(t, limits)
	group := uuid.NewString()
	sam := dial(t, inst.url())
	sam.join(group, b.member(t, group, "Sam"), nil)
	var top frame
	for i := 0; i < 40; i++ { // about 130 KB of history, twice the bound
		top = sam.send(group, fmt.Sprintf("h%d", i), strings.Repeat(fmt.Sprint(i%10), body))
	}
	behind := func(n uint64) *wire.Position { return &wire.Position{Epoch: top.Epoch, Offset: top.Offset - n} }

	t.Run("a member rejoining in a loop gets its budget's worth, not a replay per join", func(t *testing.T) {
		mallory := b.member(t, group, "Mallory")
		// Both instances draw on one budget: the loop alternates between them.
		conns := []*client{dial(t, inst.url()), dial(t, other.url())}
		const loops = 20
		start := time.Now()
		replays, refused := 0, 0
		for i := 0; i < loops; i++ {
			c := conns[i%2]
			j := c.join(group, mallory, behind(15)) // 15 messages, about 50 KB: within the bound
			switch {
			case *j.Recovered && *j.Missed == 15:
				replays++
				c.messages(group, 15)
			case !*j.Recovered && *j.Missed == 0:
				refused++
			default:
				t.Fatalf("join %d = %+v; want a replay of 15 or recovered:false", i, j)
			}
			c.leave(group)
		}
		elapsed := time.Since(start)
		var got int64
		for _, c := range conns {
			got += c.received.Load()
		}
		// What the budget allows, plus one replay's worth for the bytes of the other frames.
		allowed := int64(memberBurst + memberRate*elapsed.Seconds() + bound)
		t.Logf("%d joins in %v: %d replayed, %d refused, %d bytes received", loops, elapsed.Round(time.Millisecond), replays, refused, got)
		if got > allowed || replays == 0 || refused == 0 {
			t.Fatalf("%d bytes received (at most %d allowed), %d replays, %d refused; want replays until the budget is spent, then refusals",
				got, allowed, replays, refused)
		}
		if n := metric(t, inst.opsAddr, `realtime_rate_limited_total{limit="member_replay"}`) + metric(t, other.opsAddr, `realtime_rate_limited_total{limit="member_replay"}`); n != float64(refused) {
			t.Fatalf("%v member_replay limits counted, want %d", n, refused)
		}
	})

	t.Run("a gap larger than one join may replay is answered with recovered false", func(t *testing.T) {
		c := dial(t, inst.url())
		j := c.join(group, b.member(t, group, "Rita"), behind(39)) // about 130 KB
		if *j.Recovered || *j.Missed != 0 || j.Position != top.Position {
			t.Fatalf("joined = %+v; want recovered:false, nothing replayed, the room's position", j)
		}
		live := sam.send(group, "live", "after the refused replay")
		if f := c.messages(group, 1)[0]; f.Type != wire.TypeMessage || f.msg(t).ID != live.ID {
			t.Fatalf("after the refusal got %+v; want the next live message", f)
		}
	})

	t.Run("a member of another room still recovers", func(t *testing.T) {
		room := uuid.NewString()
		olga := b.member(t, room, "Olga")
		c := dial(t, other.url())
		since := c.join(room, olga, nil).Position
		c.leave(room)
		s := joined(t, b, inst, room)
		var want []string
		for i := 0; i < 5; i++ {
			want = append(want, s.send(room, fmt.Sprint("o", i), fmt.Sprint("for Olga ", i)).ID)
		}
		j := c.join(room, olga, &since)
		if !*j.Recovered || *j.Missed != 5 {
			t.Fatalf("joined = %+v; want all 5 missed messages replayed", j)
		}
		for i, f := range c.messages(room, 5) {
			if f.msg(t).ID != want[i] {
				t.Fatalf("replayed %d is %s, want %s", i, f.msg(t).ID, want[i])
			}
		}
	})

	t.Run("one connection's replays across rooms are paid from its own budget", func(t *testing.T) {
		// Members' budgets are off here: only the connection's applies.
		lean := b.start(t, func(c *Config) {
			c.RecoverMaxBytes, c.MemberReplayRate = bound, 0
			c.ConnReplayBurst, c.ConnReplayRate = bound, 1
		})
		c := dial(t, lean.url())
		replays := 0
		for i := 0; i < 3; i++ {
			room := uuid.NewString()
			m := b.member(t, room, fmt.Sprint("Multi", i))
			since := c.join(room, m, nil).Position
			c.leave(room)
			s := joined(t, b, lean, room)
			for k := 0; k < 12; k++ { // about 40 KB: within the bound, but not twice
				s.send(room, fmt.Sprint("y", k), strings.Repeat("y", body))
			}
			if j := c.join(room, m, &since); *j.Recovered {
				replays++
				c.messages(room, 12)
			}
		}
		if replays != 1 {
			t.Fatalf("%d of 3 rooms replayed on one connection; want 1, then its budget is spent", replays)
		}
		if n := metric(t, lean.opsAddr, `realtime_rate_limited_total{limit="connection_replay"}`); n != 2 {
			t.Fatalf("%v connection_replay limits counted, want 2", n)
		}
	})
}

// joined dials inst and joins room as a new member.
func joined(t *testing.T, b *bundle, inst *instance, room string) *client {
	t.Helper()
	c := dial(t, inst.url())
	c.join(room, b.member(t, room, "Sender"), nil)
	return c
}

// Regression: issue 13 M3. One member on 8 sockets could send 8 times the per-connection
// limit. Now a member's new messages are limited across its connections and instances
// (in Redis, checked by the script that claims the message id), a client address's per
// instance, and typing events once per member and interval; what is refused is never
// stored.
func TestSendsAreLimitedPerMemberAndPerAddress(t *testing.T) {
	t.Parallel()
	const rate, burst = 2, 10

	t.Run("one member on 8 sockets across 2 instances gets one member's quota", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		quota := func(c *Config) { c.MemberSendRate, c.MemberSendBurst = rate, burst }
		insts := []*instance{b.start(t, quota), b.start(t, quota)}
		group := uuid.NewString()
		mallory := b.member(t, group, "Mallory")
		socks := make([]*client, 8)
		for i := range socks {
			socks[i] = dial(t, insts[i%2].url())
			socks[i].join(group, mallory, nil)
		}
		const per = 30
		var (
			mu             sync.Mutex
			acks, refusals int
			wg             sync.WaitGroup
		)
		start := time.Now()
		for i, c := range socks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a, l := c.flood(group, fmt.Sprint("s", i), per)
				mu.Lock()
				acks, refusals = acks+a, refusals+l
				mu.Unlock()
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		allowed := int(burst + rate*elapsed.Seconds() + 1)
		t.Logf("%d sends in %v: %d acked, %d rate_limited", 8*per, elapsed.Round(time.Millisecond), acks, refusals)
		if acks > allowed || acks+refusals != 8*per {
			t.Fatalf("%d acked (at most %d allowed), %d rate_limited, of %d sends", acks, allowed, refusals, 8*per)
		}
		bob := dial(t, insts[1].url())
		bob.join(group, b.member(t, group, "Bob"), nil)
		bob.send(group, "bob-1", "another member is not limited by Mallory")
		// What was refused never reached Kafka.
		if stored := len(countRecords(t, b.brokers, b.topic)); stored != acks+1 {
			t.Fatalf("%d messages stored; want the %d acked ones and Bob's", stored, acks)
		}
	})

	t.Run("many members from one address get one address's rate on an instance", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		// The test dials from loopback, so loopback plays the proxy.
		inst := b.start(t, func(c *Config) {
			c.AddrSendRate, c.AddrSendBurst = rate, burst
			c.TrustedProxies = []string{"127.0.0.0/8", "::1"}
		})
		group := uuid.NewString()
		const members, per = 4, 15
		var (
			mu             sync.Mutex
			acks, refusals int
			wg             sync.WaitGroup
		)
		start := time.Now()
		for i := 0; i < members; i++ {
			c := dialFrom(t, inst.url(), "203.0.113.7")
			c.join(group, b.member(t, group, fmt.Sprint("Sybil", i)), nil)
			wg.Add(1)
			go func() {
				defer wg.Done()
				a, l := c.flood(group, fmt.Sprint("m", i), per)
				mu.Lock()
				acks, refusals = acks+a, refusals+l
				mu.Unlock()
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		allowed := int(burst + rate*elapsed.Seconds() + 1)
		if acks > allowed || acks+refusals != members*per {
			t.Fatalf("%d acked (at most %d allowed), %d rate_limited, of %d sends", acks, allowed, refusals, members*per)
		}
		elsewhere := dialFrom(t, inst.url(), "203.0.113.8")
		elsewhere.join(group, b.member(t, group, "Neighbour"), nil)
		elsewhere.send(group, "n-1", "another address is not limited by the first")
	})

	t.Run("a member typing on sockets of two instances passes one event per interval", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		slow := func(c *Config) { c.TypingInterval = time.Hour }
		a, bb := b.start(t, slow), b.start(t, slow)
		group := uuid.NewString()
		typist := b.member(t, group, "Typist")
		tabs := []*client{dial(t, a.url()), dial(t, bb.url())}
		observer := dial(t, a.url())
		observer.join(group, b.member(t, group, "Observer"), nil)
		for _, tab := range tabs {
			tab.join(group, typist, nil)
			tab.write(map[string]string{"type": "typing", "group_id": group})
			tab.write(map[string]string{"type": "ping", "ref": "after-typing"})
			tab.reply("after-typing") // frames are handled in order: the typing is done
		}
		// Events of a room reach the observer in stream order: every typing event that
		// passed comes before this message.
		marker := tabs[0].send(group, "marker", "after typing")
		observer.next("the marker", func(f frame) bool { return f.Type == wire.TypeMessage && f.msg(t).ID == marker.ID })
		typing := 0
		for _, f := range observer.pending {
			if f.Type == wire.TypeTyping {
				typing++
			}
		}
		if typing != 1 {
			t.Fatalf("the observer got %d typing events from one member's two sockets; want 1", typing)
		}
	})
}

// Regression: issue 13 L1. Idle keep-alive HTTP connections were kept forever, outside
// the per-address limit. Now the public listener closes them after HTTPIdleTimeout, and
// one that never finishes a request after HTTPRequestTimeout; upgraded WebSockets are not
// bound by either.
func TestIdleHTTPConnectionsAreClosed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inst := b.start(t, func(c *Config) { c.HTTPIdleTimeout, c.HTTPRequestTimeout = 300*time.Millisecond, time.Second })

	// closedByServer reads from conn until the server closes it (a hang guard, not a
	// timing assertion).
	closedByServer := func(t *testing.T, r io.Reader, conn net.Conn) {
		t.Helper()
		_ = conn.SetReadDeadline(time.Now().Add(hang))
		if _, err := io.Copy(io.Discard, r); err != nil {
			t.Fatalf("the server did not close the connection: %v", err)
		}
	}
	t.Run("an idle keep-alive connection is closed", func(t *testing.T) {
		conn, err := net.Dial("tcp", inst.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "GET /nothing-here HTTP/1.1\r\nHost: realtime\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(conn)
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.Close {
			t.Fatal("the server closed the connection with its answer; the test needs it kept alive")
		}
		closedByServer(t, r, conn)
	})
	t.Run("a connection that never sends a request is closed", func(t *testing.T) {
		conn, err := net.Dial("tcp", inst.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "GET /ws HTTP/1.1\r\n"); err != nil { // and never the rest
			t.Fatal(err)
		}
		closedByServer(t, conn, conn)
	})
	t.Run("a WebSocket outlives both timeouts", func(t *testing.T) {
		c := dial(t, inst.url())
		time.Sleep(1500 * time.Millisecond)
		c.write(map[string]string{"type": "ping", "ref": "still"})
		if f := c.reply("still"); f.Type != wire.TypePong {
			t.Fatalf("ping after the timeouts got %+v", f)
		}
	})
}

// Regression: issue 13 L3. Invalid frames were answered without being charged to the
// frame rate limiter. Now every frame is charged before it is decoded: a flood of garbage
// gets rate_limited like a flood of valid frames, and drains the same bucket.
func TestInvalidFramesAreChargedToTheFrameLimiter(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// A token a minute: the bucket does not refill during the test.
	inst := b.start(t, func(c *Config) { c.FrameRate, c.FrameBurst = 1.0/60, 5 })
	tests := []struct {
		name  string
		write func(c *client)
	}{
		{"text that is not JSON", func(c *client) { c.writeText(`not json`) }},
		{"frames of an unknown type", func(c *client) { c.writeText(`{"type":"shout"}`) }},
		{"binary frames", func(c *client) {
			if err := c.ws.Write(context.Background(), websocket.MessageBinary, []byte{0xff}); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, inst.url())
			const flood = 50
			for i := 0; i < flood; i++ {
				tt.write(c)
			}
			refused, limited := 0, 0
			for i := 0; i < flood; i++ {
				switch f := c.next("an error", func(f frame) bool { return f.Type == wire.TypeError }); f.Code {
				case wire.CodeRateLimited:
					limited++
				case wire.CodeBadFrame, wire.CodeUnknownType:
					refused++
				default:
					t.Fatalf("error %+v", f)
				}
			}
			if refused != 5 || limited != flood-5 {
				t.Fatalf("%d refused as invalid, %d rate_limited; want the burst of 5 and then rate_limited", refused, limited)
			}
			// The flood spent the bucket valid frames draw on too.
			c.write(map[string]string{"type": "ping", "ref": "p"})
			if f := c.reply("p"); f.Code != wire.CodeRateLimited {
				t.Fatalf("a ping after the flood got %+v; want rate_limited", f)
			}
		})
	}
}
