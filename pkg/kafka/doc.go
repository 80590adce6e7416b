// Package kafka holds the Sarama settings Quick Chat's services share: the protocol
// version the brokers speak, durable producer defaults, how to reach the brokers (TLS,
// SASL) and how the chat topics are created or checked.
//
// Settings is the one declaration of a service's Kafka connection: realtime and the
// persister nest it in their configuration under KAFKA_ (REALTIME_KAFKA_TLS,
// PERSISTER_KAFKA_SASL_MECHANISM, ...), and every Sarama client they make (producers,
// the consumer group, the topic admin) gets it through Settings.Configure. The
// brokers' addresses and the topic names stay with each service's own settings.
package kafka
