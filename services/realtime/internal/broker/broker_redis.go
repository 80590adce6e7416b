package broker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/roomredis"
	"github.com/quickchat-go/quickchat/pkg/wire"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
)

// RedisBrokerConfig configures a RedisBroker. Every instance of a deployment must use the
// same Prefix and Shards.
type RedisBrokerConfig struct {
	// Prefix starts every key, so several deployments (or tests) can share one Redis. It
	// must not contain '{'.
	Prefix string
	// Shards is the number of streams rooms are spread over.
	Shards int
	// StreamMaxLen is the approximate number of entries each shard stream keeps. Readers
	// only need the entries they have not read yet; recovery uses room history instead.
	StreamMaxLen int64
	// HistorySize is the approximate number of messages each room keeps for recovery.
	HistorySize int64
	// HistoryTTL drops a room's history after this long without a message.
	HistoryTTL time.Duration
	// MetaTTL drops a room's epoch and offset after this long without a message or join; it
	// must exceed HistoryTTL. Positions of a dropped epoch are no longer recoverable.
	MetaTTL time.Duration
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
	// layout names the keys, as every other reader of rooms' Redis state names them.
	layout roomredis.Layout

	// Precomputed integer arguments of the publish script.
	streamMaxLen, historySize, historyTTL, metaTTL string
	// start is where each shard's reader begins, set by Pin before Run.
	start []string
}

var (
	_ node.Broker        = (*RedisBroker)(nil)
	_ node.PresenceStore = (*RedisBroker)(nil)
)

// NewRedisBroker returns a broker over client.
func NewRedisBroker(client rueidis.Client, cfg RedisBrokerConfig, log *zap.Logger) (*RedisBroker, error) {
	switch {
	case cfg.Shards <= 0 || cfg.StreamMaxLen <= 0 || cfg.HistorySize <= 0 || cfg.ReadCount <= 0:
		return nil, errors.New("broker: shards, stream max length, history size and read count must be positive")
	case cfg.Block <= 0 || cfg.HistoryTTL <= 0 || cfg.MetaTTL <= cfg.HistoryTTL:
		return nil, errors.New("broker: block and history TTL must be positive and meta TTL must exceed history TTL")
	}
	layout := roomredis.Layout{Prefix: cfg.Prefix, Shards: cfg.Shards}
	if err := layout.Validate(); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	return &RedisBroker{
		client: client, cfg: cfg, log: log, layout: layout,
		streamMaxLen: strconv.FormatInt(cfg.StreamMaxLen, 10),
		historySize:  strconv.FormatInt(cfg.HistorySize, 10),
		historyTTL:   strconv.FormatInt(cfg.HistoryTTL.Milliseconds(), 10),
		metaTTL:      strconv.FormatInt(cfg.MetaTTL.Milliseconds(), 10),
	}, nil
}

func (b *RedisBroker) roomKey(room, what string) string { return b.layout.RoomKey(room, what) }

// The client message id comes last: it is free text, the others are UUIDs, so the key
// cannot be ambiguous.
func (b *RedisBroker) dedupKeys(k node.DedupKey) (dedup, lease string) {
	s := b.layout.Slot(b.layout.Shard(k.Room))
	rest := k.Room + ":" + k.Sender + ":" + k.ClientMsgID
	return s + ":dedup:" + rest, s + ":lease:" + rest
}

// quotaKey is where the room's quota q of its member lives: in the room's slot, so the
// script doing the work can charge it.
func (b *RedisBroker) quotaKey(room string, q node.Quota) string {
	return b.roomKey(room, "quota:"+q.Name+":"+q.Member)
}

// quotaArgs are a quota's script arguments: ms per unit (empty when q limits nothing)
// and burst.
func quotaArgs(q node.Quota) (perUnit, burst string) {
	if !q.Limited() {
		return "", "0"
	}
	return strconv.FormatFloat(1000/q.Rate, 'g', -1, 64), strconv.FormatFloat(q.Burst, 'g', -1, 64)
}

// Reserve claims a client message id for a send with message id id, holding a lease for
// the given time. If an earlier attempt chose an id, that id is returned so retries never
// create a second message. owner identifies the attempt for Release. A new id is charged
// to q in the same script, which first refuses a sender whose membership was revoked.
func (b *RedisBroker) Reserve(ctx context.Context, k node.DedupKey, id, owner string, ttl, lease time.Duration, q node.Quota) (node.Reservation, error) {
	dedup, leaseKey := b.dedupKeys(k)
	perUnit, burst := quotaArgs(q)
	v, err := reserveScript.Exec(ctx, b.client, []string{dedup, leaseKey, b.quotaKey(k.Room, q), b.layout.Revoked(k.Room, k.Sender)},
		[]string{id, ms(ttl), ms(lease), owner, perUnit, burst}).ToString()
	if err != nil {
		return node.Reservation{}, fmt.Errorf("broker: reserve client message id: %w", err)
	}
	return parseState(v)
}

