// Package httpapi is the gateway's HTTP transport: chi routes for accounts, groups,
// membership and history, authentication middleware, JSON decoding and encoding with the
// bodies of pkg/gatewayapi, and the mapping of apperr codes to HTTP statuses. Each handler
// parses its input, calls one use case of package app and encodes the result.
package httpapi
