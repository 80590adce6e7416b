// Package web serves the Quick Chat browser client: HTML, CSS and JavaScript modules
// embedded in the gateway binary (no build step, no Node.js), the small configuration
// document the client reads at start, and the security headers (a strict Content Security
// Policy) under which it runs. The pages talk to the gateway's /api routes and to the
// realtime service's WebSocket; nothing here touches the database.
package web
