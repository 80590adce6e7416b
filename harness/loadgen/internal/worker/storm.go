package worker

import (
	"context"
	"sync"
	"time"

	"github.com/quickchat-go/quickchat/harness/loadgen/internal/stats"
)

// storm drops every connection at once, as a network failure or a load balancer restart
// would, and reconnects them all immediately, each rejoining with the position of the
// last message it got. A connection counts as recovered when the server said it
// recovered everything and the replay has arrived.
func (w *Worker) storm(ctx context.Context, cmd StormCmd) *StormResult {
	conns := w.snapshotConns()
	start := time.Now()
	for _, c := range conns {
		c.drop()
	}
	deadline := max(cmd.Deadline, 5*time.Second)
	sctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()

	res := &StormResult{}
	lat := stats.NewLatency()
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		last time.Time
	)
	limit := cmd.Concurrency
	if limit <= 0 {
		limit = len(conns)
	}
	sem := make(chan struct{}, max(limit, 1))
	for _, c := range conns {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			recovered, err := reconnect(sctx, c)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				res.Failed++
				if len(res.Errors) < 5 {
					res.Errors = append(res.Errors, err.Error())
				}
			case !recovered:
				res.NotRecovered++
			default:
				res.Recovered++
				now := time.Now()
				lat.Record(c.idx, now.Sub(start))
				if now.After(last) {
					last = now
				}
			}
		})
	}
	wg.Wait()
	if !last.IsZero() {
		res.Elapsed = last.Sub(start)
	}
	res.RecoverLatency = lat.Snapshot(false)
	return res
}

// reconnect retries dialing and rejoining with backoff until it works or ctx ends, as a
// client whose first attempt meets a busy server does.
func reconnect(ctx context.Context, c *conn) (recovered bool, err error) {
	backoff := 50 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		recovered, err = c.dialJoin(actx, true)
		cancel()
		if err == nil || ctx.Err() != nil {
			return recovered, err
		}
		select {
		case <-ctx.Done():
			return false, err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}
