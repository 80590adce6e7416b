-- Lists the encoded clients of a room whose presence entries have not expired.
-- KEYS: presence set, presence info.
-- Reads the clock with TIME, as realtime's presence scripts do, so clocks need not agree.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
if #ids == 0 then
  return {}
end
return redis.call('HMGET', KEYS[2], unpack(ids))
