// Package app is the gateway's application layer: the use cases of accounts and
// sessions, groups, membership and history, with the rules they enforce (validation,
// abuse limits, who may see or change a group, which token a member gets).
//
// It knows nothing of HTTP. Transports (package httpapi) parse a request, call one method
// here and encode what it returns. What the use cases need from the outside is declared
// here in small interfaces (UserStore, GroupStore, MemberStore, …); pkg/store, package
// session, package password and the others implement them, and the gateway's composition
// root (run.go) wires them together.
package app
