// Package redisconn is how Quick Chat's services connect to Redis: the one declaration of
// the connection settings besides the addresses (ACL user and password, TLS), and a
// constructor of the rueidis client that fails at once, naming the cause, when Redis
// refuses the connection.
//
// Realtime and the gateway nest Settings in their configuration under REDIS_
// (REALTIME_REDIS_PASSWORD, GATEWAY_REDIS_TLS, ...); each keeps its own address variable.
// One address or several: rueidis asks the first that answers whether it is a Redis
// Cluster node and, if so, finds every shard from it, so a list of cluster seeds and a
// single standalone server are configured the same way. Every key a Quick Chat script or
// multi-key command touches carries the hash tag of its room's shard (see
// pkg/roomredis), so the same code runs on a standalone server and on a cluster.
package redisconn
