package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/kafka"
	"github.com/quickchat-go/quickchat/pkg/logging"
	"github.com/quickchat-go/quickchat/pkg/ops"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/tlsclient"
	"github.com/quickchat-go/quickchat/services/persister/internal/consumer"
	"github.com/quickchat-go/quickchat/services/persister/internal/deadletter"
)

// kafkaStartTimeout bounds checking (or creating) the topics at start, the first contact
// with Kafka: a persister that cannot reach its brokers exits and says why instead of
// waiting.
const kafkaStartTimeout = time.Minute

// run is the composition root. When ready is not nil it receives the ops address.
// It validates cfg itself, so a test (or any other caller) that builds a Config by hand
// cannot start the service on values main would have refused.
func run(ctx context.Context, cfg Config, ready chan<- net.Addr) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log, err := logging.New("persister", cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	st, err := store.Open(ctx, store.Config{URL: cfg.DatabaseURL, MaxConns: cfg.DatabaseMaxConns})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := checkPostgres(ctx, st); err != nil {
		return err
	}

	// Cancelled on every way out, so the pipeline stops even when serving fails.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p, err := startPipeline(ctx, cfg, st, reg, log)
	if err != nil {
		return err
	}

	health := ops.NewHealth(reg, ops.Check{Name: "postgres", Func: st.Ping})
	opsSrv, err := ops.NewServer(cfg.OpsAddr, health, log)
	if err != nil {
		cancel()
		p.close()
		return err
	}
	if ready != nil {
		ready <- opsSrv.Addr()
	}
	err = opsSrv.Run(ctx, cfg.ShutdownGrace)
	cancel()
	p.close()
	return err
}

// postgresStartTimeout bounds the first connection to PostgreSQL at start.
const postgresStartTimeout = 30 * time.Second

// checkPostgres connects once at start: the pool connects lazily, and a wrong password, an
// untrusted certificate or a TLS mismatch must stop the start with the cause, not only
// show in /readyz.
func checkPostgres(ctx context.Context, st *store.Store) error {
	ctx, cancel := context.WithTimeout(ctx, postgresStartTimeout)
	defer cancel()
	err := st.Ping(ctx)
	if err == nil {
		return nil
	}
	const urlVar = "PERSISTER_DATABASE_URL"
	names := tlsclient.Names{
		Enable: "sslmode in " + urlVar, CAFile: "sslrootcert in " + urlVar,
		ServerName: "the host in " + urlVar, ClientCert: "sslcert and sslkey in " + urlVar,
	}
	if hint := tlsclient.Explain(err, names); hint != "" {
		return fmt.Errorf("PostgreSQL: %s: %w", hint, err)
	}
	return fmt.Errorf("PostgreSQL: %w", err)
}

// pipeline is the running consumer group and what it writes through.
type pipeline struct {
	group   sarama.ConsumerGroup
	dead    *deadletter.KafkaPublisher
	metrics *consumer.Metrics
	done    chan struct{}
}

// startPipeline ensures the topics exist and starts a consumer group that stores into sink
// until ctx ends. The benchmark starts it with other sinks.
func startPipeline(ctx context.Context, cfg Config, sink consumer.Sink, reg prometheus.Registerer, log *zap.Logger) (*pipeline, error) {
	// The first Kafka connection: wrong credentials or TLS settings stop the start here,
	// within kafkaStartTimeout however many brokers do not answer.
	topicCtx, cancelTopic := context.WithTimeout(ctx, kafkaStartTimeout)
	defer cancelTopic()
	if err := kafka.EnsureTopic(topicCtx, cfg.KafkaBrokers, cfg.Kafka, cfg.KafkaTopic, cfg.KafkaTopicPartitions); err != nil {
		return nil, err
	}
	if err := kafka.EnsureTopic(topicCtx, cfg.KafkaBrokers, cfg.Kafka, cfg.DeadLetterTopic, 1); err != nil {
		return nil, err
	}
	metrics, err := consumer.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	gcfg, err := consumerConfig(cfg)
	if err != nil {
		return nil, err
	}
	dead, err := deadletter.NewKafkaPublisher(cfg.KafkaBrokers, cfg.Kafka, cfg.DeadLetterTopic, "persister-dead-letter")
	if err != nil {
		return nil, err
	}
	group, err := sarama.NewConsumerGroup(cfg.KafkaBrokers, cfg.KafkaGroup, gcfg)
	if err != nil {
		_ = dead.Close()
		return nil, fmt.Errorf("persister: join consumer group %s: %w", cfg.KafkaGroup, kafka.Explain(err))
	}
	writer := consumer.NewWriter(sink, dead, consumer.WriterConfig{
		AttemptTimeout: cfg.WriteTimeout, BackoffMin: cfg.RetryBackoffMin, BackoffMax: cfg.RetryBackoffMax,
	}, metrics, log)
	handler := consumer.NewHandler(writer, consumer.HandlerConfig{BatchSize: cfg.BatchSize, Linger: cfg.BatchLinger}, metrics, log)

	p := &pipeline{group: group, dead: dead, metrics: metrics, done: make(chan struct{})}
	go func() {
		for err := range group.Errors() {
			log.Warn("consumer group error", zap.Error(err))
		}
	}()
	go func() {
		defer close(p.done)
		for ctx.Err() == nil {
			// Consume returns at every rebalance; loop until shutdown.
			err := group.Consume(ctx, []string{cfg.KafkaTopic}, handler)
			switch {
			case errors.Is(err, sarama.ErrClosedConsumerGroup):
				return
			case err != nil && ctx.Err() == nil:
				log.Warn("consume ended with error", zap.Error(err))
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}
	}()
	return p, nil
}

// close waits for the consumer loop, which ends with the context given to startPipeline,
// and releases the Kafka clients.
func (p *pipeline) close() {
	<-p.done
	_ = p.group.Close()
	_ = p.dead.Close()
}

// consumerConfig is the Sarama configuration of the persister's consumer group.
func consumerConfig(cfg Config) (*sarama.Config, error) {
	k, err := cfg.Kafka.NewConfig("persister")
	if err != nil {
		return nil, err
	}
	k.Consumer.Offsets.Initial = sarama.OffsetOldest
	// The handler commits offsets itself, only after their batch is stored.
	k.Consumer.Offsets.AutoCommit.Enable = false
	k.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRoundRobin()}
	k.Consumer.Return.Errors = true
	k.Consumer.Group.Session.Timeout = cfg.KafkaSessionTimeout
	k.Consumer.Group.Heartbeat.Interval = cfg.KafkaSessionTimeout / 3
	k.Consumer.Fetch.Default = cfg.KafkaFetchBytes
	// Room for the next batch while the current one is written.
	k.ChannelBufferSize = cfg.BatchSize
	// A batch write longer than this pauses fetching for the partition, which is what we
	// want; the default 100ms would pause it for every ordinary write.
	k.Consumer.MaxProcessingTime = time.Second
	return k, nil
}
