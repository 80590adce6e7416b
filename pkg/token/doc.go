// Package token issues and verifies Quick Chat's JSON Web Tokens.
//
// The gateway holds a Signer: asymmetric ES256 keys, each with a key id, the newest one
// signing and all of them published as a JWKS so tokens signed before a rotation stay valid
// until they expire. Other services hold a Verifier that knows only public keys, fetched from
// the gateway's JWKS endpoint (RemoteVerifier) or given directly (StaticVerifier).
//
// Two kinds of token exist: an access token proves an account (subject = user id), and a
// member token proves membership of exactly one group (subject = member id), which is what
// the realtime service requires before a socket may join a room. Each kind has its own
// audience ("aud": quickchat:access, quickchat:member) and every verifier is built with the
// kinds it accepts, so one kind never passes for the other; tokens without an audience are
// refused.
//
// Published lists the keys committed to this repository (by Fingerprint): public, so the
// gateway refuses to sign with them.
package token
