-- Adds a client to a room's presence until ttl from now and, if it was not there,
-- publishes its join event.
-- KEYS: set, info, shard stream. ARGV: client id, client, ttl ms, room, stream max len.
-- Runs after presence_now.lua, which sets now (Redis time, ms).
local ttl = tonumber(ARGV[3])
local added = redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl * 3)
redis.call('PEXPIRE', KEYS[2], ttl * 3)
if added == 1 then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'k', 'j', 'r', ARGV[4], 'd', ARGV[2])
end
return added
