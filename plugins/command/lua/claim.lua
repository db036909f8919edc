-- claim.lua - ready pending commands go in flight with a lease.
--   ARGV[9] most commands to claim   ARGV[10..] the cids to claim (none: the
--   first ready ones in delivery order)
-- The plugin names the commands it has just delivered from its prefetched
-- view; those no longer pending and ready (canceled, superseded or expired
-- meanwhile, or claimed by another node) are not claimed.
-- Returns {'ok', view, claimed cids, cids not claimed}.
local maxn = tonumber(ARGV[9])
local claimed, missed = {}, {}
local function ready(h)
  local f = redis.call('HMGET', h, 'state', 'not_before', 'expire_at')
  return f[1] == 'pending' and (tonumber(f[2]) or 0) <= NOW and (tonumber(f[3]) or 0) > NOW
end
local function claim(cid, h)
  local att = redis.call('HINCRBY', h, 'attempts', 1)
  local deadline = NOW + tonumber(redis.call('HGET', h, 'ack_timeout'))
  redis.call('ZREM', PENDING, cid)
  redis.call('ZADD', INFLIGHT, deadline, cid)
  redis.call('HSET', h, 'deadline', deadline, 'delivered', NOW)
  transition(cid, h, 'pending', 'inflight', {'attempt', att, 'deadline', deadline})
  claimed[#claimed + 1] = cid
end
if #ARGV >= 10 then
  for i = 10, #ARGV do
    local cid = ARGV[i]
    local h = ckey(cid)
    if h and #claimed < maxn and ready(h) then claim(cid, h) else missed[#missed + 1] = cid end
  end
else
  for _, cid in ipairs(redis.call('ZRANGE', PENDING, 0, -1)) do
    if #claimed >= maxn then break end
    local h = ckey(cid)
    if h and ready(h) then claim(cid, h) end
  end
end
return reply({'ok', view(), claimed, missed})
