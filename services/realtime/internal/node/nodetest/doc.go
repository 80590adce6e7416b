// Package nodetest helps test the realtime core and what plugs into it: an in-memory
// Broker for node's unit tests, and TestBroker, the conformance suite that every Broker
// (the in-memory one and the Redis broker) must pass, so the fake keeps the semantics of
// the real thing. Only tests import it.
package nodetest
