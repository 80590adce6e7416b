package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/quickchat-go/quickchat/pkg/clientip"
	"github.com/quickchat-go/quickchat/pkg/kafka"
	"github.com/quickchat-go/quickchat/pkg/redisconn"
	"github.com/quickchat-go/quickchat/services/realtime/internal/protocol"
)

// Config is the realtime service's configuration, read from REALTIME_* variables. Every
// default is here; docs/protocol.md describes what clients see of them.
type Config struct {
	// Addr is the public listen address: WebSockets (/ws) only (default :8081).
	Addr string `envconfig:"ADDR" default:":8081"`
	// OpsAddr is the listen address of the ops endpoints (/healthz, /readyz, /metrics and,
	// with Pprof, /debug/pprof/), for probes and Prometheus only: no Ingress or proxy routes
	// it (default :8091). It must differ from Addr.
	OpsAddr string `envconfig:"OPS_ADDR" default:":8091"`
	// InstanceID names this instance in logs and Kafka client ids (default: host name).
	InstanceID string `envconfig:"INSTANCE_ID"`
	// JWKSURL is the gateway's JWKS endpoint; tokens are verified with these public keys only.
	JWKSURL string `envconfig:"JWKS_URL"`
	// JWKSCAFile is a PEM file of the certificate authorities trusted for an https
	// JWKSURL, instead of the system roots (default: none, the system roots). Set it when
	// the gateway's certificate comes from a private CA.
	JWKSCAFile string `envconfig:"JWKS_CA_FILE"`

	// RedisAddrs are the Redis (or Redis Cluster seed) addresses (default 127.0.0.1:6379).
	RedisAddrs []string `envconfig:"REDIS_ADDRS" default:"127.0.0.1:6379"`
	// RedisPrefix starts every Redis key (default "qc:"); it must not contain braces.
	RedisPrefix string `envconfig:"REDIS_PREFIX" default:"qc:"`
	// Redis is how Redis is reached besides its addresses: ACL user and password, TLS
	// (REALTIME_REDIS_USERNAME, REALTIME_REDIS_TLS, ...; see pkg/redisconn.Settings).
	Redis redisconn.Settings `envconfig:"REDIS"`
	// StreamShards is how many Redis streams rooms are spread over (default 16). Every
	// instance of a deployment must use the same value.
	StreamShards int `envconfig:"STREAM_SHARDS" default:"16"`
	// StreamMaxLen is the approximate entries kept per shard stream (default 10000): how far
	// a reader may lag before it must fill gaps from room history.
	StreamMaxLen int64 `envconfig:"STREAM_MAX_LEN" default:"10000"`
	// HistorySize is the approximate messages kept per room for recovery (default 1000).
	HistorySize int64 `envconfig:"HISTORY_SIZE" default:"1000"`
	// HistoryTTL drops a room's recovery history after this long without messages
	// (default 24h).
	HistoryTTL time.Duration `envconfig:"HISTORY_TTL" default:"24h"`
	// MetaTTL drops a room's epoch and offset after this long without messages or joins
	// (default 168h); it must exceed HistoryTTL.
	MetaTTL time.Duration `envconfig:"META_TTL" default:"168h"`
	// RecoverLimit caps how many missed messages one join replays (default 1000); a client
	// further behind is told to reload history.
	RecoverLimit int `envconfig:"RECOVER_LIMIT" default:"1000"`
	// RecoverMaxBytes caps the bytes of message frames one join replays (default 262144,
	// 256 KiB); a client further behind is told to reload history. It must leave room for
	// one frame of the largest message.
	RecoverMaxBytes int64 `envconfig:"RECOVER_MAX_BYTES" default:"262144"`
	// MemberReplayRate and MemberReplayBurst are each member's replay budget, shared by all
	// instances: bytes of replayed message frames per second (default 16384) and at once
	// (default 1048576, 1 MiB; at least RecoverMaxBytes). A join the budget cannot pay
	// replays nothing and is told to reload history. Rate 0: no budget.
	MemberReplayRate  float64 `envconfig:"MEMBER_REPLAY_RATE" default:"16384"`
	MemberReplayBurst int64   `envconfig:"MEMBER_REPLAY_BURST" default:"1048576"`
	// ConnReplayRate and ConnReplayBurst are each connection's replay budget across its
	// rooms: bytes per second (default 65536) and at once (default 2097152, 2 MiB; at
	// least RecoverMaxBytes). Rate 0: no budget.
	ConnReplayRate  float64 `envconfig:"CONN_REPLAY_RATE" default:"65536"`
	ConnReplayBurst int64   `envconfig:"CONN_REPLAY_BURST" default:"2097152"`
	// DedupTTL is how long client message ids are remembered for retries (default 24h).
	DedupTTL time.Duration `envconfig:"DEDUP_TTL" default:"24h"`

	// KafkaBrokers are the bootstrap brokers (default 127.0.0.1:9092).
	KafkaBrokers []string `envconfig:"KAFKA_BROKERS" default:"127.0.0.1:9092"`
	// KafkaTopic receives every accepted chat message (default chat-messages).
	KafkaTopic string `envconfig:"KAFKA_TOPIC" default:"chat-messages"`
	// KafkaTopicPartitions is used when the topic must be created (default 12).
	KafkaTopicPartitions int32 `envconfig:"KAFKA_TOPIC_PARTITIONS" default:"12"`
	// Kafka is how the brokers are reached (TLS, SASL) and how the topic is replicated
	// when this service creates it (REALTIME_KAFKA_TLS, REALTIME_KAFKA_SASL_MECHANISM,
	// REALTIME_KAFKA_TOPIC_REPLICATION, ...; see pkg/kafka.Settings).
	Kafka kafka.Settings `envconfig:"KAFKA"`
	// SendTimeout bounds making one message durable and published (default 10s).
	SendTimeout time.Duration `envconfig:"SEND_TIMEOUT" default:"10s"`

	// AllowedOrigins are browser Origin host patterns allowed to connect
	// (default localhost:*,127.0.0.1:*). Clients without an Origin header always may.
	AllowedOrigins []string `envconfig:"ALLOWED_ORIGINS" default:"localhost:*,127.0.0.1:*"`
	// MaxConnsPerIP bounds concurrent connections from one client address (default 256;
	// 0: none). IPv6 clients count per /64.
	MaxConnsPerIP int `envconfig:"MAX_CONNS_PER_IP" default:"256"`
	// TrustedProxies lists addresses or CIDR prefixes of reverse proxies (ingress, load
	// balancer) whose X-Forwarded-For is believed. Behind a proxy it must be set, or every
	// client counts as the proxy's address in MaxConnsPerIP.
	TrustedProxies []string `envconfig:"TRUSTED_PROXIES"`
	// MaxRoomsPerConn bounds the rooms one connection may join (default 64).
	MaxRoomsPerConn int `envconfig:"MAX_ROOMS_PER_CONN" default:"64"`
	// MaxBodyBytes bounds one message body (default 4096).
	MaxBodyBytes int `envconfig:"MAX_BODY_BYTES" default:"4096"`
	// FrameRate and FrameBurst rate-limit client frames per connection, valid or not
	// (default 20 per second, bursts of 50).
	FrameRate  float64 `envconfig:"FRAME_RATE" default:"20"`
	FrameBurst int     `envconfig:"FRAME_BURST" default:"50"`
	// FloodCloseAfter and FloodWindow close a connection that keeps sending after being
	// told rate_limited: more than FloodCloseAfter frames refused by the frame rate before
	// the retry_after_ms the connection was told, within FloodWindow, close it with 1008
	// (policy violation) (default 200 in 10s; 0: never). A client that waits as told is
	// never counted, however close to the frame rate it sends.
	FloodCloseAfter int           `envconfig:"FLOOD_CLOSE_AFTER" default:"200"`
	FloodWindow     time.Duration `envconfig:"FLOOD_WINDOW" default:"10s"`
	// MemberSendRate and MemberSendBurst limit each member's new messages across all its
	// connections and all instances (default 10 per second, bursts of 30; rate 0: no
	// limit). More are refused with rate_limited; resends of accepted messages are free.
	MemberSendRate  float64 `envconfig:"MEMBER_SEND_RATE" default:"10"`
	MemberSendBurst int     `envconfig:"MEMBER_SEND_BURST" default:"30"`
	// AddrSendRate and AddrSendBurst limit the messages from one client address on each
	// instance (default 100 per second, bursts of 200; rate 0: no limit). IPv6 clients
	// count per /64.
	AddrSendRate  float64 `envconfig:"ADDR_SEND_RATE" default:"100"`
	AddrSendBurst int     `envconfig:"ADDR_SEND_BURST" default:"200"`
	// AddrTypingRate and AddrTypingBurst limit the typing events from one client address
	// on each instance (default 100 per second, bursts of 200; rate 0: no limit); more
	// are dropped.
	AddrTypingRate  float64 `envconfig:"ADDR_TYPING_RATE" default:"100"`
	AddrTypingBurst int     `envconfig:"ADDR_TYPING_BURST" default:"200"`
	// SendQueue bounds the frames queued for one connection before it is closed as slow
	// (default 256).
	SendQueue int `envconfig:"SEND_QUEUE" default:"256"`
	// WriteTimeout bounds writing one frame to a client (default 10s).
	WriteTimeout time.Duration `envconfig:"WRITE_TIMEOUT" default:"10s"`
	// PingInterval is how often clients are pinged (default 25s); PongTimeout how long the
	// pong may take before the connection is closed as dead (default 10s).
	PingInterval time.Duration `envconfig:"PING_INTERVAL" default:"25s"`
	PongTimeout  time.Duration `envconfig:"PONG_TIMEOUT" default:"10s"`
	// OpTimeout bounds one Redis operation done for a client frame (default 5s).
	OpTimeout time.Duration `envconfig:"OP_TIMEOUT" default:"5s"`
	// HTTPRequestTimeout bounds a plain HTTP request on Addr: reading it, headers
	// included, and writing the answer (default 10s). WebSocket connections are not bound
	// by it once upgraded.
	HTTPRequestTimeout time.Duration `envconfig:"HTTP_REQUEST_TIMEOUT" default:"10s"`
	// HTTPIdleTimeout closes an idle keep-alive HTTP connection on Addr (one whose upgrade
	// was refused, or that never asked for one) after this long (default 30s). Such
	// connections are not counted in MaxConnsPerIP; this and HTTPRequestTimeout bound how
	// long they last.
	HTTPIdleTimeout time.Duration `envconfig:"HTTP_IDLE_TIMEOUT" default:"30s"`

	// PresenceTTL is how long a presence entry outlives its instance's last refresh
	// (default 30s): the longest a client of a dead instance still shows as present.
	PresenceTTL time.Duration `envconfig:"PRESENCE_TTL" default:"30s"`
	// PresenceEventsMaxRoom is the most local members a room may have for this instance
	// to send it presence_join and presence_leave events (default 200; 0: no limit).
	// Every join in a room of n members is n frames, so filling a room of thousands would
	// otherwise cost millions; members of larger rooms ask with a presence request.
	PresenceEventsMaxRoom int `envconfig:"PRESENCE_EVENTS_MAX_ROOM" default:"200"`
	// PresenceLimit caps the clients one presence reply lists (default 1000).
	PresenceLimit int `envconfig:"PRESENCE_LIMIT" default:"1000"`
	// TypingTTL is how long clients show a typing indicator (default 5s); TypingInterval
	// the least time between two typing events of one member in one room, across its
	// connections and all instances (default 1s).
	TypingTTL      time.Duration `envconfig:"TYPING_TTL" default:"5s"`
	TypingInterval time.Duration `envconfig:"TYPING_INTERVAL" default:"1s"`

	// Pprof serves Go's profiles at /debug/pprof/ on OpsAddr (default false), for
	// benchmarks and debugging; like the rest of OpsAddr, it must not be reachable from
	// outside.
	Pprof bool `envconfig:"PPROF" default:"false"`

	// ShutdownGrace bounds draining on SIGTERM (default 20s).
	ShutdownGrace time.Duration `envconfig:"SHUTDOWN_GRACE" default:"20s"`
	// LogLevel is debug, info, warn or error (default info).
	LogLevel string `envconfig:"LOG_LEVEL" default:"info"`
	// LogFormat is json or console (default json).
	LogFormat string `envconfig:"LOG_FORMAT" default:"json"`
}

