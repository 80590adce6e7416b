// Package protocol is the realtime WebSocket protocol: the JSON text frames clients and
// server exchange, how client frames are decoded and validated, and the error and close
// codes. docs/protocol.md describes the same protocol for client authors; keep them in step.
package protocol
