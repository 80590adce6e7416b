package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quickchat-go/quickchat/pkg/wire"
)

// process is a realtime binary running as its own process, so it can be killed.
type process struct {
	cmd  *exec.Cmd
	addr string
	exit chan error
}

// startProcess builds the service and runs it with cfg; the test ends it if it has not.
func startProcess(t *testing.T, cfg Config) *process {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "realtime")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), env(cfg)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, exit: make(chan error, 1)}
	listening := make(chan string, 1)
	go func() {
		// Find the public address in its "listening" log line (the ops listener's line names
		// its listener), then keep draining the log.
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct{ Msg, Addr, Listener string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" && line.Listener == "" {
				listening <- line.Addr
			}
		}
		p.exit <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exit
	})
	select {
	case p.addr = <-listening:
	case err := <-p.exit:
		t.Fatalf("realtime process exited at start: %v", err)
	case <-time.After(hang):
		t.Fatal("realtime process did not start listening")
	}
	return p
}

func (p *process) url() string { return "ws://" + p.addr + "/ws" }

func TestClientOfAKilledInstanceRecoversEverythingOnceElsewhere(t *testing.T) {
	t.Parallel()
	b := setup(t)
	doomed := startProcess(t, b.config(t))
	survivor1, survivor2 := b.start(t, nil), b.start(t, nil)
	group := uuid.NewString()
	xavier := b.member(t, group, "Xavier")
	x := dial(t, doomed.url())
	x.join(group, xavier, nil)
	sam := dial(t, survivor1.url())
	sam.join(group, b.member(t, group, "Sam"), nil)
	olivia := dial(t, survivor2.url())
	olivia.join(group, b.member(t, group, "Olivia"), nil)

	const total = 60
	body := func(i int) string { return fmt.Sprintf("m%02d", i) }
	for i := 0; i < 10; i++ {
		sam.send(group, body(i), body(i))
	}
	var seen []frame
	seen = append(seen, x.messages(group, 10)...)
	// Xavier's own presence, as Olivia sees it, to check it expires after the kill.
	xClient := x.next("Xavier's own presence", func(f frame) bool {
		return f.Type == wire.TypePresenceJoin && f.Client.MemberID == xavier.id
	}).Client.ClientID

	if err := doomed.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-x.done

	// Sam keeps sending while Xavier is away and while he rejoins.
	halfway := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 10; i < total; i++ {
			sam.send(group, body(i), body(i))
			if i == 30 {
				close(halfway)
			}
		}
	}()
	<-halfway
	x2 := dial(t, survivor2.url())
	last := seen[len(seen)-1].Position
	joined := x2.join(group, xavier, &last)
	if joined.Recovered == nil || !*joined.Recovered {
		t.Fatalf("joined after the kill = %+v; want a complete recovery", joined)
	}
	wg.Wait()
	seen = append(seen, x2.messages(group, total-10)...)

	for i, f := range seen {
		if f.Type != wire.TypeMessage {
			t.Fatalf("frame %d is a %s; want messages only", i, f.Type)
		}
		if got := f.msg(t).Body; got != body(i) {
			t.Fatalf("message %d is %q, want %q: every message once, in order", i, got, body(i))
		}
		if i > 0 && f.Offset != seen[i-1].Offset+1 {
			t.Fatalf("message %d at offset %d after %d", i, f.Offset, seen[i-1].Offset)
		}
	}
	// Nothing more is queued: a marker is the very next message.
	marker := sam.send(group, "marker", "marker")
	if f := x2.messages(group, 1)[0]; f.msg(t).ID != marker.ID {
		t.Fatalf("after the recovery got %q, want the marker", f.msg(t).Body)
	}
	// The dead instance never said goodbye; its client's presence expires and the
	// survivors announce it.
	olivia.next("the killed client's presence_leave", func(f frame) bool {
		return f.Type == wire.TypePresenceLeave && f.Client != nil && f.Client.ClientID == xClient
	})
}

