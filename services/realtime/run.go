package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/clientip"
	"github.com/quickchat-go/quickchat/pkg/kafka"
	"github.com/quickchat-go/quickchat/pkg/logging"
	"github.com/quickchat-go/quickchat/pkg/ops"
	"github.com/quickchat-go/quickchat/pkg/redisconn"
	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/services/realtime/internal/broker"
	"github.com/quickchat-go/quickchat/services/realtime/internal/hub"
	"github.com/quickchat-go/quickchat/services/realtime/internal/metrics"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
	"github.com/quickchat-go/quickchat/services/realtime/internal/producer"
	"github.com/quickchat-go/quickchat/services/realtime/internal/protocol"
	"github.com/quickchat-go/quickchat/services/realtime/internal/ws"
)

// kafkaStartTimeout bounds checking (or creating) the topic at start, the first contact
// with Kafka: a service that cannot reach its brokers exits and says why instead of
// waiting.
const kafkaStartTimeout = time.Minute

// run is the composition root. When ready is not nil it receives the bound public and ops
// addresses. When ctx ends the instance drains: readiness fails, new connections are
// refused, sends in flight finish, clients are told to reconnect elsewhere, the producer is
// flushed.
func run(ctx context.Context, cfg Config, ready chan<- ops.Addrs) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	trusted, err := clientip.ParsePrefixes(cfg.TrustedProxies)
	if err != nil {
		return err
	}
	if cfg.InstanceID == "" {
		cfg.InstanceID, _ = os.Hostname()
	}
	log, err := logging.New("realtime", cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	log = log.With(zap.String("instance", cfg.InstanceID))
	defer func() { _ = log.Sync() }()

	// Background work (JWKS refresh, stream readers, presence, keepalives) lives until the
	// connections have drained.
	bg, stopBg := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBg()

	// Realtime accepts member tokens only: an access token proves an account, not
	// membership of the room being joined.
	verifier, err := token.NewRemoteVerifier(bg, token.RemoteVerifierConfig{
		URL: cfg.JWKSURL, CAFile: cfg.JWKSCAFile, Accept: []token.Kind{token.KindMember},
	})
	if err != nil {
		return err
	}
	// Connecting authenticates, so wrong credentials or TLS settings stop the start here.
	rdb, err := redisconn.NewClient(cfg.RedisAddrs, cfg.Redis)
	if err != nil {
		return err
	}
	defer rdb.Close()
	brk, err := broker.NewRedisBroker(rdb, broker.RedisBrokerConfig{
		Prefix: cfg.RedisPrefix, Shards: cfg.StreamShards, StreamMaxLen: cfg.StreamMaxLen,
		HistorySize: cfg.HistorySize, HistoryTTL: cfg.HistoryTTL, MetaTTL: cfg.MetaTTL,
		Block: 5 * time.Second, ReadCount: 512,
	}, log)
	if err != nil {
		return err
	}
	// The first Kafka connection: wrong credentials or TLS settings stop the start here,
	// within kafkaStartTimeout however many brokers do not answer.
	topicCtx, cancelTopic := context.WithTimeout(ctx, kafkaStartTimeout)
	err = kafka.EnsureTopic(topicCtx, cfg.KafkaBrokers, cfg.Kafka, cfg.KafkaTopic, cfg.KafkaTopicPartitions)
	cancelTopic()
	if err != nil {
		return err
	}
	prod, err := producer.NewKafkaProducer(cfg.KafkaBrokers, cfg.Kafka, cfg.KafkaTopic, "realtime-"+cfg.InstanceID)
	if err != nil {
		return err
	}
	prodClosed := false
	defer func() {
		if !prodClosed {
			_ = prod.Close()
		}
	}()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h := hub.New()
	m := metrics.New(reg, func() float64 { rooms, _ := h.Stats(); return float64(rooms) })
	n := node.New(h, brk, brk, prod, node.Config{
		DedupTTL: cfg.DedupTTL, SendTimeout: cfg.SendTimeout, RecoverLimit: cfg.RecoverLimit,
		RecoverMaxBytes: cfg.RecoverMaxBytes, ReplayRate: cfg.MemberReplayRate, ReplayBurst: float64(cfg.MemberReplayBurst),
		SendRate: cfg.MemberSendRate, SendBurst: float64(cfg.MemberSendBurst), TypingInterval: cfg.TypingInterval,
		PresenceTTL: cfg.PresenceTTL, PresenceLimit: cfg.PresenceLimit, TypingTTL: cfg.TypingTTL,
		PresenceEventsMaxRoom: cfg.PresenceEventsMaxRoom,
	}, m, log)
	// Attachment references come from the same gateway keys, through a verifier of their
	// own kind, so neither kind of token passes for the other.
	wsh := ws.NewHandler(n, verifier, verifier.For(token.KindAttachment), ws.Config{
		OriginPatterns: cfg.AllowedOrigins, MaxFrameBytes: cfg.maxFrameBytes(),
		SendQueue: cfg.SendQueue, WriteTimeout: cfg.WriteTimeout,
		PingInterval: cfg.PingInterval, PongTimeout: cfg.PongTimeout,
		MaxConnsPerIP: cfg.MaxConnsPerIP, ClientIP: clientip.New(trusted), MaxRoomsPerConn: cfg.MaxRoomsPerConn,
		FrameRate: cfg.FrameRate, FrameBurst: cfg.FrameBurst, TypingInterval: cfg.TypingInterval,
		FloodCloseAfter: cfg.FloodCloseAfter, FloodWindow: cfg.FloodWindow,
		ReplayRate: cfg.ConnReplayRate, ReplayBurst: float64(cfg.ConnReplayBurst),
		AddrSendRate: cfg.AddrSendRate, AddrSendBurst: float64(cfg.AddrSendBurst),
		AddrTypingRate: cfg.AddrTypingRate, AddrTypingBurst: float64(cfg.AddrTypingBurst),
		OpTimeout: cfg.OpTimeout, Limits: protocol.Limits{MaxBodyBytes: cfg.MaxBodyBytes},
	}, m, log)

	// Pin the stream ends before serving so no message after a client's join is missed.
	if err := brk.Pin(ctx); err != nil {
		return err
	}
	bgDone := make(chan struct{}, 3)
	for _, f := range []func(context.Context){
		func(ctx context.Context) { _ = brk.Run(ctx, n) },
		n.RunPresence,
		wsh.Run,
	} {
		go func() { f(bg); bgDone <- struct{}{} }()
	}

	health := ops.NewHealth(reg,
		ops.Check{Name: "redis", Func: brk.Ping},
		ops.Check{Name: "jwks", Func: verifier.Ready},
	)
	// The public listener serves WebSockets only; probes, metrics and profiles are on the
	// ops address, which no Ingress or proxy routes.
	r := chi.NewRouter()
	r.Handle("/ws", wsh)
	var profiles []func(chi.Router)
	if cfg.Pprof {
		profiles = append(profiles, func(r chi.Router) { r.Mount("/debug", middleware.Profiler()) })
	}
	opsSrv, err := ops.NewServer(cfg.OpsAddr, health, log, profiles...)
	if err != nil {
		return err
	}
	ln, err := ops.Listen(cfg.Addr)
	if err != nil {
		return errors.Join(err, opsSrv.Stop(cfg.ShutdownGrace))
	}
	if ready != nil {
		ready <- ops.Addrs{Public: ln.Addr(), Ops: opsSrv.Addr()}
	}
	// The ops listener outlives the public one, so probes see "draining" until the end.
	opsSrv.Start()
	// Every plain HTTP connection on the public address ends by itself: reading a request
	// and writing its answer within HTTPRequestTimeout, idle keep-alive after
	// HTTPIdleTimeout. Upgrading to a WebSocket clears these deadlines (net/http does on
	// hijack); keepalive pings and the write-stall sweep take over.
	srv := &http.Server{
		Handler: r, ReadHeaderTimeout: cfg.HTTPRequestTimeout, ReadTimeout: cfg.HTTPRequestTimeout,
		WriteTimeout: cfg.HTTPRequestTimeout, IdleTimeout: cfg.HTTPIdleTimeout,
	}
	serveCtx, stopServe := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServe()
	serveDone := make(chan error, 1)
	go func() { serveDone <- ops.Serve(serveCtx, srv, ln, cfg.ShutdownGrace, log) }()

	select {
	case err = <-serveDone:
		stopBg()
		return errors.Join(err, opsSrv.Stop(cfg.ShutdownGrace))
	case <-ctx.Done():
	}
	log.Info("draining", zap.Int("connections", wsh.Connections()))
	health.SetDraining()
	drainCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	wsh.Drain(drainCtx)
	stopServe()
	err = <-serveDone
	prodClosed = true
	if cerr := prod.Close(); cerr != nil && err == nil {
		err = cerr
	}
	stopBg()
	for i := 0; i < cap(bgDone); i++ {
		<-bgDone
	}
	if oerr := opsSrv.Stop(cfg.ShutdownGrace); oerr != nil && err == nil {
		err = oerr
	}
	log.Info("stopped")
	return err
}
