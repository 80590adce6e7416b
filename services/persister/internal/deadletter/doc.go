// Package deadletter publishes the records the persister can never store to a Kafka
// dead-letter topic, keeping each record's key, value and headers and adding why it was
// rejected and where it came from, so an operator can inspect, fix and replay it.
package deadletter
