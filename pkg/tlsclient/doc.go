// Package tlsclient builds the TLS configuration a service uses towards a backend
// (Kafka, Redis) from PEM files named in its settings: the certificate authorities to
// trust, an optional client certificate, and the name to verify. It also tells what a
// failed handshake means in words an operator can act on, so start-up errors name the
// setting to fix rather than only the library's complaint.
package tlsclient
