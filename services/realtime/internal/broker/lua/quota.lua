-- Defines quota_take, the member quotas (send, typing, replay): a token bucket kept as
-- one number, the time at which it would be full again (GCRA), so a quota is a single
-- key that expires by itself once the bucket is full. per_unit is the ms one unit takes
-- to refill, burst the bucket's size in units.
-- quota_take charges cost units and returns 0, or charges nothing and returns the ms until
-- the bucket could pay (never, if cost is over burst).
-- Runs after now.lua, which sets now (Redis time, ms).
local function quota_take(key, per_unit, burst, cost)
  local full = tonumber(redis.call('GET', key) or '0') or 0
  if full < now then
    full = now
  end
  local after = full + cost * per_unit
  local over = after - now - burst * per_unit
  if over > 0 then
    return math.max(1, math.ceil(over))
  end
  redis.call('SET', key, string.format('%.3f', after), 'PX', math.max(1, math.ceil(after - now)))
  return 0
end
