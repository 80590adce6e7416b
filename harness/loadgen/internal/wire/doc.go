// Package wire writes the realtime protocol frames the load generator sends and reads the
// ones it receives (docs/protocol.md). Message frames, which arrive by the hundred
// thousand per second, are scanned for the few fields the load generator needs instead
// of being decoded with reflection, so the client's cost does not cloud the server's.
package wire
