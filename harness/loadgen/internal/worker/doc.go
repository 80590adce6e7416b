// Package worker is one load generator process: it holds a share of the WebSocket
// connections (at most a few thousand, well under the per-process open-file limit), sends
// its share of the message rate, and accounts every frame it receives. A driver process
// (package fleet) starts several workers and talks to each over its standard input and
// output, one JSON command or reply per line (see Command and Reply).
package worker
