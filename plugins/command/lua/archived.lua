-- archived.lua - the MongoDB archive holds cid now: take it off the archive
-- queue, and drop its hash when the done table no longer lists it.
--   ARGV[9] cid
-- Returns {'ok'} (also when it was archived before), or {'foreign'}.
local cid = ARGV[9]
local h = ckey(cid)
if not h then return reply({'foreign'}) end
redis.call('SREM', ARCH, cid)
if redis.call('EXISTS', h) == 1 then
  if redis.call('ZSCORE', DONE, cid) then
    redis.call('HSET', h, 'archived', NOW)
  else
    redis.call('DEL', h)
  end
end
return reply({'ok'})
