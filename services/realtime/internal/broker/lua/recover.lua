-- Returns a room's position and, when the client's position is in the same
-- epoch and within limit, the history after it up to that position, read atomically.
-- KEYS: room meta, room history.
-- ARGV: epoch to use if the room has none, meta ttl ms, since epoch (empty for none),
-- since offset, limit.
-- Returns {epoch, top offset, entries}.
local e = redis.call('HGET', KEYS[1], 'e')
local raw = '0'
if not e then
  e = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', e, 's', 0)
else
  raw = redis.call('HGET', KEYS[1], 's') or '0'
end
local s = tonumber(raw)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local since = tonumber(ARGV[4])
if ARGV[3] ~= e or since >= s or s - since > tonumber(ARGV[5]) then
  return {e, raw, {}}
end
return {e, raw, redis.call('XRANGE', KEYS[2], (since + 1) .. '-0', s .. '-0')}
