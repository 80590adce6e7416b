package faults

import (
	"context"
	"sync"
	"time"
)

// storageMonitor samples PostgreSQL while traffic runs to find the longest time any
// acknowledged message waited before it was stored: how long storage was behind.
type storageMonitor struct {
	mu        sync.Mutex
	maxDelay  time.Duration
	firstSeen map[string]time.Time
	done      chan struct{}
}

// monitorStorage polls every interval until ctx ends or, once trafficOver is closed,
// everything acknowledged is stored.
func monitorStorage(ctx context.Context, dbURL string, rooms []string, l *ledger, trafficOver <-chan struct{}) *storageMonitor {
	s := &storageMonitor{firstSeen: map[string]time.Time{}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		const interval = 250 * time.Millisecond
		for {
			over := false
			select {
			case <-trafficOver:
				over = true
			default:
			}
			if complete := s.sample(ctx, dbURL, rooms, l); complete && over {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(interval):
			}
		}
	}()
	return s
}

// sample reads what is stored and reports whether every acknowledged message is.
func (s *storageMonitor) sample(ctx context.Context, dbURL string, rooms []string, l *ledger) bool {
	rows, err := storedRows(ctx, dbURL, rooms)
	if err != nil {
		return false // PostgreSQL may be restarting; waiting messages keep ageing
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	complete := true
	for _, m := range l.snapshot() {
		if !m.acked {
			continue
		}
		seen, ok := s.firstSeen[m.cid]
		if !ok && len(rows[m.cid]) > 0 {
			seen, ok = now, true
			s.firstSeen[m.cid] = now
		}
		if !ok {
			complete = false
			seen = now
		}
		s.maxDelay = max(s.maxDelay, seen.Sub(m.ackedAt))
	}
	return complete
}

// wait returns the longest delay seen once sampling has finished or ctx ends; a message
// still unstored then counts with its age so far.
func (s *storageMonitor) wait(ctx context.Context) time.Duration {
	select {
	case <-s.done:
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxDelay
}
