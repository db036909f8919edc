-- sweep.lua - what time does by itself. Leases past their deadline end: the
-- command expires when its TTL has passed, fails when it used all its
-- attempts, and goes back to pending (in its old place) otherwise; then the
-- view, which expires pending commands past their TTL.
-- Returns {'ok', view}.
for _, cid in ipairs(redis.call('ZRANGEBYSCORE', INFLIGHT, '-inf', NOW)) do
  local h = ckey(cid)
  local f = h and redis.call('HMGET', h, 'attempts', 'max_attempts', 'expire_at', 'score')
  if not f or not f[4] then
    redis.call('ZREM', INFLIGHT, cid) -- an orphan: no hash behind it
  elseif tonumber(f[3]) <= NOW then
    finish(cid, h, 'inflight', 'expired', {'reason', '"ttl"', 'attempt', f[1]})
  elseif tonumber(f[1]) >= tonumber(f[2]) then
    finish(cid, h, 'inflight', 'failed', {'reason', '"attempts"', 'attempt', f[1]})
  else
    redis.call('ZREM', INFLIGHT, cid)
    redis.call('ZADD', PENDING, f[4], cid)
    transition(cid, h, 'inflight', 'pending', {'reason', '"lease"', 'attempt', f[1]})
  end
end
return reply({'ok', view()})
