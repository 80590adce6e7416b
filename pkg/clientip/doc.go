// Package clientip finds the address of the client behind an HTTP request. The
// X-Forwarded-For header is believed only as far as it was written by proxies the operator
// trusts; anything a client adds on its own is ignored, so abuse limits keyed by address
// cannot be dodged by sending a made-up header.
package clientip
