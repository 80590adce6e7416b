package faults

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/quickchat-go/quickchat/harness/chatclient"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

// Attacks are the abuses of the security review that one user can mount against
// everyone (issue 13: H1, M3, M4), in the order make test-faults runs them.
func Attacks() []Attack {
	return []Attack{
		{
			Name: "replay-loop", Finding: "H1", Title: "Replay loop (H1)",
			Note:    "A guest member of its own room, whose history is full of 4 KB messages, joins with `since` at the start of that history, leaves and joins again in a tight loop on several connections from one address, reading every replayed frame.",
			prepare: prepareReplayLoop,
		},
		{
			Name: "multi-socket-flood", Finding: "M3", Title: "Multi-socket flood (M3)",
			Note:    "One guest member opens many connections from one address, spread over both realtime instances, joins its own room on each and sends as fast as the server answers, keeping several sends unanswered per connection.",
			prepare: prepareFlood,
		},
		{
			Name: "group-flood", Finding: "M4", Title: "Group-creation flood (M4)",
			Note:    "One signed-in account creates groups and changes their passcodes as fast as the gateway answers, from several concurrent requests (each runs argon2id unless refused first).",
			prepare: prepareGroupFlood,
		},
	}
}

// newRoom creates a room of the abuse owner with a passcode of its own.
func (e *abuseEnv) newRoom(ctx context.Context, title string) (chatclient.Group, string, error) {
	passcode := "passcode-" + e.runID + "-" + randomHex(6)
	g, err := e.api.CreateGroup(ctx, e.owner.AccessToken, title, passcode)
	if err != nil {
		return g, "", fmt.Errorf("create %s: %w", title, err)
	}
	return g, passcode, nil
}

// dialJoined connects from ip to url and joins room with token.
func dialJoined(ctx context.Context, url string, ip net.IP, room, token string, opts chatclient.DialOptions) (*chatclient.Conn, chatclient.Frame, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	opts.LocalIP = ip
	conn, err := chatclient.Dial(ctx, url, opts)
	if err != nil {
		return nil, chatclient.Frame{}, err
	}
	j, err := conn.Join(ctx, room, token, nil)
	if err != nil {
		_ = conn.CloseNow()
		return nil, j, err
	}
	return conn, j, nil
}

