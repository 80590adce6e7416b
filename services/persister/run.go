package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/IBM/sarama"
	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/kafka"
	"github.com/quickchat-go/quickchat/pkg/logging"
	"github.com/quickchat-go/quickchat/pkg/ops"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/services/persister/internal/consumer"
)

// run is the composition root. When ready is not nil it receives the ops address.
func run(ctx context.Context, cfg Config, ready chan<- net.Addr) error {
	log, err := logging.New("persister", cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()

	st, err := store.Open(ctx, store.Config{URL: cfg.DatabaseURL, MaxConns: cfg.DatabaseMaxConns})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := kafka.EnsureTopic(ctx, cfg.KafkaBrokers, cfg.KafkaTopic, cfg.KafkaTopicPartitions); err != nil {
		return err
	}
	kcfg := kafka.NewConfig("persister")
	kcfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	// Offsets are committed by the handler only after the batch is in PostgreSQL.
	kcfg.Consumer.Offsets.AutoCommit.Enable = false
	kcfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRoundRobin()}
	kcfg.Consumer.Return.Errors = true
	group, err := sarama.NewConsumerGroup(cfg.KafkaBrokers, cfg.KafkaGroup, kcfg)
	if err != nil {
		return err
	}
	defer group.Close()
	go func() {
		for err := range group.Errors() {
			log.Warn("consumer group error", zap.Error(err))
		}
	}()

	handler := consumer.NewHandler(st, consumer.Config{BatchSize: cfg.BatchSize, Linger: cfg.BatchLinger}, log)
	consumeDone := make(chan error, 1)
	go func() {
		for {
			// Consume returns at every rebalance; loop until shutdown.
			if err := group.Consume(ctx, []string{cfg.KafkaTopic}, handler); err != nil && !errors.Is(err, sarama.ErrClosedConsumerGroup) {
				log.Warn("consume ended with error", zap.Error(err))
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
			if ctx.Err() != nil {
				consumeDone <- nil
				return
			}
		}
	}()

	health := ops.NewHealth(nil, ops.Check{Name: "postgres", Func: st.Ping})
	r := chi.NewRouter()
	health.Register(r)
	ln, err := ops.Listen(cfg.Addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready <- ln.Addr()
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	err = ops.Serve(ctx, srv, ln, cfg.ShutdownGrace, log)
	<-consumeDone
	return err
}
