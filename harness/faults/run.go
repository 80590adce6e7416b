package faults

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/quickchat-go/quickchat/harness/chatclient"
	"github.com/quickchat-go/quickchat/harness/devstack"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

// Scenario is one fault injected into a running system.
type Scenario struct {
	// Name identifies the scenario in test names, e.g. "kill-persister".
	Name string
	// Title says what happens, for the report.
	Title string
	// RestartsServers is true when the fault stops PostgreSQL, Redis or Kafka, so the
	// system needs servers no other test uses.
	RestartsServers bool
	// Degraded is true when the design does not promise seamless delivery through this
	// fault: clients must be told (reset or recovered:false) to reload history instead.
	// Storage is promised in every scenario.
	Degraded bool
	// Note explains the outcome in the report.
	Note string
	// Inject applies the fault and returns once it is over (the process or server is back).
	Inject func(ctx context.Context, sys *devstack.System, logf func(string, ...any)) error
}

// Traffic shapes the load driven through a scenario.
type Traffic struct {
	// Rooms and MembersPerRoom set how many clients there are; every member sends.
	Rooms, MembersPerRoom int
	// SendInterval is the mean pause between one member's messages.
	SendInterval time.Duration
	// Before and After are how long traffic runs before the fault and after it is over.
	Before, After time.Duration
	// Drain bounds waiting for outstanding acks, deliveries and storage at the end.
	Drain time.Duration
}

// room is one chat group of a run.
type room struct {
	id       string
	passcode string
	members  []*member
}

