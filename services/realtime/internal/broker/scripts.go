package broker

import "github.com/redis/rueidis"

// Dedup key values: "p:<id>" while a send is in flight, "d:<id>:<epoch>:<offset>" once
// published. Scripts return them (with "o:" for "the caller owns the send now" and "w:"
// for "another instance is sending it; wait").
//
// Every script is safe to run twice with the same arguments, so the client may retry one
// whose connection broke before the reply came (rueidis' retryable scripts).

// reserveScript claims a client message id.
// KEYS: dedup, lease. ARGV: id, dedup ttl ms, lease ms, owner.
var reserveScript = rueidis.NewLuaScriptRetryable(`
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], 'p:' .. ARGV[1], 'PX', ARGV[2])
  redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3])
  return 'o:' .. ARGV[1]
end
if string.sub(v, 1, 2) == 'd:' then
  return v
end
if redis.call('GET', KEYS[2]) == ARGV[4] or redis.call('SET', KEYS[2], ARGV[4], 'NX', 'PX', ARGV[3]) then
  return 'o:' .. string.sub(v, 3)
end
return 'w:' .. string.sub(v, 3)
`)

// releaseScript gives up a lease so a retry need not wait for it to run out.
// KEYS: lease. ARGV: owner.
var releaseScript = rueidis.NewLuaScriptRetryable(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// publishScript appends a message to its room exactly once per client message id.
// KEYS: shard stream, room history, room meta, dedup, lease.
// ARGV: id, room, data, shard max len, history max len, history ttl ms, meta ttl ms,
// dedup ttl ms, epoch to use if the room has none.
// Returns {'1', state} when it appended, {'0', state} when an earlier attempt had.
var publishScript = rueidis.NewLuaScriptRetryable(`
local v = redis.call('GET', KEYS[4])
if v and string.sub(v, 1, 2) == 'd:' then
  return {'0', v}
end
local epoch = redis.call('HGET', KEYS[3], 'e')
if not epoch then
  epoch = ARGV[9]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[3], 'e', epoch, 's', 0)
end
local off = redis.call('HINCRBY', KEYS[3], 's', 1)
redis.call('PEXPIRE', KEYS[3], ARGV[7])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], off .. '-0', 'd', ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'k', 'm', 'r', ARGV[2], 'e', epoch, 'o', off, 'd', ARGV[3])
local state = 'd:' .. ARGV[1] .. ':' .. epoch .. ':' .. off
redis.call('SET', KEYS[4], state, 'PX', ARGV[8])
redis.call('DEL', KEYS[5])
return {'1', state}
`)

// recoverScript returns a room's position and, when the client's position is in the same
// epoch and within limit, the history after it up to that position, read atomically.
// KEYS: room meta, room history.
// ARGV: epoch to use if the room has none, meta ttl ms, since epoch (empty for none),
// since offset, limit.
// Returns {epoch, top offset, entries}.
var recoverScript = rueidis.NewLuaScriptRetryable(`
local e = redis.call('HGET', KEYS[1], 'e')
local raw = '0'
if not e then
  e = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', e, 's', 0)
else
  raw = redis.call('HGET', KEYS[1], 's') or '0'
end
local s = tonumber(raw)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local since = tonumber(ARGV[4])
if ARGV[3] ~= e or since >= s or s - since > tonumber(ARGV[5]) then
  return {e, raw, {}}
end
return {e, raw, redis.call('XRANGE', KEYS[2], (since + 1) .. '-0', s .. '-0')}
`)
