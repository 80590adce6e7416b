// Package chatclient is a Go client for Quick Chat: the gateway's JSON API (accounts,
// groups, joining, history) and the realtime WebSocket protocol (docs/protocol.md). The
// end-to-end tests, the fault-injection tests and the load generator all speak to the
// system through it, so they exercise exactly what third-party clients would.
package chatclient
