package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/roomredis"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
)

// retryDelay is how long a shard reader waits after a failed read.
const retryDelay = 250 * time.Millisecond

// Pin records the current end of every shard stream as where Run starts reading. Call it
// before accepting clients: everything published after Pin returns reaches Run, so a
// client that joins then is sure to get every message after its joined position.
func (b *RedisBroker) Pin(ctx context.Context) error {
	start := make([]string, b.cfg.Shards)
	for i := range start {
		id, err := b.tailID(ctx, b.layout.Stream(i))
		if err != nil {
			return fmt.Errorf("broker: read the end of shard stream %d: %w", i, err)
		}
		start[i] = id
	}
	b.start = start
	return nil
}

// Run reads every shard stream from where Pin found its end (or, without Pin, from its end
// when each reader starts) until ctx ends, and hands each entry to d, in stream order per
// shard. It returns when every reader has stopped.
func (b *RedisBroker) Run(ctx context.Context, d node.Dispatcher) error {
	done := make(chan struct{}, b.cfg.Shards)
	for i := 0; i < b.cfg.Shards; i++ {
		last := ""
		if b.start != nil {
			last = b.start[i]
		}
		go func(shard int) {
			defer func() { done <- struct{}{} }()
			b.readShard(ctx, shard, last, d)
		}(i)
	}
	for i := 0; i < b.cfg.Shards; i++ {
		<-done
	}
	return nil
}

// readShard reads one shard after last, the id of the last entry handed on ("" until
// pinned).
func (b *RedisBroker) readShard(ctx context.Context, shard int, last string, d node.Dispatcher) {
	key := b.layout.Stream(shard)
	recheck := false // after a failure: was the stream replaced meanwhile?
	for ctx.Err() == nil {
		if last == "" || recheck {
			tail, err := b.tailID(ctx, key)
			if err != nil {
				b.retry(ctx, key, "read stream tail", err)
				continue
			}
			switch {
			case last == "":
				// Start at the current end, pinned to a concrete id so a failed read
				// retried later skips nothing published in between.
				last = tail
			case idLess(tail, last):
				// The stream is older than what we read: Redis lost it (restart without
				// persistence, failover). Everything in it now is new to us.
				b.log.Warn("shard stream was replaced; reading it from the start", zap.String("stream", key))
				last = "0-0"
			}
			recheck = false
		}
		cmd := b.client.B().Xread().Count(b.cfg.ReadCount).Block(b.cfg.Block.Milliseconds()).
			Streams().Key(key).Id(last).Build()
		res, err := b.client.Do(ctx, cmd).AsXReadSlices()
		if rueidis.IsRedisNil(err) {
			continue // the block timed out without entries
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			b.retry(ctx, key, "XREAD", err)
			recheck = true
			continue
		}
		for _, e := range res[key] {
			last = e.ID
			if entry, ok := parseStreamEntry(e.FieldValues); ok {
				entry.Added = idTime(e.ID)
				d.Dispatch(entry)
			} else {
				b.log.Error("malformed stream entry skipped", zap.String("stream", key), zap.String("id", e.ID))
			}
		}
	}
}

func (b *RedisBroker) retry(ctx context.Context, key, what string, err error) {
	b.log.Warn(what+" failed; retrying", zap.String("stream", key), zap.Error(err))
	t := time.NewTimer(retryDelay)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func parseStreamEntry(fvs []rueidis.XRangeFieldValue) (node.Entry, bool) {
	var e node.Entry
	for _, fv := range fvs {
		switch fv.Field {
		case "k":
			if len(fv.Value) == 1 {
				e.Kind = node.Kind(fv.Value[0])
			}
		case "r":
			e.Room = fv.Value
		case "e":
			e.Pos.Epoch = fv.Value
		case "o":
			e.Pos.Offset, _ = strconv.ParseUint(fv.Value, 10, 64)
		case "d":
			e.Data = []byte(fv.Value)
		}
	}
	switch {
	case e.Room == "":
		return e, false
	case e.Kind == node.KindRevoke:
		return revocation(e)
	case e.Kind == node.KindMessage:
		return e, e.Pos.Epoch != "" && e.Pos.Offset > 0
	case e.Kind == node.KindPresenceJoin || e.Kind == node.KindPresenceLeave || e.Kind == node.KindTyping:
		return e, true
	}
	return e, false
}

// tailID returns the id of the newest entry of a stream, or "0-0" if it is empty.
func (b *RedisBroker) tailID(ctx context.Context, key string) (string, error) {
	res, err := b.client.Do(ctx, b.client.B().Xrevrange().Key(key).End("+").Start("-").Count(1).Build()).AsXRangeSlices()
	if err != nil {
		return "", err
	}
	if len(res) == 0 {
		return "0-0", nil
	}
	return res[0].ID, nil
}

// idLess compares two stream ids ("ms-seq").
func idLess(a, b string) bool {
	am, as := splitID(a)
	bm, bs := splitID(b)
	if am != bm {
		return am < bm
	}
	return as < bs
}

func splitID(id string) (ms, seq uint64) {
	msPart, seqPart, _ := cutByte(id, '-')
	ms, _ = strconv.ParseUint(msPart, 10, 64)
	seq, _ = strconv.ParseUint(seqPart, 10, 64)
	return ms, seq
}

func cutByte(s string, c byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// revocation reads the members and reason of a revocation entry, written by a
// roomredis.Revoker.
func revocation(e node.Entry) (node.Entry, bool) {
	var r roomredis.Revocation
	if err := json.Unmarshal(e.Data, &r); err != nil || r.Room != e.Room || len(r.Members) == 0 {
		return e, false
	}
	e.Members, e.Reason, e.Data = r.Members, r.Reason, nil
	return e, true
}

// idTime is the time in an auto-generated stream entry id ("<unix ms>-<seq>"), or zero.
func idTime(id string) time.Time {
	ms, _, _ := strings.Cut(id, "-")
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(n)
}
