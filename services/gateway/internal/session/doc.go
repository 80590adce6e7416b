// Package session issues and renews account sessions: a short-lived access JWT plus an
// opaque refresh token that rotates on every use. Refresh tokens are stored only as
// SHA-256 hashes; all tokens rotated from one sign-in form a family, and presenting a token
// that was already rotated (a sign that it was stolen) revokes the whole family. Every
// family ends at an absolute time fixed at sign-in, however often it rotates.
package session
