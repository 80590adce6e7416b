// Package metrics holds the realtime service's Prometheus collectors. One Metrics is made
// per process (per run in tests, each with its own registry) and handed to the packages
// that update it.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Recovery outcomes, the values of the outcome label of RecoveriesTotal.
const (
	RecoveryComplete   = "complete"
	RecoveryIncomplete = "incomplete"
	// RecoveryLimited: the replay was possible but a replay budget (the member's or the
	// connection's) could not pay for it.
	RecoveryLimited = "limited"
	RecoveryFailed  = "failed"
)

// Limits that refuse or drop client frames, the values of the limit label of RateLimited.
const (
	LimitFrame            = "frame"             // the connection's frame rate
	LimitMemberSend       = "member_send"       // the member's send quota
	LimitAddressSend      = "address_send"      // the client address's send rate
	LimitMemberTyping     = "member_typing"     // one typing event per member and interval
	LimitAddressTyping    = "address_typing"    // the client address's typing rate
	LimitMemberReplay     = "member_replay"     // the member's replay budget
	LimitConnectionReplay = "connection_replay" // the connection's replay budget
)

// Metrics are the realtime service's collectors.
type Metrics struct {
	// Connections is the number of open WebSocket connections.
	Connections prometheus.Gauge
	// FramesIn counts client frames by type ("invalid" for those that failed to decode,
	// "unread" for those refused and dropped without being decoded).
	FramesIn *prometheus.CounterVec
	// FramesOut counts frames queued to clients.
	FramesOut prometheus.Counter
	// ErrorsSent counts error frames by code.
	ErrorsSent *prometheus.CounterVec
	// Sends counts send and delete outcomes: accepted, duplicate, limited (over the
	// member's quota), revoked (the member's membership was revoked), forbidden (a delete
	// by a member who is not the owner), failed.
	Sends *prometheus.CounterVec
	// RateLimited counts frames refused or dropped, and replays refused, by the limit
	// that did it (the Limit constants).
	RateLimited *prometheus.CounterVec
	// Hops times each step of a send and of a delivery on this instance, by hop (the
	// Hop constants), so a slow path shows where its time goes.
	Hops *prometheus.HistogramVec
	// DeliverSeconds is the time from accepting a message (its id's timestamp) to handing
	// it to this instance's subscribers.
	DeliverSeconds prometheus.Histogram
	// SlowClientCloses counts connections closed because they did not read fast enough.
	SlowClientCloses prometheus.Counter
	// FloodCloses counts connections closed because they kept sending after being told
	// rate_limited.
	FloodCloses prometheus.Counter
	// Recoveries counts joins that asked to recover, by outcome.
	Recoveries *prometheus.CounterVec
	// Resets counts reset frames sent because continuity was lost.
	Resets prometheus.Counter
	// GapFills counts gaps in a room's stream that were filled from history.
	GapFills prometheus.Counter
	// Removals counts subscriptions ended because their member's membership was revoked,
	// by reason (the wire.Reason values).
	Removals *prometheus.CounterVec
}

// latencyBuckets cover 0.5 ms to 10 s.
var latencyBuckets = []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}

// Hops of a send (in the order a send takes them) and of a delivery.
const (
	// HopReserve is the reserve script: dedup, quota and revocation in Redis.
	HopReserve = "reserve"
	// HopProduce is from handing the event to the Kafka producer to its acknowledgement
	// (the producer's batching, the request and the replicas' acks=all).
	HopProduce = "produce"
	// HopPublish is the publish script: the room position and the shard stream entry.
	HopPublish = "publish"
	// HopStream is from the shard stream entry's creation (its id's Redis time, so
	// millisecond resolution) to this instance's reader getting it.
	HopStream = "stream"
	// HopDispatch is decoding a message entry and queueing its frame to every local
	// subscriber.
	HopDispatch = "dispatch"
	// HopWrite is from a frame entering a connection's empty send queue to the socket
	// write of the batch it went out with: the queue wait plus the write.
	HopWrite = "write"
)

// hopBuckets resolve the sub-millisecond steps and still cover a stalled one.
var hopBuckets = []float64{.00005, .0001, .00025, .0005, .001, .002, .003, .005, .0075, .01, .015, .025, .05, .1, .25, .5, 1, 2.5, 10}

// New creates the collectors and registers them, with rooms reporting the number of rooms
// that have local subscribers.
func New(reg prometheus.Registerer, rooms func() float64) *Metrics {
	m := &Metrics{
		Connections: prometheus.NewGauge(prometheus.GaugeOpts{Name: "realtime_connections", Help: "Open WebSocket connections."}),
		FramesIn:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realtime_frames_in_total", Help: "Client frames received, by type."}, []string{"type"}),
		FramesOut:   prometheus.NewCounter(prometheus.CounterOpts{Name: "realtime_frames_out_total", Help: "Frames queued to clients."}),
		ErrorsSent:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realtime_error_frames_total", Help: "Error frames sent, by code."}, []string{"code"}),
		Sends:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realtime_sends_total", Help: "Send and delete frames handled, by outcome."}, []string{"outcome"}),
		RateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realtime_rate_limited_total", Help: "Frames refused or dropped and replays refused by a rate limit, by limit."}, []string{"limit"}),
		Hops: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "realtime_hop_seconds", Help: "Time spent in each step of a send and of a delivery, by hop.", Buckets: hopBuckets,
		}, []string{"hop"}),
		DeliverSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "realtime_deliver_seconds", Help: "Time from accepting a message to handing it to local subscribers.", Buckets: latencyBuckets,
		}),
		SlowClientCloses: prometheus.NewCounter(prometheus.CounterOpts{Name: "realtime_slow_client_closes_total", Help: "Connections closed because the client did not read fast enough."}),
		FloodCloses:      prometheus.NewCounter(prometheus.CounterOpts{Name: "realtime_flood_closes_total", Help: "Connections closed because they kept sending after being told rate_limited."}),
		Recoveries:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realtime_recoveries_total", Help: "Joins that asked to recover, by outcome."}, []string{"outcome"}),
		Resets:           prometheus.NewCounter(prometheus.CounterOpts{Name: "realtime_resets_total", Help: "Reset frames sent because a client's continuity was lost."}),
		GapFills:         prometheus.NewCounter(prometheus.CounterOpts{Name: "realtime_gap_fills_total", Help: "Gaps in a room's stream filled from history."}),
		Removals:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realtime_removals_total", Help: "Subscriptions ended because the member's membership was revoked, by reason."}, []string{"reason"}),
	}
	reg.MustRegister(m.Connections, m.FramesIn, m.FramesOut, m.ErrorsSent, m.Sends, m.RateLimited, m.Hops,
		m.DeliverSeconds, m.SlowClientCloses, m.FloodCloses, m.Recoveries, m.Resets, m.GapFills, m.Removals,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "realtime_rooms", Help: "Rooms with subscribers on this instance."}, rooms))
	return m
}

// Discard returns collectors registered nowhere, for tests.
func Discard() *Metrics {
	return New(prometheus.NewRegistry(), func() float64 { return 0 })
}
