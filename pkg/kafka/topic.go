package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/IBM/sarama"
)

// autoReplicationMax is the replication factor TopicReplication 0 asks for on a cluster
// of that many brokers or more: with min.insync.replicas 2, one broker may fail (or
// restart in a rolling upgrade) and acknowledged records still survive a second failure.
const autoReplicationMax = 3

// EnsureTopic makes sure topic exists before a service uses it. Unless s.TopicManaged, a
// missing topic is created with partitions and the replication of s (see
// Settings.TopicReplication and TopicMinInsync); an existing one is left as it is. With
// s.TopicManaged the topic is only looked up, and a missing one is an error that says so.
// ctx bounds the whole call, however many brokers do not answer.
func EnsureTopic(ctx context.Context, brokers []string, s Settings, topic string, partitions int32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cfg, err := s.NewConfig("quickchat-admin")
	if err != nil {
		return err
	}
	// Sarama retries a refused login like an unreachable broker; at start a few rounds
	// over every broker are enough to ride out a broker restart, and a wrong password
	// is reported in seconds.
	cfg.Metadata.Retry.Max = 3
	cfg.Metadata.Retry.Backoff = 500 * time.Millisecond
	// Sarama's admin API takes no context: run it aside so ctx bounds the wait. On
	// timeout it finishes (and closes its connections) on its own, within Sarama's
	// dial and metadata retry limits.
	done := make(chan error, 1)
	go func() { done <- ensureTopic(brokers, cfg, s, topic, partitions) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("kafka: topic %s: no usable answer from brokers %v: %w", topic, brokers, ctx.Err())
	}
}

func ensureTopic(brokers []string, cfg *sarama.Config, s Settings, topic string, partitions int32) error {
	admin, err := sarama.NewClusterAdmin(brokers, cfg)
	if err != nil {
		return fmt.Errorf("kafka: connect to brokers %v: %w", brokers, connectError(brokers, cfg, err))
	}
	defer admin.Close()
	if s.TopicManaged {
		return checkTopic(admin, topic)
	}
	detail, err := topicDetail(admin, s, partitions)
	if err != nil {
		return err
	}
	err = admin.CreateTopic(topic, detail, false)
	var terr *sarama.TopicError
	switch {
	case err == nil, errors.Is(err, sarama.ErrTopicAlreadyExists),
		errors.As(err, &terr) && terr.Err == sarama.ErrTopicAlreadyExists:
		return nil
	case errors.Is(err, sarama.ErrTopicAuthorizationFailed), errors.Is(err, sarama.ErrClusterAuthorizationFailed),
		errors.As(err, &terr) && (terr.Err == sarama.ErrTopicAuthorizationFailed || terr.Err == sarama.ErrClusterAuthorizationFailed):
		// Creating needs the CREATE permission even when the topic exists already.
		if checkTopic(admin, topic) == nil {
			return nil
		}
		return fmt.Errorf("kafka: create topic %s: not authorized; grant this user CREATE on the topic, or create it outside Quick Chat and set KAFKA_TOPIC_MANAGED=true: %w", topic, err)
	}
	return fmt.Errorf("kafka: create topic %s (%d partitions, replication %d): %w", topic, detail.NumPartitions, detail.ReplicationFactor, Explain(err))
}

// topicDetail is what a new topic gets: the explicit settings, or a replication factor of
// the cluster's size capped at 3 and min.insync.replicas one less (at least 1), which is
// safe on three brokers and still works on the one-broker dev stack. The cluster's size
// is the brokers alive now: a cluster missing a broker when the topic is first made gets
// fewer replicas, which is why production sets both values explicitly.
func topicDetail(admin sarama.ClusterAdmin, s Settings, partitions int32) (*sarama.TopicDetail, error) {
	rf := s.TopicReplication
	if rf == 0 {
		nodes, _, err := admin.DescribeCluster()
		switch {
		case errors.Is(err, sarama.ErrClusterAuthorizationFailed):
			// A user that may not describe the cluster leaves it to the brokers.
			rf = -1
		case err != nil:
			return nil, fmt.Errorf("kafka: count the brokers: %w", Explain(err))
		default:
			rf = int16(max(1, min(autoReplicationMax, len(nodes))))
		}
	}
	d := &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: rf}
	minInsync := s.TopicMinInsync
	if minInsync == 0 && rf > 0 {
		minInsync = max(1, int(rf)-1)
	}
	if minInsync > 0 {
		v := strconv.Itoa(minInsync)
		d.ConfigEntries = map[string]*string{"min.insync.replicas": &v}
	}
	return d, nil
}

// checkTopic reports whether topic exists, in words that say what to do when it does not.
func checkTopic(admin sarama.ClusterAdmin, topic string) error {
	md, err := admin.DescribeTopics([]string{topic})
	if err != nil {
		return fmt.Errorf("kafka: look up topic %s: %w", topic, Explain(err))
	}
	if len(md) != 1 {
		return fmt.Errorf("kafka: look up topic %s: the brokers described %d topics", topic, len(md))
	}
	switch md[0].Err {
	case sarama.ErrNoError:
		return nil
	case sarama.ErrUnknownTopicOrPartition:
		return fmt.Errorf("kafka: topic %s does not exist, and with KAFKA_TOPIC_MANAGED=true Quick Chat never creates it: create it (docs/operations.md lists partitions and replication) or turn the setting off", topic)
	case sarama.ErrTopicAuthorizationFailed:
		return fmt.Errorf("kafka: look up topic %s: not authorized; grant this user DESCRIBE (and READ or WRITE) on the topic: %w", topic, md[0].Err)
	}
	return fmt.Errorf("kafka: look up topic %s: %w", topic, md[0].Err)
}
