package broker

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/redis/rueidis"
	"go.uber.org/zap"
)

// RedisBrokerConfig configures a RedisBroker.
type RedisBrokerConfig struct {
	// Prefix starts every key, so several deployments (or tests) can share one Redis.
	Prefix string
	// Shards is the number of streams rooms are spread over (hash of the room id).
	Shards int
	// MaxLen is the approximate number of entries each stream keeps for recovery.
	MaxLen int64
	// Block is how long one XREAD waits for new entries.
	Block time.Duration
	// ReadCount is the most entries one XREAD returns.
	ReadCount int64
}

// RedisBroker publishes to and reads from sharded Redis streams.
type RedisBroker struct {
	client rueidis.Client
	cfg    RedisBrokerConfig
	log    *zap.Logger
}

// NewRedisBroker returns a broker over client.
func NewRedisBroker(client rueidis.Client, cfg RedisBrokerConfig, log *zap.Logger) (*RedisBroker, error) {
	if cfg.Shards <= 0 || cfg.MaxLen <= 0 || cfg.Block <= 0 || cfg.ReadCount <= 0 {
		return nil, errors.New("broker: shards, max length, block and read count must be positive")
	}
	return &RedisBroker{client: client, cfg: cfg, log: log}, nil
}

const (
	fieldRoom = "r"
	fieldData = "d"
)

// streamKey names the stream of one shard. The braces make it its own hash slot in a
// Redis Cluster, so shards spread over the cluster's nodes.
func (b *RedisBroker) streamKey(shard int) string {
	return fmt.Sprintf("%s{stream.%d}", b.cfg.Prefix, shard)
}

func (b *RedisBroker) shardOf(room string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(room))
	return int(h.Sum32() % uint32(b.cfg.Shards))
}

// dedupKey holds the state of one client message id. It shares the hash slot of the
// room's stream so the publish script may touch both in a Redis Cluster.
func (b *RedisBroker) dedupKey(room, sender, clientMsgID string) string {
	return fmt.Sprintf("%s{stream.%d}:dedup:%s:%s:%s", b.cfg.Prefix, b.shardOf(room), room, sender, clientMsgID)
}

// Reservation is the outcome of Reserve.
type Reservation struct {
	// ID is the message id to use: the new one, or the one an earlier attempt chose.
	ID string
	// Pos is set when an earlier attempt already published the message: nothing more must
	// be done but acknowledge it again.
	Pos string
}

// Reserve records that id is being sent for (room, sender, clientMsgID) unless an earlier
// attempt did so first, in which case the earlier id (and position, if it was published)
// is returned so retries never create a second message.
func (b *RedisBroker) Reserve(ctx context.Context, room, sender, clientMsgID, id string, ttl time.Duration) (Reservation, error) {
	key := b.dedupKey(room, sender, clientMsgID)
	res, err := reserveScript.Exec(ctx, b.client, []string{key}, []string{id, strconv.FormatInt(ttl.Milliseconds(), 10)}).ToString()
	if err != nil {
		return Reservation{}, fmt.Errorf("broker: reserve client id: %w", err)
	}
	return parseState(res), nil
}

// Publish appends data to room's shard exactly once per reservation and returns its
// position. If the reservation was already published (a concurrent retry won), the
// existing position is returned with fresh = false and nothing is appended.
func (b *RedisBroker) Publish(ctx context.Context, room, sender, clientMsgID, id string, data []byte, ttl time.Duration) (pos string, fresh bool, err error) {
	keys := []string{b.streamKey(b.shardOf(room)), b.dedupKey(room, sender, clientMsgID)}
	args := []string{id, room, string(data), strconv.FormatInt(b.cfg.MaxLen, 10), strconv.FormatInt(ttl.Milliseconds(), 10)}
	res, err := publishScript.Exec(ctx, b.client, keys, args).AsStrSlice()
	if err != nil {
		return "", false, fmt.Errorf("broker: publish to room %s: %w", room, err)
	}
	if len(res) != 2 {
		return "", false, fmt.Errorf("broker: publish script returned %d values", len(res))
	}
	return res[1], res[0] == "1", nil
}

// State values: "p:<id>" while a send is in flight, "d:<id>:<pos>" once published.
func parseState(v string) Reservation {
	if len(v) > 2 && v[:2] == "d:" {
		rest := v[2:]
		for i := 0; i < len(rest); i++ {
			if rest[i] == ':' {
				return Reservation{ID: rest[:i], Pos: rest[i+1:]}
			}
		}
	}
	if len(v) > 2 && v[:2] == "p:" {
		return Reservation{ID: v[2:]}
	}
	return Reservation{ID: v}
}

var reserveScript = rueidis.NewLuaScript(`
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], 'p:' .. ARGV[1], 'PX', ARGV[2])
return 'p:' .. ARGV[1]
`)

