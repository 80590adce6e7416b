// Package store is Quick Chat's PostgreSQL store: a hand-written layer over the
// sqlc-generated queries (module db, package dbgen) that speaks in domain types and turns
// driver errors into apperr codes, so callers never import pgx.
package store