// Release gives up the lease of a failed attempt so the client's retry can take over at
// once.
func (b *RedisBroker) Release(ctx context.Context, k node.DedupKey, owner string) error {
	_, leaseKey := b.dedupKeys(k)
	if err := releaseScript.Exec(ctx, b.client, []string{leaseKey}, []string{owner}).Error(); err != nil {
		return fmt.Errorf("broker: release lease: %w", err)
	}
	return nil
}

// Publish appends the message (id, encoded data) to its room, unless an earlier attempt
// already did: then nothing is appended, fresh is false and the earlier position is
// returned.
func (b *RedisBroker) Publish(ctx context.Context, k node.DedupKey, id string, data []byte, size int, ttl time.Duration) (pos wire.Position, fresh bool, err error) {
	dedup, leaseKey := b.dedupKeys(k)
	keys := []string{b.layout.RoomStream(k.Room), b.roomKey(k.Room, "hist"), b.roomKey(k.Room, "meta"), dedup, leaseKey}
	args := []string{id, k.Room, rueidis.BinaryString(data), b.streamMaxLen, b.historySize,
		b.historyTTL, b.metaTTL, ms(ttl), newEpoch(), strconv.Itoa(max(size, 0))}
	res, err := publishScript.Exec(ctx, b.client, keys, args).AsStrSlice()
	if err != nil {
		return wire.Position{}, false, fmt.Errorf("broker: publish to room %s: %w", k.Room, err)
	}
	if len(res) != 2 {
		return wire.Position{}, false, fmt.Errorf("broker: publish script returned %d values", len(res))
	}
	r, err := parseState(res[1])
	if err != nil {
		return wire.Position{}, false, err
	}
	if r.State != node.Done || r.ID != id {
		return wire.Position{}, false, fmt.Errorf("broker: publish found message %s in state %d, want %s done", r.ID, r.State, id)
	}
	return r.Pos, res[0] == "1", nil
}

func parseState(v string) (node.Reservation, error) {
	if len(v) < 3 || v[1] != ':' {
		return node.Reservation{}, fmt.Errorf("broker: malformed dedup state %q", v)
	}
	rest := v[2:]
	switch v[0] {
	case 'o':
		return node.Reservation{State: node.Owned, ID: rest}, nil
	case 'w':
		return node.Reservation{State: node.Pending, ID: rest}, nil
	case 'x':
		return node.Reservation{State: node.Revoked}, nil
	case 'r':
		wait, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			return node.Reservation{}, fmt.Errorf("broker: malformed quota wait in %q", v)
		}
		return node.Reservation{State: node.Limited, RetryAfter: time.Duration(wait) * time.Millisecond}, nil
	case 'd':
		// d:<id>:<epoch>:<offset>; ids and epochs contain no ':'.
		parts := strings.Split(rest, ":")
		if len(parts) != 3 {
			return node.Reservation{}, fmt.Errorf("broker: malformed dedup state %q", v)
		}
		off, err := strconv.ParseUint(parts[2], 10, 64)
		if err != nil {
			return node.Reservation{}, fmt.Errorf("broker: malformed offset in dedup state %q", v)
		}
		return node.Reservation{State: node.Done, ID: parts[0], Pos: wire.Position{Epoch: parts[1], Offset: off}}, nil
	}
	return node.Reservation{}, fmt.Errorf("broker: unknown dedup state %q", v)
}

