package protocol

import "github.com/coder/websocket"

// Error codes carried by error frames. They are part of the public protocol.
const (
	ErrBadFrame      = "bad_frame"      // not UTF-8 JSON, or fields missing or malformed
	ErrUnknownType   = "unknown_type"   // the type is not one this server knows
	ErrTooLarge      = "too_large"      // body over the size limit
	ErrUnauthorized  = "unauthorized"   // token missing, expired or forged
	ErrForbidden     = "forbidden"      // token valid but not for this room
	ErrNotJoined     = "not_joined"     // the socket has not joined the room the frame names
	ErrAlreadyJoined = "already_joined" // join for a room the socket is already in
	ErrTooManyRooms  = "too_many_rooms" // the socket is in as many rooms as it may be
	ErrRateLimited   = "rate_limited"   // too many frames; the frame was dropped
	ErrUnavailable   = "unavailable"    // a dependency failed or the server is draining; retry
	ErrInternal      = "internal"       // a bug; details are in the server log
)

// Close codes. 4000-4999 are application codes.
const (
	// CloseSlowConsumer: the client did not read fast enough and its send queue overflowed.
	CloseSlowConsumer websocket.StatusCode = 4008
	// CloseReconnect: the server is shutting down; reconnect (to any instance) and rejoin
	// with the last position.
	CloseReconnect websocket.StatusCode = 4012
	// CloseDeadPeer: the client did not answer a ping in time.
	CloseDeadPeer websocket.StatusCode = 4013
)
