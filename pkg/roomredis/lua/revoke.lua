-- Marks members of a room as revoked and tells every realtime instance, at once.
-- KEYS: the room's shard stream, then one revoked mark per member.
-- ARGV: mark ttl ms, reason, room, entry data (an encoded Revocation).
-- Running it twice only sets the marks again and adds a second entry, which finds no
-- socket left to remove.
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[2], 'PX', ARGV[1])
end
redis.call('XADD', KEYS[1], '*', 'k', 'r', 'r', ARGV[3], 'd', ARGV[4])
return #KEYS - 1
