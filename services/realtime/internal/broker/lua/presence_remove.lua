-- Removes a client from a room's presence and publishes its leave event, once.
-- KEYS: set, info, shard stream. ARGV: client id, room, stream max len.
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  return 0
end
local info = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if info then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'k', 'l', 'r', ARGV[2], 'd', info)
end
return 1
