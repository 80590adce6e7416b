// Package fastwire is the load generator's fast path through the realtime protocol
// (pkg/wire, docs/protocol.md): it appends the frames the load generator sends without
// reflection, and scans message frames, which arrive by the hundred thousand per second,
// for the few fields the load generator needs instead of decoding them, so the client's
// cost does not cloud the server's. Every other frame is decoded into wire.ServerFrame.
package fastwire