// Run drives traffic through sys, injects sc's fault and checks the outcome. An error
// means the run itself could not be carried out; broken guarantees are in the Result.
func Run(ctx context.Context, sys *devstack.System, sc Scenario, tr Traffic, logf func(string, ...any)) (*Result, error) {
	api := chatclient.NewAPI(sys.GatewayURL)
	runID := newRunID()
	l := newLedger()
	rooms, err := setupRooms(ctx, api, sys.RealtimeURLs, tr, runID, l)
	if err != nil {
		return nil, err
	}
	var members []*member
	for _, r := range rooms {
		members = append(members, r.members...)
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

	// Senders stop starting new messages when stop closes and give up on unacknowledged
	// ones when drainCtx ends.
	stop := make(chan struct{})
	drainCtx, stopDrain := context.WithCancel(ctx)
	defer stopDrain()
	var senders sync.WaitGroup
	started := time.Now()
	trafficOver := make(chan struct{})
	storage := monitorStorage(ctx, sys.DatabaseURL, roomIDs(rooms), l, trafficOver)
	for _, m := range members {
		senders.Go(func() { m.send(drainCtx, stop, runID, tr.SendInterval) })
	}
	sleep(ctx, tr.Before)

	logf("%s: injecting fault after %d messages acked", sc.Name, countAcked(l))
	res := &Result{Scenario: sc, Traffic: tr}
	faultStart := time.Now()
	injectErr := sc.Inject(ctx, sys, logf)
	res.FaultDuration = time.Since(faultStart)
	if injectErr != nil {
		close(stop)
		close(trafficOver)
		stopDrain()
		senders.Wait()
		return nil, fmt.Errorf("%s: inject: %w", sc.Name, injectErr)
	}
	logf("%s: fault over after %v", sc.Name, res.FaultDuration.Round(time.Millisecond))

	sleep(ctx, tr.After)
	close(stop)
	res.TrafficDuration = time.Since(started)
	drainTimer := time.AfterFunc(tr.Drain, stopDrain)
	senders.Wait()
	drainTimer.Stop()
	logf("%s: traffic stopped after %v; %d messages acked", sc.Name, res.TrafficDuration.Round(time.Millisecond), countAcked(l))

	// Every member should reach the last acknowledged position of its room.
	res.DeliveryWait, res.DeliveryTimedOut = waitDelivered(ctx, rooms, l, tr.Drain)
	stopConns()
	conns.Wait()

	close(trafficOver)
	storageCtx, cancelStorage := context.WithTimeout(ctx, tr.Drain+time.Minute)
	res.StorageDelay = storage.wait(storageCtx)
	cancelStorage()
	if err := check(ctx, sys.DatabaseURL, api, rooms, l, res, tr.Drain+time.Minute); err != nil {
		return res, err
	}
	return res, nil
}

func setupRooms(ctx context.Context, api *chatclient.API, urls []string, tr Traffic, runID string, l *ledger) ([]*room, error) {
	owner, err := signUp(ctx, api, "owner-"+runID+"@faults.test", "owner password "+runID, "Owner")
	if err != nil {
		return nil, err
	}
	var rooms []*room
	idx := 0
	for i := range tr.Rooms {
		r := &room{passcode: fmt.Sprintf("passcode-%s-%d", runID, i)}
		g, err := api.CreateGroup(ctx, owner.AccessToken, fmt.Sprintf("Fault room %d", i+1), r.passcode)
		if err != nil {
			return nil, fmt.Errorf("create room %d: %w", i, err)
		}
		r.id = g.ID
		for j := range tr.MembersPerRoom {
			name := fmt.Sprintf("Member %d.%d", i+1, j+1)
			ms, err := api.Join(ctx, g.ID, name, r.passcode, "")
			if err != nil {
				return nil, fmt.Errorf("join room %d as %s: %w", i, name, err)
			}
			r.members = append(r.members, newMember(idx, r, name, ms.Token, urls, api, l))
			idx++
		}
		rooms = append(rooms, r)
	}
	return rooms, nil
}

// signUp registers an account and returns a session for it, signing in when the
// registration's answer carries none.
func signUp(ctx context.Context, api *chatclient.API, email, password, name string) (chatclient.Session, error) {
	s, err := api.Register(ctx, email, password, name)
	if err != nil {
		return s, fmt.Errorf("register %s: %w", email, err)
	}
	if s.AccessToken != "" {
		return s, nil
	}
	if s, err = api.Login(ctx, email, password); err != nil {
		return s, fmt.Errorf("sign in %s: %w", email, err)
	}
	return s, nil
}

func waitJoined(ctx context.Context, members []*member, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, m := range members {
		if _, err := m.current(ctx); err != nil {
			return fmt.Errorf("member %s never joined: %w", m.name, err)
		}
	}
	return nil
}

// waitDelivered waits until every member's position is its room's last acknowledged
// position, and reports how long that took and whether it timed out.
func waitDelivered(ctx context.Context, rooms []*room, l *ledger, timeout time.Duration) (time.Duration, bool) {
	last := lastPositions(l.snapshot())
	start := time.Now()
	deadline := time.After(timeout)
	for {
		done := true
		for _, r := range rooms {
			want := last[r.id]
			for _, m := range r.members {
				if p := m.position(); p.Epoch != want.Epoch || p.Offset < want.Offset {
					done = false
				}
			}
		}
		if done {
			return time.Since(start), false
		}
		select {
		case <-deadline:
			return time.Since(start), true
		case <-ctx.Done():
			return time.Since(start), true
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// lastPositions returns, per room, the last acknowledged position: the highest offset in
// the epoch of the most recent ack (an epoch changes only when Redis lost the room).
func lastPositions(msgs []sentMessage) map[string]wire.Position {
	epochAt := map[string]time.Time{}
	epoch := map[string]string{}
	for _, m := range msgs {
		if m.acked && m.ackedAt.After(epochAt[m.room]) {
			epochAt[m.room], epoch[m.room] = m.ackedAt, m.pos.Epoch
		}
	}
	last := map[string]wire.Position{}
	for _, m := range msgs {
		if m.acked && m.pos.Epoch == epoch[m.room] && m.pos.Offset >= last[m.room].Offset {
			last[m.room] = m.pos
		}
	}
	return last
}

func countAcked(l *ledger) int {
	n := 0
	for _, m := range l.snapshot() {
		if m.acked {
			n++
		}
	}
	return n
}

func roomIDs(rooms []*room) []string {
	ids := make([]string, len(rooms))
	for i, r := range rooms {
		ids[i] = r.id
	}
	return ids
}

func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