func loadConfig() (Config, error) {
	var c Config
	if err := envconfig.Process("REALTIME", &c); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	return c, c.Validate()
}

// maxFrameBytes is the WebSocket read limit: room for a body at the limit even if every
// byte is JSON-escaped, plus the other fields and the most attachment references a send
// may carry.
func (c Config) maxFrameBytes() int64 {
	return int64(c.MaxBodyBytes)*6 + 8<<10 + protocol.MaxAttachments*protocol.MaxAttachmentRefBytes
}

// Validate checks values that envconfig cannot.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, msg string) {
		if !ok {
			errs = append(errs, errors.New(msg))
		}
	}
	check(c.JWKSURL != "", "REALTIME_JWKS_URL is required")
	// A CA file with a plain-HTTP URL would suggest a TLS that is not there.
	check(c.JWKSCAFile == "" || strings.HasPrefix(c.JWKSURL, "https://"), "REALTIME_JWKS_CA_FILE needs an https REALTIME_JWKS_URL")
	// ":0" (tests) picks a fresh port for each listener, so only fixed ports can clash.
	check(c.OpsAddr != "" && (c.OpsAddr != c.Addr || strings.HasSuffix(c.Addr, ":0")), "REALTIME_OPS_ADDR must be set and differ from REALTIME_ADDR")
	check(len(c.RedisAddrs) > 0 && len(c.KafkaBrokers) > 0, "REALTIME_REDIS_ADDRS and REALTIME_KAFKA_BROKERS must not be empty")
	check(!strings.ContainsAny(c.RedisPrefix, "{}"), "REALTIME_REDIS_PREFIX must not contain braces")
	check(c.StreamShards >= 1 && c.StreamShards <= 1024, "REALTIME_STREAM_SHARDS must be 1..1024")
	check(c.StreamMaxLen >= 100, "REALTIME_STREAM_MAX_LEN must be at least 100")
	check(c.HistorySize >= 1, "REALTIME_HISTORY_SIZE must be positive")
	check(c.HistoryTTL > 0 && c.MetaTTL > c.HistoryTTL, "REALTIME_HISTORY_TTL must be positive and REALTIME_META_TTL longer")
	check(c.RecoverLimit >= 1, "REALTIME_RECOVER_LIMIT must be positive")
	check(c.RecoverMaxBytes >= c.maxFrameBytes(), "REALTIME_RECOVER_MAX_BYTES must leave room for one frame of the largest message (6 × REALTIME_MAX_BODY_BYTES + 20480)")
	check(c.MemberReplayRate >= 0 && c.ConnReplayRate >= 0, "REALTIME_MEMBER_REPLAY_RATE and REALTIME_CONN_REPLAY_RATE must not be negative")
	check(c.MemberReplayRate == 0 || c.MemberReplayBurst >= c.RecoverMaxBytes, "REALTIME_MEMBER_REPLAY_BURST must be at least REALTIME_RECOVER_MAX_BYTES")
	check(c.ConnReplayRate == 0 || c.ConnReplayBurst >= c.RecoverMaxBytes, "REALTIME_CONN_REPLAY_BURST must be at least REALTIME_RECOVER_MAX_BYTES")
	check(c.KafkaTopic != "" && c.KafkaTopicPartitions >= 1, "REALTIME_KAFKA_TOPIC must be set and REALTIME_KAFKA_TOPIC_PARTITIONS positive")
	if err := c.Kafka.Validate("REALTIME_KAFKA"); err != nil {
		errs = append(errs, err)
	}
	if err := c.Redis.Validate("REALTIME_REDIS"); err != nil {
		errs = append(errs, err)
	}
	check(c.MaxConnsPerIP >= 0, "REALTIME_MAX_CONNS_PER_IP must not be negative")
	if _, err := clientip.ParsePrefixes(c.TrustedProxies); err != nil {
		errs = append(errs, fmt.Errorf("REALTIME_TRUSTED_PROXIES: %w", err))
	}
	check(c.MaxRoomsPerConn >= 1, "REALTIME_MAX_ROOMS_PER_CONN must be positive")
	check(c.MaxBodyBytes >= 1 && c.MaxBodyBytes <= 64<<10, "REALTIME_MAX_BODY_BYTES must be 1..65536")
	check(c.FrameRate > 0 && c.FrameBurst >= 1, "REALTIME_FRAME_RATE and REALTIME_FRAME_BURST must be positive")
	// Fewer than 10 early frames would close clients whose few sends in flight crossed a
	// refusal on the wire.
	check(c.FloodCloseAfter == 0 || c.FloodCloseAfter >= 10, "REALTIME_FLOOD_CLOSE_AFTER must be 0 (never close) or at least 10")
	check(c.FloodWindow > 0, "REALTIME_FLOOD_WINDOW must be positive")
	for _, l := range []struct {
		name  string
		rate  float64
		burst int
	}{{"MEMBER_SEND", c.MemberSendRate, c.MemberSendBurst}, {"ADDR_SEND", c.AddrSendRate, c.AddrSendBurst}, {"ADDR_TYPING", c.AddrTypingRate, c.AddrTypingBurst}} {
		check(l.rate >= 0 && (l.rate == 0 || l.burst >= 1), fmt.Sprintf("REALTIME_%s_RATE must not be negative and REALTIME_%[1]s_BURST must be positive", l.name))
	}
	check(c.SendQueue >= 2, "REALTIME_SEND_QUEUE must be at least 2")
	check(c.PresenceTTL >= 3*time.Second, "REALTIME_PRESENCE_TTL must be at least 3s")
	check(c.PresenceLimit >= 1 && c.PresenceLimit <= 5000, "REALTIME_PRESENCE_LIMIT must be 1..5000")
	check(c.PresenceEventsMaxRoom >= 0, "REALTIME_PRESENCE_EVENTS_MAX_ROOM must not be negative")
	check(c.WriteTimeout > 0 && c.SendTimeout > 0 && c.ShutdownGrace > 0 && c.DedupTTL > 0 &&
		c.PingInterval > 0 && c.PongTimeout > 0 && c.OpTimeout > 0 && c.TypingTTL > 0 && c.TypingInterval >= 0 &&
		c.HTTPRequestTimeout > 0 && c.HTTPIdleTimeout > 0,
		"REALTIME timeouts, intervals and TTLs must be positive")
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}