func TestSlowClientIsClosedWhileOthersKeepUp(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inst := b.start(t, func(c *Config) { c.SendQueue = 8 })
	group := uuid.NewString()
	sender, reader := dial(t, inst.url()), dial(t, inst.url())
	sender.join(group, b.member(t, group, "Sam"), nil)
	reader.join(group, b.member(t, group, "Rita"), nil)

	// The slow client joins, reads its reply, and never reads again.
	slow := dialRaw(t, inst.url())
	join, _ := json.Marshal(map[string]string{"type": "join", "ref": "j", "group_id": group, "token": b.member(t, group, "Sid").token})
	if err := slow.Write(t.Context(), 1, join); err != nil {
		t.Fatal(err)
	}
	if _, data, err := slow.Read(t.Context()); err != nil || !strings.Contains(string(data), `"joined"`) {
		t.Fatalf("slow client's join: %s %v", data, err)
	}

	big := strings.Repeat("x", 4000)
	sent := 0
	for metric(t, inst.opsAddr, "realtime_slow_client_closes_total") == 0 {
		if sent >= 5000 {
			t.Fatal("5000 messages in, the client that does not read is still connected")
		}
		for i := 0; i < 25; i++ {
			sender.send(group, fmt.Sprint(sent), big)
			sent++
		}
	}
	for i := 0; i < 10; i++ {
		sender.send(group, fmt.Sprint(sent), "after")
		sent++
	}
	frames := reader.messages(group, sent)
	for i, f := range frames {
		if f.Type != wire.TypeMessage || f.msg(t).ClientMsgID != fmt.Sprint(i) {
			t.Fatalf("the reading client's frame %d is %+v; want every message in order", i, f)
		}
	}
	// The slow client's connection is gone: reading drains what the kernel buffered,
	// then fails, short of everything that was sent.
	got := 0
	for {
		_, data, err := slow.Read(t.Context())
		if err != nil {
			break
		}
		if strings.Contains(string(data), `"message"`) {
			got++
		}
	}
	if got >= sent {
		t.Fatalf("the slow client read all %d messages; it should have been cut off", sent)
	}
	waitUntil(t, "the server to let go of the slow connection", func() bool {
		return metric(t, inst.opsAddr, "realtime_connections") == 2
	})
}

func TestDrainFinishesSendsAndTellsClientsToReconnect(t *testing.T) {
	t.Parallel()
	b := setup(t)
	draining, other := b.start(t, nil), b.start(t, nil)
	group := uuid.NewString()
	dora := b.member(t, group, "Dora")
	c := dial(t, draining.url())
	c.join(group, dora, nil)
	before := c.send(group, "c0", "before")
	c.write(map[string]string{"type": "send", "ref": "last", "group_id": group, "client_msg_id": "c1", "body": "racing the drain"})
	if err := draining.stop(); err != nil {
		t.Fatalf("run returned %v after draining", err)
	}
	<-c.done
	if code := closeStatus(c.err); code != wire.CloseReconnect {
		t.Fatalf("close status %d (%v), want %d", code, c.err, wire.CloseReconnect)
	}
	// The send racing the drain was acknowledged, refused, or not read before the close.
	// Either way the client reconnects elsewhere, recovers, and resends with the same id:
	// the message then exists exactly once.
	c2 := dial(t, other.url())
	since := before.Position
	joined := c2.join(group, dora, &since)
	if joined.Recovered == nil || !*joined.Recovered {
		t.Fatalf("rejoin = %+v; want a complete recovery", joined)
	}
	replayed := c2.messages(group, *joined.Missed)
	ack := c2.send(group, "c1", "racing the drain")
	copies := 0
	for _, f := range replayed {
		if f.msg(t).ClientMsgID == "c1" {
			copies++
			if f.msg(t).ID != ack.ID || !ack.Duplicate {
				t.Fatalf("replayed %+v but the resend was acked as %+v", f.msg(t), ack)
			}
		}
	}
	if copies == 0 {
		if ack.Duplicate {
			t.Fatal("the resend is acked as a duplicate of a message the recovery did not replay")
		}
		if f := c2.messages(group, 1)[0]; f.msg(t).ID != ack.ID {
			t.Fatalf("after the resend got %+v, want the message", f.msg(t))
		}
	}
	if copies > 1 {
		t.Fatalf("the racing message was replayed %d times", copies)
	}
	resp, err := http.Get("http://" + draining.opsAddr + "/readyz")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("the drained instance still answers readyz with %d", resp.StatusCode)
	}
}

func TestUnresponsivePeerIsClosedByKeepalive(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inst := b.start(t, func(c *Config) { c.PingInterval, c.PongTimeout = 200*time.Millisecond, 200*time.Millisecond })
	alive := dial(t, inst.url()) // reads, so it answers pings
	// A peer that never reads never answers a ping, as if its host had vanished.
	_ = dialRaw(t, inst.url())
	waitUntil(t, "the unresponsive peer to be closed", func() bool {
		return metric(t, inst.opsAddr, "realtime_connections") == 1
	})
	alive.write(map[string]string{"type": "ping", "ref": "p"})
	if f := alive.reply("p"); f.Type != wire.TypePong {
		t.Fatalf("the responsive client got %+v", f)
	}
}