// Recover returns the room's current position and, when since is not nil, the messages
// after it. Recovery is complete only if since is in the room's current epoch, within
// lim behind, still in history, and paid for by lim.Quota. A room without an epoch gets
// one, so every position handed to a client can be checked later. A join (lim.Member
// set) of a member whose membership was revoked reads nothing and returns Revoked.
func (b *RedisBroker) Recover(ctx context.Context, room string, since *wire.Position, lim node.RecoverLimits) (node.Recovery, error) {
	keys := []string{b.roomKey(room, "meta"), b.roomKey(room, "hist"), b.quotaKey(room, lim.Quota), b.layout.Revoked(room, lim.Member)}
	checkRevoked := ""
	if lim.Member != "" {
		checkRevoked = "1"
	}
	sinceEpoch, sinceOffset := "", "0"
	if since != nil {
		sinceEpoch, sinceOffset = since.Epoch, strconv.FormatUint(since.Offset, 10)
	}
	perUnit, burst := quotaArgs(lim.Quota)
	res, err := recoverScript.Exec(ctx, b.client, keys, []string{newEpoch(), b.metaTTL, sinceEpoch, sinceOffset,
		strconv.Itoa(lim.Messages), strconv.FormatInt(lim.Bytes, 10), perUnit, burst, checkRevoked}).ToArray()
	if err != nil {
		return node.Recovery{}, fmt.Errorf("broker: recover room %s: %w", room, err)
	}
	if len(res) != 5 {
		return node.Recovery{}, fmt.Errorf("broker: recover script returned %d values", len(res))
	}
	epoch, err1 := res[0].ToString()
	topStr, err2 := res[1].ToString()
	status, err3 := res[2].ToString()
	bytesStr, err4 := res[3].ToString()
	hist, err5 := res[4].AsXRangeSlices()
	top, err6 := strconv.ParseUint(topStr, 10, 64)
	size, err7 := strconv.ParseInt(bytesStr, 10, 64)
	if err := errors.Join(err1, err2, err3, err4, err5, err6, err7); err != nil {
		return node.Recovery{}, fmt.Errorf("broker: recover room %s: malformed reply: %w", room, err)
	}
	if status == "revoked" {
		return node.Recovery{Revoked: true}, nil
	}
	rec := node.Recovery{Top: wire.Position{Epoch: epoch, Offset: top}}
	if since == nil {
		return rec, nil
	}
	switch status {
	case "ok":
	case "none":
		return rec, nil
	case "big":
		rec.Bytes, rec.Refused = size, node.RefusedTooLarge
		return rec, nil
	case "spent":
		rec.Bytes, rec.Refused = size, node.RefusedQuota
		return rec, nil
	default:
		return node.Recovery{}, fmt.Errorf("broker: recover room %s: unknown status %q", room, status)
	}
	rec.Entries = make([]node.Entry, 0, len(hist))
	next := since.Offset + 1
	for _, h := range hist {
		off, ok := historyOffset(h.ID)
		if !ok || off != next {
			// Trimmed or damaged history: what is there may not be all there was.
			return node.Recovery{Top: rec.Top}, nil
		}
		rec.Entries = append(rec.Entries, node.Entry{Kind: node.KindMessage, Room: room, Pos: wire.Position{Epoch: epoch, Offset: off}, Data: field(h.FieldValues, "d")})
		next++
	}
	if next != top+1 {
		return node.Recovery{Top: rec.Top}, nil
	}
	rec.Complete, rec.Bytes = true, size
	return rec, nil
}

// historyOffset parses a history entry id "<offset>-0".
func historyOffset(id string) (uint64, bool) {
	off, ok := strings.CutSuffix(id, "-0")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(off, 10, 64)
	return n, err == nil
}

func field(fvs []rueidis.XRangeFieldValue, name string) []byte {
	for _, fv := range fvs {
		if fv.Field == name {
			return []byte(fv.Value)
		}
	}
	return nil
}

// PublishEvent appends an event without a position (typing) to the room's shard stream,
// if q pays one unit; with q limited, check and append are one script.
func (b *RedisBroker) PublishEvent(ctx context.Context, room string, kind node.Kind, data []byte, q node.Quota) (bool, error) {
	stream := b.layout.RoomStream(room)
	if !q.Limited() {
		cmd := b.client.B().Xadd().Key(stream).Maxlen().Almost().Threshold(b.streamMaxLen).
			Id("*").FieldValue().FieldValue("k", string(kind)).FieldValue("r", room).FieldValue("d", rueidis.BinaryString(data)).Build()
		if err := b.client.Do(ctx, cmd).Error(); err != nil {
			return false, fmt.Errorf("broker: publish event to room %s: %w", room, err)
		}
		return true, nil
	}
	perUnit, burst := quotaArgs(q)
	sent, err := eventScript.Exec(ctx, b.client, []string{stream, b.quotaKey(room, q)},
		[]string{string(kind), room, rueidis.BinaryString(data), b.streamMaxLen, perUnit, burst}).AsInt64()
	if err != nil {
		return false, fmt.Errorf("broker: publish event to room %s: %w", room, err)
	}
	return sent == 1, nil
}

// Ping checks that Redis answers.
func (b *RedisBroker) Ping(ctx context.Context) error {
	if err := b.client.Do(ctx, b.client.B().Ping().Build()).Error(); err != nil {
		return fmt.Errorf("broker: ping: %w", err)
	}
	return nil
}

// newEpoch returns a random epoch. It only matters when a room's meta is created, but it
// must differ from every earlier epoch of that room, so it is random rather than derived.
func newEpoch() string {
	return strconv.FormatUint(rand.Uint64(), 36)
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
