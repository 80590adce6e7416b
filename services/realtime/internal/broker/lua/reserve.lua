-- Claims a client message id. A sender whose membership of the room was revoked may not
-- send at all. A new id is paid for with one unit of the sender's send quota first;
-- retries of a known id cost nothing.
-- KEYS: dedup, lease, send quota, the sender's revoked mark. ARGV: id, dedup ttl ms,
-- lease ms, owner, quota ms per unit (empty: no quota), quota burst.
-- Returns a dedup state, 'r:<ms>' when the quota cannot pay for ms more, or 'x:<reason>'
-- when the sender's membership was revoked.
-- Runs after now.lua and quota.lua.
local revoked = redis.call('GET', KEYS[4])
if revoked then
  return 'x:' .. revoked
end
local v = redis.call('GET', KEYS[1])
if not v then
  if ARGV[5] ~= '' then
    local wait = quota_take(KEYS[3], tonumber(ARGV[5]), tonumber(ARGV[6]), 1)
    if wait > 0 then
      return 'r:' .. wait
    end
  end
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
