package faults

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/quickchat-go/quickchat/harness/chatclient"
	"github.com/quickchat-go/quickchat/harness/devstack"
)

// AbuseConfig shapes the abuse section of make test-faults: a well-behaved room measured
// while one attacker at a time abuses the system.
type AbuseConfig struct {
	// Members and SendInterval shape the well-behaved room: every member sends one
	// message every SendInterval on average (10 members every 500 ms: about 20 msg/s).
	Members      int
	SendInterval time.Duration
	// SignInInterval is the pause between two sign-ins of the probe account.
	SignInInterval time.Duration
	// Window is how long each measurement lasts: the idle one just before an attack and
	// the one while it runs.
	Window time.Duration
	// Settle is the pause after preparing an attack and after stopping one, so what one
	// window left behind does not count in the next.
	Settle time.Duration
	// HistoryMessages and HistoryBody fill the replay attacker's room: that many
	// messages of that many bytes.
	HistoryMessages, HistoryBody int
	// ReplaySockets is how many connections the replay attacker loops on.
	ReplaySockets int
	// FloodSockets is how many connections the flooding member opens (spread over the
	// realtime instances); FloodInFlight how many sends each keeps unanswered.
	FloodSockets, FloodInFlight int
	// GroupWorkers is how many group requests the hashing attacker keeps in flight.
	GroupWorkers int
	// Drain bounds waiting for the well-behaved room's acks, deliveries and storage at
	// the end.
	Drain time.Duration
}

// DefaultAbuse is the abuse section make test-faults runs.
var DefaultAbuse = AbuseConfig{
	Members: 10, SendInterval: 500 * time.Millisecond, SignInInterval: 200 * time.Millisecond,
	Window: 30 * time.Second, Settle: 5 * time.Second,
	HistoryMessages: 1000, HistoryBody: 4096, ReplaySockets: 4,
	FloodSockets: 8, FloodInFlight: 16, GroupWorkers: 4, Drain: time.Minute,
}

// Attack is one way a single user tries to degrade the system for everyone.
type Attack struct {
	// Name identifies the attack in logs, e.g. "replay-loop".
	Name string
	// Finding is the security review's name for the hole, e.g. "H1".
	Finding string
	// Title says what the attacker does, for the report.
	Title string
	// Note explains the attack in the report.
	Note string
	// prepare sets the attack up (accounts, rooms, history) and returns the attack
	// itself, which runs until its context ends and says what it achieved.
	prepare func(ctx context.Context, env *abuseEnv) (func(ctx context.Context) AttackOutcome, error)
}

// AttackOutcome is what an attacker achieved and what it was refused, read from the
// system's answers (frames, bytes, error codes, HTTP statuses), not assumed from limits.
type AttackOutcome struct {
	// Got and Refused say it in words for the report.
	Got, Refused string
	// Counts are every counted outcome by name.
	Counts map[string]int64
}

// Window is one measurement of the well-behaved room and the sign-in probe.
type Window struct {
	Start time.Time
	Took  time.Duration
	// Room is send→deliver latency: from a member's send to the message's arrival at
	// every other member, for messages first sent in the window.
	Room Latency
	// SignIn is the latency of the probe's successful sign-ins started in the window;
	// SignInRefused counts those answered 429, SignInFailed other errors and timeouts.
	SignIn                      Latency
	SignInRefused, SignInFailed int
	// Load is the machine's 1, 5 and 15-minute load averages at the end of the window.
	Load string
}

// AttackResult is one attack's outcome and the windows around it.
type AttackResult struct {
	Attack  Attack
	Outcome AttackOutcome
	// Idle was measured just before the attack, Under while it ran.
	Idle, Under Window
}

// RoomRatio and SignInRatio are the p99 under attack over the p99 idle (NaN when not
// measured).
func (a AttackResult) RoomRatio() float64   { return ratio(a.Idle.Room, a.Under.Room) }
func (a AttackResult) SignInRatio() float64 { return ratio(a.Idle.SignIn, a.Under.SignIn) }

// WithinTwice reports whether the well-behaved room's p99 send→deliver and the sign-in
// p99 stayed within twice their idle values, with no sign-in refused or failed.
func (a AttackResult) WithinTwice() bool {
	r, s := a.RoomRatio(), a.SignInRatio()
	return !math.IsNaN(r) && !math.IsNaN(s) && r <= 2 && s <= 2 &&
		a.Under.SignInRefused+a.Under.SignInFailed == 0
}

// AbuseResult is what the abuse section showed.
type AbuseResult struct {
	Config  AbuseConfig
	Attacks []AttackResult
	// Failed lists attacks that could not be prepared, with the reason.
	Failed map[string]string
	// Room checks the well-behaved room's guarantees across the whole run: every
	// acknowledged message stored once and delivered to every member in order.
	Room *Result
}

// abuseEnv is what attacks are prepared with.
type abuseEnv struct {
	sys   *devstack.System
	api   *chatclient.API
	owner chatclient.Session
	runID string
	cfg   AbuseConfig
	addrs *addresses
	logf  func(string, ...any)
}

