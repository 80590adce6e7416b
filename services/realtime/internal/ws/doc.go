// Package ws is the WebSocket transport of the realtime service. It accepts connections
// (Origin allow-list, per-IP limit, frame size limit), authenticates room joins with member
// tokens, rate-limits and decodes client frames and turns them into node calls, and writes
// server frames through a bounded queue from one writer goroutine per connection. A client
// that stops reading is closed rather than allowed to hold up anyone else; on shutdown every
// client is told to reconnect elsewhere.
//
// The limits it keeps itself are per connection (every frame received, valid or not, and
// the bytes of replayed messages) and per client address on this instance (sends and
// typing events); those per member across instances are the node's, kept in Redis.
// A connection that keeps sending before the retry-after it was told is answered only now
// and then, and closed with 1008 if it goes on (flood.go). Rate-limit hits, flood closes
// and refused tokens are logged as security events, sampled.
//
// Per connection there are exactly two goroutines: the HTTP handler's, which reads, and
// the writer. Keepalive pings and write-stall checks are driven by one sweeper per Handler.
package ws
