// Package ws is the WebSocket transport of the realtime service: it accepts connections
// (Origin allow-list, frame size limit), authenticates room joins with member tokens, turns
// client frames into node calls, and writes server frames from one writer goroutine per
// connection through a bounded queue, closing clients that stop reading.
package ws
