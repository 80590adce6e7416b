// Package oidclogin signs people in through an external OpenID Connect provider with the
// authorization-code flow and PKCE (golang.org/x/oauth2 for the OAuth exchange,
// coreos/go-oidc for discovery and ID-token verification). It knows nothing about our
// accounts: it turns a callback's code into a verified Identity.
package oidclogin
