// Package protocol is the realtime service's side of the WebSocket protocol whose frames
// pkg/wire declares: how client frames are decoded and validated against the server's
// limits, and how server frames are encoded (once per frame, into the bytes every
// subscriber gets). docs/protocol.md describes the protocol for client authors.
package protocol
