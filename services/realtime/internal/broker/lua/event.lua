-- Appends an event without a position (typing) to the room's shard stream if the
-- member's quota pays one unit.
-- KEYS: shard stream, quota. ARGV: kind, room, data, shard max len, quota ms per unit,
-- quota burst.
-- Returns 1 when it appended, 0 when the quota was spent.
-- Runs after now.lua and quota.lua.
if quota_take(KEYS[2], tonumber(ARGV[5]), tonumber(ARGV[6]), 1) > 0 then
  return 0
end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'k', ARGV[1], 'r', ARGV[2], 'd', ARGV[3])
return 1