// prepareReplayLoop fills a room's history with HistoryMessages messages of HistoryBody
// bytes (from several guests, each at its own address) and returns the H1 attacker.
func prepareReplayLoop(ctx context.Context, env *abuseEnv) (func(context.Context) AttackOutcome, error) {
	cfg := env.cfg
	room, passcode, err := env.newRoom(ctx, "Abuse H1 replay room")
	if err != nil {
		return nil, err
	}
	fillers := max(1, min(10, cfg.HistoryMessages))
	body := historyBody(cfg.HistoryBody)
	errs := make(chan error, fillers)
	var wg sync.WaitGroup
	for i := range fillers {
		n := cfg.HistoryMessages / fillers
		if i < cfg.HistoryMessages%fillers {
			n++
		}
		wg.Go(func() { errs <- env.fill(ctx, room.ID, passcode, i, n, body) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return nil, err
		}
	}
	ms, err := env.api.Join(ctx, room.ID, "H1 attacker", passcode, "")
	if err != nil {
		return nil, fmt.Errorf("join the replay room: %w", err)
	}
	ip := env.addrs.take()
	conn, top, err := dialJoined(ctx, env.sys.RealtimeURLs[0], ip, room.ID, ms.Token, chatclient.DialOptions{})
	if err != nil {
		return nil, fmt.Errorf("find the top of the replay room: %w", err)
	}
	_ = conn.Close()
	// since is the position before the oldest message filled in: the whole history.
	since := wire.Position{Epoch: top.Epoch, Offset: top.Offset - min(top.Offset, uint64(cfg.HistoryMessages))}
	env.logf("abuse replay-loop: history of %d × %d B up to %s/%d; replaying from %d", cfg.HistoryMessages, len(body), top.Epoch, top.Offset, since.Offset)

	return func(ctx context.Context) AttackOutcome {
		t := newTally()
		observe := func(f chatclient.Frame) {
			t.add("bytes received", int64(len(f.Raw)))
			switch f.Type {
			case wire.TypeMessage:
				t.add("message frames", 1)
				t.add("bytes replayed", int64(len(f.Raw)))
			case wire.TypeReset:
				t.add("reset frames", 1)
			case wire.TypeJoined:
				if f.Recovered != nil && *f.Recovered {
					t.add("joins recovered", 1)
				} else if f.Recovered != nil {
					t.add("joins not recovered", 1)
				}
			}
		}
		var wg sync.WaitGroup
		for i := range max(1, cfg.ReplaySockets) {
			url := env.sys.RealtimeURLs[i%len(env.sys.RealtimeURLs)]
			wg.Go(func() {
				for ctx.Err() == nil {
					dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					conn, err := chatclient.Dial(dctx, url, chatclient.DialOptions{LocalIP: ip, Observe: observe})
					cancel()
					if err != nil {
						t.add("refused dial", 1)
						sleep(ctx, 200*time.Millisecond)
						continue
					}
					replayLoop(ctx, conn, room.ID, ms.Token, since, t)
					_ = conn.CloseNow()
					if st := conn.CloseStatus(); st > 0 && ctx.Err() == nil {
						t.add(fmt.Sprintf("refused closed %d", st), 1)
					}
				}
			})
		}
		wg.Wait()
		return replayOutcome(t)
	}, nil
}

// fill has one guest send n messages of body into room, each until acknowledged.
func (e *abuseEnv) fill(ctx context.Context, room, passcode string, i, n int, body string) error {
	ms, err := e.api.Join(ctx, room, fmt.Sprintf("Filler %d", i+1), passcode, "")
	if err != nil {
		return fmt.Errorf("join filler %d: %w", i, err)
	}
	conn, _, err := dialJoined(ctx, e.sys.RealtimeURLs[i%len(e.sys.RealtimeURLs)], e.addrs.take(), room, ms.Token, chatclient.DialOptions{})
	if err != nil {
		return fmt.Errorf("filler %d: %w", i, err)
	}
	defer conn.Close()
	for k := range n {
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		_, err := conn.Send(sctx, room, fmt.Sprintf("%s-fill-%d-%d", e.runID, i, k), body)
		cancel()
		if err != nil {
			return fmt.Errorf("filler %d message %d: %w", i, k, err)
		}
	}
	return nil
}

// replayLoop joins with since and leaves, again and again, until ctx ends or the
// connection does. The leave's reply comes after the whole replay (one connection, one
// order), so every loop reads what its join replayed.
func replayLoop(ctx context.Context, conn *chatclient.Conn, room, token string, since wire.Position, t *tally) {
	for ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		t.add("joins sent", 1)
		_, err := conn.Join(rctx, room, token, &since)
		if err == nil {
			t.add("joins answered", 1)
			_, err = conn.Leave(rctx, room)
		}
		cancel()
		if err == nil || ctx.Err() != nil {
			continue
		}
		code := errorCode(err)
		t.add("refused "+code, 1)
		switch code {
		case "connection":
			return
		case wire.CodeAlreadyJoined:
			lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, _ = conn.Leave(lctx, room)
			cancel()
		}
	}
}

func replayOutcome(t *tally) AttackOutcome {
	replayed, joins := t.get("bytes replayed"), t.get("joins answered")
	perJoin := int64(0)
	if joins > 0 {
		perJoin = replayed / joins
	}
	refused := joinNonEmpty(
		countOf(t.get("joins not recovered"), "joins answered recovered:false"),
		countOf(t.get("reset frames"), "reset frames"),
		t.withPrefix("refused "),
	)
	return AttackOutcome{
		Got: fmt.Sprintf("%s replayed in %d message frames (%s per answered join); %d of %d joins answered; %s received in all",
			humanBytes(replayed), t.get("message frames"), humanBytes(perJoin), joins, t.get("joins sent"), humanBytes(t.get("bytes received"))),
		Refused: refused,
		Counts:  t.snapshot(),
	}
}