// RunAbuse runs each attack in turn against sys while a well-behaved room sends and a
// probe signs in, measuring both idle and under attack. An error means the run could not
// be carried out; broken guarantees of the well-behaved room are in the result's Room.
func RunAbuse(ctx context.Context, sys *devstack.System, attacks []Attack, cfg AbuseConfig, logf func(string, ...any)) (*AbuseResult, error) {
	runID := newRunID()
	addrs := &addresses{}
	api := chatclient.NewAPI(sys.GatewayURL)
	l := newLedger()
	rooms, err := setupRooms(ctx, api, sys.RealtimeURLs, Traffic{Rooms: 1, MembersPerRoom: cfg.Members}, runID, l)
	if err != nil {
		return nil, err
	}
	members := rooms[0].members
	for _, m := range members {
		m.localIP = addrs.take() // each member is another person at another address
	}
	owner, err := signUp(ctx, api, "abuse-owner-"+runID+"@faults.test", "abuse owner "+runID, "Abuse owner")
	if err != nil {
		return nil, err
	}
	probeEmail, probePassword := "probe-"+runID+"@faults.test", "probe password "+runID
	if _, err := signUp(ctx, api, probeEmail, probePassword, "Probe"); err != nil {
		return nil, err
	}

	connCtx, stopConns := context.WithCancel(ctx)
	var conns sync.WaitGroup
	defer func() {
		stopConns()
		conns.Wait()
	}()
	for _, m := range members {
		conns.Go(func() { m.connect(connCtx) })
	}
	if err := waitJoined(ctx, members, time.Minute); err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	drainCtx, stopDrain := context.WithCancel(ctx)
	defer stopDrain()
	var senders sync.WaitGroup
	for _, m := range members {
		senders.Go(func() { m.send(drainCtx, stop, runID, cfg.SendInterval) })
	}
	probe := &signInProbe{}
	probeCtx, stopProbe := context.WithCancel(ctx)
	var probing sync.WaitGroup
	probing.Go(func() {
		probe.run(probeCtx, apiFrom(sys.GatewayURL, addrs.take()), probeEmail, probePassword, cfg.SignInInterval)
	})
	defer func() {
		stopProbe()
		probing.Wait()
	}()

	env := &abuseEnv{sys: sys, api: api, owner: owner, runID: runID, cfg: cfg, addrs: addrs, logf: logf}
	out := &AbuseResult{Config: cfg, Failed: map[string]string{}}
	for _, a := range attacks {
		res, err := runAttack(ctx, env, a)
		if err != nil {
			logf("abuse %s: %v", a.Name, err)
			out.Failed[a.Title] = err.Error()
			continue
		}
		out.Attacks = append(out.Attacks, res)
	}

	close(stop)
	drainTimer := time.AfterFunc(cfg.Drain, stopDrain)
	senders.Wait()
	drainTimer.Stop()
	stopProbe()
	probing.Wait()
	res := &Result{Scenario: Scenario{Name: "abuse", Title: "Well-behaved room under abuse"}, Traffic: Traffic{Rooms: 1, MembersPerRoom: cfg.Members, SendInterval: cfg.SendInterval}}
	res.DeliveryWait, res.DeliveryTimedOut = waitDelivered(ctx, rooms, l, cfg.Drain)
	stopConns()
	conns.Wait()
	if err := check(ctx, sys.DatabaseURL, api, rooms, l, res, cfg.Drain+time.Minute); err != nil {
		return nil, err
	}
	out.Room = res
	// Latencies are read only now, when every message of every window has arrived.
	for i := range out.Attacks {
		a := &out.Attacks[i]
		for _, w := range []*Window{&a.Idle, &a.Under} {
			end := w.Start.Add(w.Took)
			w.Room = latencyOf(l.deliveryLatencies(w.Start, end))
			w.SignIn, w.SignInRefused, w.SignInFailed = probe.window(w.Start, end)
		}
	}
	return out, nil
}

// runAttack prepares a, measures an idle window, then runs a for a window and measures
// again.
func runAttack(ctx context.Context, env *abuseEnv, a Attack) (AttackResult, error) {
	cfg := env.cfg
	env.logf("abuse %s (%s): preparing", a.Name, a.Finding)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	attack, err := a.prepare(pctx, env)
	cancel()
	if err != nil {
		return AttackResult{}, fmt.Errorf("prepare: %w", err)
	}
	sleep(ctx, cfg.Settle)
	res := AttackResult{Attack: a}
	res.Idle = measureWindow(ctx, cfg.Window)
	env.logf("abuse %s: idle window over (load %s); attacking for %v", a.Name, res.Idle.Load, cfg.Window)

	actx, stopAttack := context.WithCancel(ctx)
	outcome := make(chan AttackOutcome, 1)
	go func() { outcome <- attack(actx) }()
	res.Under = measureWindow(ctx, cfg.Window)
	stopAttack()
	res.Outcome = <-outcome
	env.logf("abuse %s: attacker got %s; refused %s (load %s)", a.Name, res.Outcome.Got, res.Outcome.Refused, res.Under.Load)
	sleep(ctx, cfg.Settle)
	return res, ctx.Err()
}

// measureWindow waits out a window and records its bounds and the load at its end; the
// latencies in it are read at the end of the run.
func measureWindow(ctx context.Context, d time.Duration) Window {
	w := Window{Start: time.Now()}
	sleep(ctx, d)
	w.Took = time.Since(w.Start)
	w.Load = loadAverage()
	return w
}
