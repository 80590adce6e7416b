// Package resp is a minimal Redis (RESP2) client for devstack's own plumbing: readiness
// checks and cleaning up test key prefixes. It is not a general-purpose client; services
// and their tests use a real one.
package resp