var publishScript = rueidis.NewLuaScript(`
local v = redis.call('GET', KEYS[2])
if v and string.sub(v, 1, 2) == 'd:' then
  local rest = string.sub(v, 3)
  local sep = string.find(rest, ':', 1, true)
  return {'0', string.sub(rest, sep + 1)}
end
local pos = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'r', ARGV[2], 'd', ARGV[3])
redis.call('SET', KEYS[2], 'd:' .. ARGV[1] .. ':' .. pos, 'PX', ARGV[5])
return {'1', pos}
`)

// Run reads every shard from its current end until ctx ends, dispatching entries in order.
func (b *RedisBroker) Run(ctx context.Context, d Dispatcher) error {
	errc := make(chan error, b.cfg.Shards)
	for i := 0; i < b.cfg.Shards; i++ {
		go func(shard int) { errc <- b.readShard(ctx, shard, d) }(i)
	}
	var first error
	for i := 0; i < b.cfg.Shards; i++ {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (b *RedisBroker) readShard(ctx context.Context, shard int, d Dispatcher) error {
	key := b.streamKey(shard)
	last := "$"
	for ctx.Err() == nil {
		if last == "$" {
			// Pin the starting point to a concrete id so that nothing published between two
			// reads is skipped when a read fails and is retried.
			id, err := b.lastID(ctx, key)
			if err != nil {
				b.log.Warn("read stream tail failed; retrying", zap.String("stream", key), zap.Error(err))
				sleep(ctx, 500*time.Millisecond)
				continue
			}
			last = id
		}
		cmd := b.client.B().Xread().Count(b.cfg.ReadCount).Block(b.cfg.Block.Milliseconds()).
			Streams().Key(key).Id(last).Build()
		res, err := b.client.Do(ctx, cmd).AsXRead()
		if rueidis.IsRedisNil(err) {
			continue // block timed out without entries
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			b.log.Warn("XREAD failed; retrying", zap.String("stream", key), zap.Error(err))
			sleep(ctx, 500*time.Millisecond)
			continue
		}
		for _, e := range res[key] {
			last = e.ID
			d.Dispatch(e.FieldValues[fieldRoom], e.ID, []byte(e.FieldValues[fieldData]))
		}
	}
	return nil
}

// lastID returns the id of the newest entry of a stream, or "0-0" if it is empty.
func (b *RedisBroker) lastID(ctx context.Context, key string) (string, error) {
	res, err := b.client.Do(ctx, b.client.B().Xrevrange().Key(key).End("+").Start("-").Count(1).Build()).AsXRange()
	if err != nil {
		return "", fmt.Errorf("broker: XREVRANGE %s: %w", key, err)
	}
	if len(res) == 0 {
		return "0-0", nil
	}
	return res[0].ID, nil
}

// Since returns room's entries after pos, in order, up to limit. complete is false when
// the stream no longer reaches back to pos (it was trimmed), so some entries may be gone.
func (b *RedisBroker) Since(ctx context.Context, room, pos string, limit int) (entries []Entry, complete bool, err error) {
	key := b.streamKey(b.shardOf(room))
	first, err := b.client.Do(ctx, b.client.B().Xrange().Key(key).Start("-").End("+").Count(1).Build()).AsXRange()
	if err != nil {
		return nil, false, fmt.Errorf("broker: XRANGE %s: %w", key, err)
	}
	complete = len(first) == 0 || !idLess(pos, first[0].ID) || pos == first[0].ID
	start := "(" + pos
	for len(entries) < limit {
		page, err := b.client.Do(ctx, b.client.B().Xrange().Key(key).Start(start).End("+").Count(1000).Build()).AsXRange()
		if err != nil {
			return nil, false, fmt.Errorf("broker: XRANGE %s: %w", key, err)
		}
		for _, e := range page {
			if e.FieldValues[fieldRoom] == room {
				entries = append(entries, Entry{Pos: e.ID, Data: []byte(e.FieldValues[fieldData])})
			}
		}
		if len(page) < 1000 {
			return entries, complete, nil
		}
		start = "(" + page[len(page)-1].ID
	}
	return entries, false, nil
}

// Ping checks that Redis answers.
func (b *RedisBroker) Ping(ctx context.Context) error {
	return b.client.Do(ctx, b.client.B().Ping().Build()).Error()
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
	for i := 0; i < len(id); i++ {
		if id[i] == '-' {
			ms, _ = strconv.ParseUint(id[:i], 10, 64)
			seq, _ = strconv.ParseUint(id[i+1:], 10, 64)
			return ms, seq
		}
	}
	ms, _ = strconv.ParseUint(id, 10, 64)
	return ms, 0
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
