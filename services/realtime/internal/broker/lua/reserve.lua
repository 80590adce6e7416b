-- Claims a client message id.
-- KEYS: dedup, lease. ARGV: id, dedup ttl ms, lease ms, owner.
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
