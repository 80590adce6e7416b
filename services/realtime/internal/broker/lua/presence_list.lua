-- Lists the clients of a room whose entries have not expired.
-- KEYS: set, info. ARGV: limit.
-- Runs after presence_now.lua, which sets now (Redis time, ms).
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'LIMIT', 0, tonumber(ARGV[1]))
if #ids == 0 then
  return {}
end
return redis.call('HMGET', KEYS[2], unpack(ids))
