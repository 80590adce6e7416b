package scenario

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/quickchat-go/quickchat/harness/chatclient"
)

// Room is a chat group and the members that joined it.
type Room struct {
	ID      string
	Members []Member
}

// Member is one joined member and its token for the realtime service.
type Member struct {
	ID    string
	Token string
	// At is when the token was issued (member tokens live at most 15 minutes).
	At time.Time
}

// Population is every room a scenario uses.
type Population struct {
	Rooms []Room
	// Elapsed is how long creating it took.
	Elapsed time.Duration
}

// Members counts the members of all rooms.
func (p Population) Members() int {
	n := 0
	for _, r := range p.Rooms {
		n += len(r.Members)
	}
	return n
}

// RoomIDs lists the rooms' ids.
func (p Population) RoomIDs() []string {
	ids := make([]string, len(p.Rooms))
	for i, r := range p.Rooms {
		ids[i] = r.ID
	}
	return ids
}

// Populate registers an owner account, creates rooms passcode-protected groups and has
// size members join each as guests, concurrency requests at a time. The gateway must not
// rate-limit this (GATEWAY_RATE_PASSCODE_PER_IP and _PER_GROUP off).
func Populate(ctx context.Context, api *chatclient.API, rooms, size, concurrency int) (Population, error) {
	start := time.Now()
	suffix := randomHex(6)
	owner, err := api.Register(ctx, "loadgen-"+suffix+"@example.test", "loadgen-"+suffix+"-password", "loadgen")
	if err != nil {
		return Population{}, fmt.Errorf("scenario: register owner: %w", err)
	}
	passcode := "pass-" + suffix
	pop := Population{Rooms: make([]Room, rooms)}
	type job struct{ room, member int }
	jobs := make(chan job)
	var (
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		errMu.Lock()
		defer errMu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Groups first (the owner's access token lives 15 minutes; this takes seconds).
	for i := range pop.Rooms {
		g, err := api.CreateGroup(ctx, owner.AccessToken, fmt.Sprintf("loadgen %s room %d", suffix, i), passcode)
		if err != nil {
			return Population{}, fmt.Errorf("scenario: create room %d: %w", i, err)
		}
		pop.Rooms[i] = Room{ID: g.ID, Members: make([]Member, size)}
	}
	for w := 0; w < max(concurrency, 1); w++ {
		wg.Go(func() {
			for j := range jobs {
				m, err := joinRetrying(ctx, api, pop.Rooms[j.room].ID, fmt.Sprintf("m%d-%d", j.room, j.member), passcode)
				if err != nil {
					fail(fmt.Errorf("scenario: member %d of room %d: %w", j.member, j.room, err))
					cancel()
					continue
				}
				pop.Rooms[j.room].Members[j.member] = Member{ID: m.Member.ID, Token: m.Token, At: time.Now()}
			}
		})
	}
feed:
	for m := 0; m < size; m++ {
		for r := 0; r < rooms; r++ {
			select {
			case jobs <- job{r, m}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return Population{}, firstErr
	}
	pop.Elapsed = time.Since(start)
	return pop, nil
}

// joinRetrying joins, retrying a few times on rate limiting or unavailability.
func joinRetrying(ctx context.Context, api *chatclient.API, group, name, passcode string) (chatclient.Membership, error) {
	for attempt := 0; ; attempt++ {
		m, err := api.Join(ctx, group, name, passcode, "")
		var ae *chatclient.APIError
		if err == nil || attempt == 4 || !errors.As(err, &ae) || (ae.Status != 429 && ae.Status != 503) {
			return m, err
		}
		select {
		case <-ctx.Done():
			return m, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
