// Package wire is the JSON frames of the realtime WebSocket protocol, shared by the
// realtime service and every Go client (the harness's chat client, load generator and
// tests). docs/protocol.md describes the same frames for client authors; keep them in step.
//
// Every shape of the protocol is declared once here: the client frame, each server frame,
// the position and presence client they carry, the frame types, error codes and close
// codes. The message object and its timestamp are those of the gateway's REST API
// (gatewayapi.Message, gatewayapi.Time), named here as Message and Time, so history and
// live messages are one type. What the server accepts (size limits, validation) is the
// server's policy and lives in the realtime service.
package wire
