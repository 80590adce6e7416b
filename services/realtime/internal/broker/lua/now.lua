-- Sets now to Redis' clock in milliseconds, so instance clocks need not agree. The
-- scripts that need it (presence, quotas) start with this.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
