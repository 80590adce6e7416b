-- Gives up a lease so a retry need not wait for it to run out.
-- KEYS: lease. ARGV: owner.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
