// Package app is the gateway's application layer: the use cases of accounts and
// sessions, groups, membership and moderation (members leave, owners remove and ban
// them) and history, with the rules they enforce (validation, display names, abuse
// limits, who may see or change a group, which token a member gets and for how long).
//
// A membership that ends is ended in the realtime service first (Revoker: every socket
// of the member leaves the room, on every instance) and only then deleted from the store;
// when realtime cannot be told, nothing changes.
//
// It knows nothing of HTTP. Transports (package httpapi) parse a request, call one method
// here and encode what it returns. What the use cases need from the outside is declared
// here in small interfaces (UserStore, GroupStore, MemberStore, Revoker, …); pkg/store,
// pkg/roomredis, package session, package password and the others implement them, and
// the gateway's composition root (run.go) wires them together.
package app
