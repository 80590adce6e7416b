-- Appends a message to its room exactly once per client message id.
-- KEYS: shard stream, room history, room meta, dedup, lease.
-- ARGV: id, room, data, shard max len, history max len, history ttl ms, meta ttl ms,
-- dedup ttl ms, epoch to use if the room has none, size (what replaying it costs).
-- Returns {'1', state} when it appended, {'0', state} when an earlier attempt had.
-- The meta's b is the total size of the epoch's messages and each history entry's c the
-- total before it, so recover.lua knows a gap's size without reading the gap.
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
local total = redis.call('HINCRBY', KEYS[3], 'b', ARGV[10])
redis.call('PEXPIRE', KEYS[3], ARGV[7])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], off .. '-0', 'd', ARGV[3], 'c', total - tonumber(ARGV[10]))
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'k', 'm', 'r', ARGV[2], 'e', epoch, 'o', off, 'd', ARGV[3])
local state = 'd:' .. ARGV[1] .. ':' .. epoch .. ':' .. off
redis.call('SET', KEYS[4], state, 'PX', ARGV[8])
redis.call('DEL', KEYS[5])
return {'1', state}
