// Package consumer is the persister's inbound side: a Sarama consumer-group handler that
// batches each partition's records in order, and a Writer that turns a batch of events
// (messages and deletions of messages) into stored rows. The Writer stores what can be stored, sends what never can be to a dead-letter
// sink, and retries everything else with backoff; the handler marks and commits a batch's
// offsets only after the Writer is done with it, so a committed offset never runs ahead of
// PostgreSQL.
//
// Storage and dead-lettering sit behind small interfaces (Sink, DeadLetterer) so the write
// path is tested without Kafka or PostgreSQL.
package consumer
