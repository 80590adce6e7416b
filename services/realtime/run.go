package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/redis/rueidis"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/kafka"
	"github.com/quickchat-go/quickchat/pkg/logging"
	"github.com/quickchat-go/quickchat/pkg/ops"
	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/services/realtime/internal/broker"
	"github.com/quickchat-go/quickchat/services/realtime/internal/hub"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
	"github.com/quickchat-go/quickchat/services/realtime/internal/producer"
	"github.com/quickchat-go/quickchat/services/realtime/internal/protocol"
	"github.com/quickchat-go/quickchat/services/realtime/internal/ws"
)

// run is the composition root. When ready is not nil it receives the bound address.
func run(ctx context.Context, cfg Config, ready chan<- net.Addr) error {
	if cfg.InstanceID == "" {
		cfg.InstanceID, _ = os.Hostname()
	}
	log, err := logging.New("realtime", cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	log = log.With(zap.String("instance", cfg.InstanceID))
	defer func() { _ = log.Sync() }()

	// Background work (JWKS refresh, stream readers) lives until the server has drained.
	bg, stopBg := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBg()

	verifier, err := token.NewRemoteVerifier(bg, token.RemoteVerifierConfig{URL: cfg.JWKSURL})
	if err != nil {
		return err
	}
	rdb, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: cfg.RedisAddrs, DisableCache: true})
	if err != nil {
		return err
	}
	defer rdb.Close()
	brk, err := broker.NewRedisBroker(rdb, broker.RedisBrokerConfig{
		Prefix: cfg.RedisPrefix, Shards: cfg.StreamShards, MaxLen: cfg.StreamMaxLen,
		Block: 5 * time.Second, ReadCount: 512,
	}, log)
	if err != nil {
		return err
	}
	if err := kafka.EnsureTopic(ctx, cfg.KafkaBrokers, cfg.KafkaTopic, cfg.KafkaTopicPartitions); err != nil {
		return err
	}
	prod, err := producer.NewKafkaProducer(cfg.KafkaBrokers, cfg.KafkaTopic, "realtime-"+cfg.InstanceID)
	if err != nil {
		return err
	}
	n := node.New(hub.New(), brk, prod, node.Config{DedupTTL: cfg.DedupTTL, SendTimeout: cfg.SendTimeout}, log)
	brokerDone := make(chan error, 1)
	go func() { brokerDone <- brk.Run(bg, n) }()

	wsh := ws.NewHandler(n, verifier, ws.Config{
		OriginPatterns: cfg.AllowedOrigins, MaxFrameBytes: int64(cfg.MaxBodyBytes) + 4096,
		SendQueue: cfg.SendQueue, WriteTimeout: cfg.WriteTimeout,
		Limits: protocol.Limits{MaxBodyBytes: cfg.MaxBodyBytes}, RecoverLimit: cfg.RecoverLimit,
	}, log)
	health := ops.NewHealth(nil,
		ops.Check{Name: "redis", Func: brk.Ping},
		ops.Check{Name: "jwks", Func: verifier.Ready},
	)
	r := chi.NewRouter()
	health.Register(r)
	r.Handle("/ws", wsh)

	ln, err := ops.Listen(cfg.Addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready <- ln.Addr()
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	serveCtx, stopServe := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServe()
	serveDone := make(chan error, 1)
	go func() { serveDone <- ops.Serve(serveCtx, srv, ln, cfg.ShutdownGrace, log) }()

	select {
	case err := <-serveDone:
		return err
	case <-ctx.Done():
	}
	// Drain: fail readiness, finish sends in flight, tell clients to reconnect elsewhere,
	// then flush the producer and stop.
	log.Info("draining")
	health.SetDraining()
	drainCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	wsh.Drain(drainCtx)
	stopServe()
	err = <-serveDone
	if cerr := prod.Close(); cerr != nil && err == nil {
		err = cerr
	}
	stopBg()
	<-brokerDone
	log.Info("stopped")
	return err
}