// prepareFlood returns the M3 attacker: one guest member of its own room.
func prepareFlood(ctx context.Context, env *abuseEnv) (func(context.Context) AttackOutcome, error) {
	cfg := env.cfg
	room, passcode, err := env.newRoom(ctx, "Abuse M3 flood room")
	if err != nil {
		return nil, err
	}
	ms, err := env.api.Join(ctx, room.ID, "M3 flooder", passcode, "")
	if err != nil {
		return nil, fmt.Errorf("join the flood room: %w", err)
	}
	ip := env.addrs.take()
	return func(ctx context.Context) AttackOutcome {
		t := newTally()
		start := time.Now()
		var wg sync.WaitGroup
		for i := range max(1, cfg.FloodSockets) {
			url := env.sys.RealtimeURLs[i%len(env.sys.RealtimeURLs)]
			wg.Go(func() {
				for seq := 0; ctx.Err() == nil; {
					seq = floodSocket(ctx, url, ip, room.ID, ms.Token, fmt.Sprintf("%s-flood-%d", env.runID, i), seq, max(1, cfg.FloodInFlight), t)
				}
			})
		}
		wg.Wait()
		took := time.Since(start)
		accepted := t.get("accepted")
		return AttackOutcome{
			Got: fmt.Sprintf("%d messages accepted (%.0f/s) of %d sent on %d connections; %s received",
				accepted, float64(accepted)/took.Seconds(), t.get("sent"), max(1, cfg.FloodSockets), humanBytes(t.get("bytes received"))),
			Refused: t.withPrefix("refused "),
			Counts:  t.snapshot(),
		}
	}, nil
}

// floodSocket connects once and sends until ctx or the connection ends, keeping up to
// inFlight sends unanswered; it returns the next sequence number.
func floodSocket(ctx context.Context, url string, ip net.IP, room, token, prefix string, seq, inFlight int, t *tally) int {
	slots := make(chan struct{}, inFlight)
	release := func() {
		select {
		case <-slots:
		default:
		}
	}
	opts := chatclient.DialOptions{
		Observe: func(f chatclient.Frame) { t.add("bytes received", int64(len(f.Raw))) },
		OnFrame: func(f chatclient.Frame) {
			if !strings.HasPrefix(f.Ref, "a") {
				return // not the answer to a send
			}
			switch f.Type {
			case wire.TypeAck:
				t.add("accepted", 1)
				release()
			case wire.TypeError:
				t.add("refused "+f.Code, 1)
				release()
			}
		},
	}
	conn, _, err := dialJoined(ctx, url, ip, room, token, opts)
	if err != nil {
		if ctx.Err() == nil {
			t.add("refused "+errorCode(err), 1)
			sleep(ctx, 200*time.Millisecond)
		}
		return seq
	}
	defer func() {
		_ = conn.CloseNow()
		if st := conn.CloseStatus(); st > 0 && ctx.Err() == nil {
			t.add(fmt.Sprintf("refused closed %d", st), 1)
		}
	}()
	for ctx.Err() == nil {
		select {
		case slots <- struct{}{}:
		case <-conn.Done():
			return seq
		case <-ctx.Done():
			return seq
		case <-time.After(5 * time.Second):
			// Nothing answered for a while: count what is outstanding and start over, so
			// a refusal without a ref cannot stall the flood.
			t.add("refused unanswered", int64(len(slots)))
			for len(slots) > 0 {
				release()
			}
			continue
		}
		seq++
		t.add("sent", 1)
		if _, err := conn.SendAsync(ctx, room, fmt.Sprintf("%s-%d", prefix, seq), fmt.Sprintf("flood %d", seq)); err != nil {
			return seq
		}
	}
	return seq
}

