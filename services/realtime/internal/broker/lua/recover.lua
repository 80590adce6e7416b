-- Returns a room's position and, when the client's position is in the same epoch and the
-- gap after it is within the limits and paid for by the member's replay quota, the
-- history after it up to that position, read atomically.
-- KEYS: room meta, room history, replay quota, the joining member's revoked mark.
-- ARGV: epoch to use if the room has none, meta ttl ms, since epoch (empty for none),
-- since offset, most messages, most bytes, quota ms per byte (empty: no quota), quota
-- burst, '1' to refuse a revoked member (a join) or '' (a gap fill).
-- Returns {epoch, top offset, status, bytes, entries}. status is 'revoked' (the member's
-- membership was revoked; nothing else is read or changed), 'ok' (entries are the
-- gap, empty when there is none), 'none' (since cannot be recovered: no position,
-- another epoch, ahead, too many messages behind, or trimmed), 'big' (the gap is more
-- bytes than allowed) or 'spent' (the quota cannot pay for it); bytes is the gap's size
-- when known.
-- The gap's size comes from the sizes publish.lua keeps (meta b, entry c), so a refusal
-- costs two small reads however large the gap.
-- Runs after now.lua and quota.lua.
if ARGV[9] == '1' and redis.call('EXISTS', KEYS[4]) == 1 then
  return {'', '0', 'revoked', '0', {}}
end
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
if ARGV[3] ~= e or since > s or s - since > tonumber(ARGV[5]) then
  return {e, raw, 'none', '0', {}}
end
if since == s then
  return {e, raw, 'ok', '0', {}}
end

local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then
      return fields[i + 1]
    end
  end
  return nil
end

local from, to = (since + 1) .. '-0', s .. '-0'
local first = redis.call('XRANGE', KEYS[2], from, from)
if #first == 0 then
  return {e, raw, 'none', '0', {}}
end
local entries = nil
local bytes = 0
local before = field(first[1][2], 'c')
if before then
  bytes = tonumber(redis.call('HGET', KEYS[1], 'b') or '0') - tonumber(before)
else
  -- Entries published before sizes were kept: add up the data plus a frame's usual
  -- envelope.
  entries = redis.call('XRANGE', KEYS[2], from, to)
  for _, entry in ipairs(entries) do
    bytes = bytes + string.len(field(entry[2], 'd') or '') + 300
  end
end
if bytes > tonumber(ARGV[6]) then
  return {e, raw, 'big', tostring(bytes), {}}
end
if ARGV[7] ~= '' and quota_take(KEYS[3], tonumber(ARGV[7]), tonumber(ARGV[8]), bytes) > 0 then
  return {e, raw, 'spent', tostring(bytes), {}}
end
return {e, raw, 'ok', tostring(bytes), entries or redis.call('XRANGE', KEYS[2], from, to)}
