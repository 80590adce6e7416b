-- Extends this instance's entries (re-adding any that a sweep
-- removed while we were slow, with a join event) and sweeps expired ones.
-- KEYS: set, info, shard stream. ARGV: ttl ms, room, stream max len, then pairs of
-- client id and client.
-- Runs after presence_now.lua, which sets now (Redis time, ms).
local ttl = tonumber(ARGV[1])
for i = 4, #ARGV, 2 do
  if redis.call('ZADD', KEYS[1], now + ttl, ARGV[i]) == 1 then
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'k', 'j', 'r', ARGV[2], 'd', ARGV[i + 1])
  end
end
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[1], id)
  local info = redis.call('HGET', KEYS[2], id)
  redis.call('HDEL', KEYS[2], id)
  if info then
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'k', 'l', 'r', ARGV[2], 'd', info)
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ttl * 3)
  redis.call('PEXPIRE', KEYS[2], ttl * 3)
end
return #expired
