package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/quickchat-go/quickchat/pkg/wire"
)

// flood writes n ping frames as fast as the socket takes them, without waiting for any
// answer; it stops at the first write the closing connection refuses.
func flood(c *client, n int) {
	for i := range n {
		b := fmt.Sprintf(`{"type":"ping","ref":"f%d"}`, i)
		if c.ws.Write(context.Background(), websocket.MessageText, []byte(b)) != nil {
			return
		}
	}
}

// Regression: the M3 run of make test-faults' abuse section (issue 13). A member flooding
// 8 sockets was refused frame by frame, but every refusal was answered with a frame of
// its own, ~19,000 writes a second that slowed everyone's messages 4×. Now a connection
// that keeps sending before the retry-after it was told is answered sparingly and then
// closed with 1008, while a client that waits as told is never closed.
func TestAConnectionThatKeepsSendingAfterRateLimitedIsClosed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const rate, burst, closeAfter = 20, 5, 30
	inst := b.start(t, func(c *Config) {
		c.FrameRate, c.FrameBurst = rate, burst
		c.FloodCloseAfter, c.FloodWindow = closeAfter, 10*time.Second
	})

	t.Run("a flooding connection is closed with 1008 and answered a few times at most", func(t *testing.T) {
		c := dial(t, inst.url())
		flood(c, 2000)
		select {
		case <-c.done:
		case <-time.After(hang):
			t.Fatal("the flooding connection was not closed")
		}
		if code := closeStatus(c.err); code != int(websocket.StatusPolicyViolation) {
			t.Fatalf("closed with %d (%v), want 1008", code, c.err)
		}
		limited := 0
		for len(c.frames) > 0 {
			if f := <-c.frames; f.Code == wire.CodeRateLimited {
				limited++
			}
		}
		// The first refusal and the early ones up to the limit are answered, and a few
		// sent after a token came back: nothing like one per frame. (The close does not
		// wait for queued answers, so some or all may never arrive.)
		if limited > 2*closeAfter {
			t.Fatalf("%d rate_limited answers before the close; want at most %d", limited, 2*closeAfter)
		}
		if n := metric(t, inst.opsAddr, "realtime_flood_closes_total"); n < 1 {
			t.Fatalf("realtime_flood_closes_total = %v, want at least 1", n)
		}
	})

	t.Run("a client that waits as told is served and never closed", func(t *testing.T) {
		c := dial(t, inst.url())
		// As fast as the server allows: straight after each answer, or after the
		// retry_after_ms of a refusal. That is the frame rate, and many refusals.
		pongs, limited := 0, 0
		for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
			ref := c.ref()
			c.write(map[string]string{"type": "ping", "ref": ref})
			switch f := c.reply(ref); {
			case f.Type == wire.TypePong:
				pongs++
			case f.Code == wire.CodeRateLimited:
				limited++
				time.Sleep(time.Duration(f.RetryAfterMs) * time.Millisecond)
			default:
				t.Fatalf("reply %+v", f)
			}
		}
		if limited <= closeAfter || pongs < 3*rate/2 {
			t.Fatalf("%d pongs and %d rate_limited; want the test to have pushed at the frame rate", pongs, limited)
		}
		select {
		case <-c.done:
			t.Fatalf("the connection was closed (%v)", c.err)
		default:
		}
	})

	t.Run("a client at the frame rate is never refused", func(t *testing.T) {
		c := dial(t, inst.url())
		for i := range 2 * rate {
			ref := c.ref()
			c.write(map[string]string{"type": "ping", "ref": ref})
			if f := c.reply(ref); f.Type != wire.TypePong {
				t.Fatalf("ping %d at the frame rate got %+v", i, f)
			}
			time.Sleep(time.Second / rate)
		}
	})
}

// A connection flooding without being closed (FloodCloseAfter 0) is answered only now
// and then, each answer counting the frames dropped unanswered before it: its refusals
// cost no writes, and none goes unaccounted.
func TestAFloodingConnectionIsAnsweredSparingly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inst := b.start(t, func(c *Config) {
		c.FrameRate, c.FrameBurst = 20, 5
		c.FloodCloseAfter = 0
	})
	c := dial(t, inst.url())
	const n = 1000
	flood(c, n)
	// Once the flood's retry-after has passed, pings one at a time: they pass until the
	// bucket is empty again, and the first refused one, not early, is answered with the
	// count of those dropped before it.
	time.Sleep(300 * time.Millisecond)
	after := 0
	for after < 10 {
		after++
		ref := fmt.Sprint("after", after)
		c.write(map[string]string{"type": "ping", "ref": ref})
		f := c.reply(ref)
		c.pending = append(c.pending, f) // counted below with the flood's answers
		if f.Code == wire.CodeRateLimited {
			break
		}
	}
	pongs, answered, unanswered := 0, 0, 0
	for len(c.pending) > 0 || len(c.frames) > 0 {
		var f frame
		if len(c.pending) > 0 {
			f, c.pending = c.pending[0], c.pending[1:]
		} else {
			f = <-c.frames
		}
		switch {
		case f.Type == wire.TypePong:
			pongs++
		case f.Code == wire.CodeRateLimited:
			answered++
			var k int
			if i := strings.LastIndex(f.Detail, "and "); i >= 0 {
				if _, err := fmt.Sscanf(f.Detail[i+len("and "):], "%d", &k); err != nil {
					t.Fatalf("detail %q: %v", f.Detail, err)
				}
			}
			unanswered += k
		default:
			t.Fatalf("frame %+v", f)
		}
	}
	t.Logf("%d frames: %d pongs, %d rate_limited answers counting %d more dropped unanswered", n+after, pongs, answered, unanswered)
	if pongs+answered+unanswered != n+after {
		t.Fatalf("%d pongs + %d answered + %d counted unanswered != %d frames sent", pongs, answered, unanswered, n+after)
	}
	if answered > 100 {
		t.Fatalf("%d of %d flooded frames answered; want a few dozen", answered, n)
	}
}
