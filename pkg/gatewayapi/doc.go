// Package gatewayapi declares the JSON bodies of the gateway's REST API, shared by the
// gateway (which encodes responses and decodes requests with them) and Go clients (which
// do the opposite), so the two cannot drift apart. docs/api.md describes each route.
//
// Identifiers are strings, as they travel in JSON. Every instant is a Time, which encodes
// as RFC 3339 in UTC with millisecond precision ("2026-11-27T16:12:03.123Z"), the format
// the realtime service's frames use too.
package gatewayapi
