// Package roomredis is the part of a room's Redis state that services other than realtime
// use: where a room's keys live, the revocation of memberships, and who is online.
//
// Realtime keeps every room's state in one Redis Cluster hash slot, that of the room's
// shard ("{stream.N}", N a hash of the room id), next to the shard stream every realtime
// instance reads. Layout computes those key names for realtime's broker and for the
// gateway alike, so both always agree; the gateway must be configured with realtime's
// prefix and shard count.
//
// A Revoker marks members of a room as revoked and tells every realtime instance at once,
// in one script: a mark per member in the room's slot, which realtime checks when a
// member joins and when it sends, and one entry of kind 'r' (a Revocation) in the room's
// shard stream, on which every instance removes the members' sockets from the room.
// Presence reads realtime's presence entries to tell which members are online.
package roomredis
