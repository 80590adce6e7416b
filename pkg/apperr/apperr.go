// Package apperr is Quick Chat's one error type: an error with a machine-readable code that
// every layer can wrap and every transport (HTTP, WebSocket) can translate to its own status
// without knowing which driver or library produced it.
package apperr

import (
	"errors"
	"fmt"
)

// Code classifies an error for clients. The string values are part of the public API.
type Code string

// The codes clients may see.
const (
	Invalid      Code = "invalid"      // the request is malformed or fails validation
	Unauthorized Code = "unauthorized" // no credentials, or they are expired or forged
	Forbidden    Code = "forbidden"    // authenticated but not allowed
	NotFound     Code = "not_found"    // the resource does not exist (or is hidden)
	Conflict     Code = "conflict"     // the resource already exists or changed
	RateLimited  Code = "rate_limited" // too many attempts; retry later
	TooLarge     Code = "too_large"    // the body or frame exceeds its size limit
	Unavailable  Code = "unavailable"  // a dependency is down; retry later
	Internal     Code = "internal"     // a bug or unexpected failure; details are logged only
)

// Error is an error with a Code and a message that is safe to show to clients.
type Error struct {
	Code    Code
	Message string
	// Err is the underlying cause; it is logged but never shown to clients.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an Error with a client-safe message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Error with a client-safe message and a hidden cause.
func Wrap(err error, code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// CodeOf returns the code of the first *Error in err's chain, or Internal if there is none
// (and "" for a nil error).
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// MessageOf returns the client-safe message of err: the message of the first *Error in its
// chain, or a generic text for anything else so internals never leak.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != Internal {
		return e.Message
	}
	return "internal error"
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool { return CodeOf(err) == code }
