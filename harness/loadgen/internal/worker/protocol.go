package worker

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// ConnSpec is one connection a worker opens: which room it joins with which member
// token, on which realtime instance, from which local address.
type ConnSpec struct {
	Room  string `json:"room"`
	Token string `json:"token"`
	URL   string `json:"url"`
	// LocalIP is the source address (e.g. 127.0.0.7); empty lets the kernel choose.
	LocalIP string `json:"local_ip,omitempty"`
	// Sender marks connections that take turns sending the worker's share of the rate.
	Sender bool `json:"sender,omitempty"`
}

// Command is one request from the driver. Op selects which of the other fields is set.
type Command struct {
	ID      int         `json:"id"`
	Op      string      `json:"op"`
	Connect *ConnectCmd `json:"connect,omitempty"`
	Send    *SendCmd    `json:"send,omitempty"`
	Stats   *StatsCmd   `json:"stats,omitempty"`
	Verify  *VerifyCmd  `json:"verify,omitempty"`
	Storm   *StormCmd   `json:"storm,omitempty"`
}

// Operations a worker understands.
const (
	OpConnect = "connect" // open and join ConnectCmd.Conns
	OpSend    = "send"    // send at a rate for a while, then wait for the acks
	OpStats   = "stats"   // report (and optionally restart) the measurement window
	OpVerify  = "verify"  // count lost, duplicated and out-of-order messages
	OpStorm   = "storm"   // drop every connection and reconnect at once with recovery
	OpClose   = "close"   // close every connection; the worker exits after replying
)

// ConnectCmd opens connections and joins each to its room.
type ConnectCmd struct {
	Conns []ConnSpec `json:"conns"`
	// Concurrency bounds dials in flight.
	Concurrency int `json:"concurrency"`
	// Timeout bounds one dial and join.
	Timeout time.Duration `json:"timeout"`
}

// SendCmd sends Rate messages per second, spread over the sender connections, for
// Duration, then waits up to AckTimeout for every ack.
type SendCmd struct {
	Rate       float64       `json:"rate"`
	Duration   time.Duration `json:"duration"`
	BodyBytes  int           `json:"body_bytes"`
	AckTimeout time.Duration `json:"ack_timeout"`
}

// StatsCmd asks for the counters of the current window; Reset starts a new one.
type StatsCmd struct {
	Reset bool `json:"reset"`
}

// VerifyCmd gives the last published offset of every room (from all workers' acks).
type VerifyCmd struct {
	Finals map[string]uint64 `json:"finals"`
}

// StormCmd drops every connection and reconnects them at once, each rejoining with the
// position of the last message it got. Concurrency bounds dials in flight (0: no bound);
// Deadline bounds the whole storm.
type StormCmd struct {
	Concurrency int           `json:"concurrency"`
	Deadline    time.Duration `json:"deadline"`
}

// Reply answers the Command with the same ID. Error is set when the command failed as a
// whole; otherwise the result matching the Op is set.
type Reply struct {
	ID      int            `json:"id"`
	Error   string         `json:"error,omitempty"`
	Connect *ConnectResult `json:"connect,omitempty"`
	Send    *SendResult    `json:"send,omitempty"`
	Stats   *StatsResult   `json:"stats,omitempty"`
	Verify  *VerifyResult  `json:"verify,omitempty"`
	Storm   *StormResult   `json:"storm,omitempty"`
}

// ConnectResult says how many connections joined and how long joining took.
type ConnectResult struct {
	Joined  int           `json:"joined"`
	Failed  int           `json:"failed"`
	Errors  []string      `json:"errors,omitempty"` // the first few
	Elapsed time.Duration `json:"elapsed"`
	// JoinLatency is dial + join per connection.
	JoinLatency *hdrhistogram.Snapshot `json:"join_latency"`
}

// SendResult counts what the worker sent and what the server answered.
type SendResult struct {
	Sent int64 `json:"sent"`
	// Acked counts acks; AckDuplicates those marked duplicate (resends after a reconnect).
	Acked         int64 `json:"acked"`
	AckDuplicates int64 `json:"ack_duplicates"`
	// Refused counts error replies to sends, by code; Unacked sends that got no reply in
	// time; Skipped sends whose turn fell on a connection that was not joined.
	Refused map[string]int64 `json:"refused,omitempty"`
	Unacked int64            `json:"unacked"`
	Skipped int64            `json:"skipped"`
	// Resent counts messages sent again (same client_msg_id) after a reconnect.
	Resent int64 `json:"resent"`
	// AckLatency is send → ack.
	AckLatency *hdrhistogram.Snapshot `json:"ack_latency"`
	Elapsed    time.Duration          `json:"elapsed"`
}

// StatsResult is the current window: message frames received and their send→deliver
// latency, plus connection health and the highest acked offset per room.
type StatsResult struct {
	Deliveries int64                  `json:"deliveries"`
	Latency    *hdrhistogram.Snapshot `json:"latency"`
	Open       int                    `json:"open"`
	// Closes counts connections the server ended, by close code.
	Closes map[int]int64 `json:"closes,omitempty"`
	// Acked is the highest acked offset per room.
	Acked map[string]uint64 `json:"acked"`
}

// VerifyResult adds up every receiver's account of its room.
type VerifyResult struct {
	Receivers  int    `json:"receivers"`
	Down       int    `json:"down"`
	Expected   uint64 `json:"expected"`
	Received   uint64 `json:"received"`
	Lost       uint64 `json:"lost"`
	Duplicates uint64 `json:"duplicates"`
	OutOfOrder uint64 `json:"out_of_order"`
	Resets     uint64 `json:"resets"`
}

// StormResult says how the reconnect went: how many rejoined with complete recovery and
// how long until the last of them had its replay.
type StormResult struct {
	Recovered    int           `json:"recovered"`
	NotRecovered int           `json:"not_recovered"`
	Failed       int           `json:"failed"`
	Errors       []string      `json:"errors,omitempty"`
	Elapsed      time.Duration `json:"elapsed"`
	// RecoverLatency is storm start → replay complete, per connection.
	RecoverLatency *hdrhistogram.Snapshot `json:"recover_latency"`
}