// prepareGroupFlood returns the M4 attacker: a signed-in account of its own, at its own
// address, with one group to change the passcode of from the start.
func prepareGroupFlood(ctx context.Context, env *abuseEnv) (func(context.Context) AttackOutcome, error) {
	cfg := env.cfg
	api := apiFrom(env.sys.GatewayURL, env.addrs.take())
	acct, err := signUp(ctx, api, "m4-"+env.runID+"@faults.test", "m4 password "+env.runID, "M4 attacker")
	if err != nil {
		return nil, err
	}
	first, err := api.CreateGroup(ctx, acct.AccessToken, "M4 group 0", "passcode-"+randomHex(8))
	if err != nil {
		return nil, fmt.Errorf("create the first M4 group: %w", err)
	}
	return func(ctx context.Context) AttackOutcome {
		t := newTally()
		var mu sync.Mutex
		groups := []string{first.ID}
		var wg sync.WaitGroup
		for w := range max(1, cfg.GroupWorkers) {
			wg.Go(func() {
				for k := 0; ctx.Err() == nil; k++ {
					if (k+w)%2 == 0 {
						g, err := api.CreateGroup(ctx, acct.AccessToken, fmt.Sprintf("M4 group %d.%d", w, k), "passcode-"+randomHex(8))
						countHTTP(ctx, t, "create", http.StatusCreated, err)
						if err == nil {
							mu.Lock()
							groups = append(groups, g.ID)
							mu.Unlock()
						}
						continue
					}
					mu.Lock()
					id := groups[rand.N(len(groups))]
					mu.Unlock()
					passcode := "passcode-" + randomHex(8)
					_, err := api.UpdateGroup(ctx, acct.AccessToken, id, chatclient.GroupChange{Passcode: &passcode})
					countHTTP(ctx, t, "passcode", http.StatusOK, err)
				}
			})
		}
		wg.Wait()
		created, changed := t.get("create 201"), t.get("passcode 200")
		return AttackOutcome{
			Got:     fmt.Sprintf("%d groups created, %d passcodes changed (%d requests)", created, changed, t.get("create sent")+t.get("passcode sent")),
			Refused: joinNonEmpty(prefixed("create: ", t.withPrefix("create refused ")), prefixed("passcode: ", t.withPrefix("passcode refused "))),
			Counts:  t.snapshot(),
		}
	}, nil
}

// countHTTP counts one request of kind by its answer: "<kind> <ok status>" when it
// succeeded, "<kind> refused <status>" (or the transport error) when not.
func countHTTP(ctx context.Context, t *tally, kind string, ok int, err error) {
	if ctx.Err() != nil {
		return // cut short by the end of the attack
	}
	t.add(kind+" sent", 1)
	var ae *chatclient.APIError
	switch {
	case err == nil:
		t.add(fmt.Sprintf("%s %d", kind, ok), 1)
	case errors.As(err, &ae):
		t.add(fmt.Sprintf("%s refused %d", kind, ae.Status), 1)
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout"):
		t.add(kind+" refused timeout", 1)
	default:
		t.add(kind+" refused connection", 1)
	}
}

// errorCode names why a request on a connection failed: the error frame's code,
// "timeout", or "connection".
func errorCode(err error) string {
	var fe *chatclient.FrameError
	switch {
	case errors.As(err, &fe):
		return fe.Code
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	default:
		return "connection"
	}
}

// historyBody is a message body of n bytes of ASCII.
func historyBody(n int) string {
	const pattern = "history of the replay room, 0123456789 abcdefghijklmnopqrstuvwxyz. "
	return strings.Repeat(pattern, n/len(pattern)+1)[:n]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = crand.Read(b)
	return hex.EncodeToString(b)
}

func countOf(n int64, what string) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d %s", n, what)
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// joinNonEmpty joins the non-empty parts with "; ", or says "none".
func joinNonEmpty(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, "; ")
}

// humanBytes writes n bytes as B, KB, MB or GB (powers of 1000).
func humanBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f KB", float64(n)/1e3)
	default:
		return fmt.Sprintf("%d B", n)
	}
}
