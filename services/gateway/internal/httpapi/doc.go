// Package httpapi is the gateway's HTTP transport: chi routes for accounts, groups,
// membership and history, JSON encoding, authentication middleware and the mapping of
// apperr codes to HTTP statuses.
package httpapi
