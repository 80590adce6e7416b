package worker

import (
	"context"
	"maps"
	"time"
)

// tick is the pacer's resolution: each tick sends what is due by then, so a rate of
// 5,000/s goes out as 5 messages per millisecond rather than in bursts.
const tick = time.Millisecond

// runSend sends cmd.Rate messages per second (open loop: the schedule does not wait for
// acks) over the sender connections in turn, then waits for the outstanding acks.
func (w *Worker) runSend(ctx context.Context, cmd SendCmd) *SendResult {
	w.mu.Lock()
	senders := w.senders
	w.mu.Unlock()
	w.countMu.Lock()
	refusedBefore := maps.Clone(w.refused)
	w.countMu.Unlock()
	sent0, acked0, dup0, resent0 := w.sent.Load(), w.acked.Load(), w.ackDuplicates.Load(), w.resent.Load()
	w.ackLatency.Snapshot(true)

	res := &SendResult{}
	start := time.Now()
	if len(senders) > 0 && cmd.Rate > 0 {
		t := time.NewTicker(tick)
		next, done := 0, int64(0)
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case now := <-t.C:
				elapsed := min(now.Sub(start), cmd.Duration)
				due := int64(cmd.Rate*elapsed.Seconds()) - done
				for ; due > 0; due-- {
					done++
					// A sender that is down (during a storm) skips its turn. Handing the
					// turn to the next one up would pour the whole rate into the first
					// few connections to come back, past the server's per-connection
					// frame limit.
					c := senders[next%len(senders)]
					next++
					if !c.send(ctx, cmd.BodyBytes) {
						res.Skipped++
					}
				}
				if elapsed >= cmd.Duration {
					break loop
				}
			}
		}
		t.Stop()
	}
	res.Elapsed = time.Since(start)
	res.Unacked = w.waitAcks(ctx, cmd.AckTimeout)

	res.Sent = w.sent.Load() - sent0
	res.Acked = w.acked.Load() - acked0
	res.AckDuplicates = w.ackDuplicates.Load() - dup0
	res.Resent = w.resent.Load() - resent0
	res.AckLatency = w.ackLatency.Snapshot(false)
	w.countMu.Lock()
	for code, n := range w.refused {
		if d := n - refusedBefore[code]; d > 0 {
			if res.Refused == nil {
				res.Refused = map[string]int64{}
			}
			res.Refused[code] = d
		}
	}
	w.countMu.Unlock()
	return res
}

// waitAcks waits until no send is pending or timeout passes and returns how many are
// still pending.
func (w *Worker) waitAcks(ctx context.Context, timeout time.Duration) int64 {
	deadline := time.Now().Add(timeout)
	for {
		var pending int64
		for _, c := range w.snapshotConns() {
			c.mu.Lock()
			pending += int64(len(c.pending))
			c.mu.Unlock()
		}
		if pending == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return pending
		}
		time.Sleep(20 * time.Millisecond)
	}
}
