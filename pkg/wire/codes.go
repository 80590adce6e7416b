package wire

// Error codes, the code of error frames.
const (
	CodeBadFrame      = "bad_frame"      // not UTF-8 JSON, or fields missing or malformed
	CodeUnknownType   = "unknown_type"   // the type is not one this server knows
	CodeTooLarge      = "too_large"      // body over the size limit
	CodeUnauthorized  = "unauthorized"   // token missing, expired or forged
	CodeForbidden     = "forbidden"      // token valid but not for this room
	CodeNotJoined     = "not_joined"     // the socket has not joined the room the frame names
	CodeAlreadyJoined = "already_joined" // join for a room the socket is already in
	CodeTooManyRooms  = "too_many_rooms" // the socket is in as many rooms as it may be
	CodeRevoked       = "revoked"        // the member's membership ended (removed, banned, left, passcode changed); join again via the gateway
	CodeRateLimited   = "rate_limited"   // over a rate limit (frames, or a member's or address's sends); the frame was dropped
	CodeUnavailable   = "unavailable"    // a dependency failed or the server is draining; retry
	CodeInternal      = "internal"       // a bug; details are in the server log
)

// WebSocket close codes of the protocol (4000-4999 are application codes). They are
// untyped so they fit whichever WebSocket library's status type.
const (
	// CloseRemoved: the member's membership of the socket's last room ended; a removed
	// frame said why. Do not reconnect with the same member token.
	CloseRemoved = 4003
	// CloseSlowConsumer: the client did not read fast enough and its send queue overflowed
	// or a write stalled.
	CloseSlowConsumer = 4008
	// CloseReconnect: the server is shutting down; reconnect (to any instance) and rejoin
	// with the last position.
	CloseReconnect = 4012
	// CloseDeadPeer: the client did not answer a ping in time.
	CloseDeadPeer = 4013
)
