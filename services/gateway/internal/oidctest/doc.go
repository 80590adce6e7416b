// Package oidctest is a small OpenID Connect provider for tests: discovery, a JWKS, an
// authorization endpoint that signs in a preset user without a login page, and a token
// endpoint that checks the client secret, the redirect URI and the PKCE verifier before it
// issues an ES256-signed ID token. It runs on an httptest server on the loopback address.
package oidctest
