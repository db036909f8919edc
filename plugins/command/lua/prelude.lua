-- prelude.lua - shared by every precis_command script: the build prepends
-- it to each one (plugins/command/CMakeLists.txt), so the transition rules
-- below exist exactly once.
--
-- Calling convention of every script:
--   KEYS[1]  the device's key base "<prefix>{<device>}:". Every key a script
--            touches is that base plus a suffix, so all of them share the
--            device's hash tag and live in one Redis Cluster slot.
--   ARGV[1]  device id             ARGV[2]  now, ms since the epoch ("" = Redis TIME)
--   ARGV[3]  notice channel        ARGV[4]  origin (who runs the script), echoed in notices
--   ARGV[5]  view size             ARGV[6]  transitions kept in the log stream (approximate)
--   ARGV[7]  finished commands kept in the done table
--   ARGV[8]  "1": queue finished commands for the MongoDB archive
--   ARGV[9..] the script's own arguments
-- Every script returns {outcome, view, ..., notices}: view = {due_in, npending,
-- ninflight, {cid, op, args, expire_at, attempts, ...}} (see view() below), and
-- notices, last, lists the notices the script published, so that the caller has
-- its own transitions even when its subscriber missed them.

local B = KEYS[1]
local DEV = ARGV[1]
local NOW = tonumber(ARGV[2])
if not NOW then
  local t = redis.call('TIME')
  NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local CHAN, ORIGIN = ARGV[3], ARGV[4]
local VIEWMAX, LOGMAX, DONEMAX = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local ARCHIVE = ARGV[8] == '1'

local PENDING, INFLIGHT, DONE = B .. 'pending', B .. 'inflight', B .. 'done'
local LOG, SEQ, SUPER, ARCH = B .. 'log', B .. 'seq', B .. 'super', B .. 'archive'
local FINAL = {done = true, failed = true, expired = true, canceled = true, superseded = true}
local enc = cjson.encode
local NOTICES = {}

-- A script's reply: t with the notices it published appended.
local function reply(t)
  t[#t + 1] = NOTICES
  return t
end

-- The hash of command cid ("<token>@<device>"), or nil when cid is not one of this device's.
local function ckey(cid)
  local tok = string.match(cid, '^([%w_%-]+)@')
  if not tok or #tok > 32 or cid ~= tok .. '@' .. DEV then return nil end
  return B .. 'cmd:' .. tok
end

-- Record that cid (hash h) went from state `from` (nil when it is new) to `to`:
-- its state and history in the hash, one entry in the device's log stream, one
-- notice "<device> <origin> <json>" on CHAN. extra: flat list of member names
-- and JSON-encoded values; tail: raw JSON members for the notice only (a result).
local function transition(cid, h, from, to, extra, tail)
  local ev = '"state":' .. enc(to) .. ',"from":' .. (from and enc(from) or 'null') .. ',"at":' .. NOW
  for i = 1, #extra, 2 do ev = ev .. ',' .. enc(extra[i]) .. ':' .. extra[i + 1] end
  local hist = redis.call('HGET', h, 'hist')
  if not hist or hist == '[]' or hist == '' then
    hist = '[{' .. ev .. '}]'
  else
    hist = string.sub(hist, 1, -2) .. ',{' .. ev .. '}]'
  end
  redis.call('HSET', h, 'state', to, 'updated', NOW, 'hist', hist)
  local notice = '{"id":' .. enc(cid) .. ',' .. ev
  redis.call('XADD', LOG, 'MAXLEN', '~', LOGMAX, '*', 'id', cid, 'state', to, 'json', notice .. '}')
  notice = DEV .. ' ' .. ORIGIN .. ' ' .. notice .. (tail or '') .. '}'
  redis.call('PUBLISH', CHAN, notice)
  NOTICES[#NOTICES + 1] = notice
end

-- Move cid into the done table in final state `to`; trim the table to DONEMAX,
-- keeping the hashes the archive has not taken yet (archived.lua drops those).
local function finish(cid, h, from, to, extra, tail)
  redis.call('ZREM', PENDING, cid)
  redis.call('ZREM', INFLIGHT, cid)
  local sk = redis.call('HGET', h, 'supersede')
  if sk and sk ~= '' and redis.call('HGET', SUPER, sk) == cid then redis.call('HDEL', SUPER, sk) end
  redis.call('HSET', h, 'finished', NOW)
  transition(cid, h, from, to, extra, tail)
  redis.call('ZADD', DONE, NOW, cid)
  if ARCHIVE then redis.call('SADD', ARCH, cid) end
  local over = redis.call('ZCARD', DONE) - DONEMAX
  if over > 0 then
    for _, old in ipairs(redis.call('ZRANGE', DONE, 0, over - 1)) do
      redis.call('ZREM', DONE, old)
      local oh = ckey(old)
      if oh and redis.call('SISMEMBER', ARCH, old) == 0 then redis.call('DEL', oh) end
    end
  end
end

-- The device as the plugin caches it: pending commands past their TTL expire
-- on the way; returns {due_in, npending, ninflight, ready} where ready lists
-- up to VIEWMAX ready commands in delivery order (priority, then enqueue
-- order) as cid, op, args, expire_at, attempts, and due_in is the time until
-- something changes by itself (a lease ends, a TTL passes, a delay is over;
-- -1: never).
local function view()
  local due = nil
  local function at(t) if t and (not due or t < due) then due = t end end
  local ready, nready = {}, 0
  for _, cid in ipairs(redis.call('ZRANGE', PENDING, 0, -1)) do
    local h = ckey(cid)
    local f = h and redis.call('HMGET', h, 'op', 'args', 'not_before', 'expire_at', 'attempts')
    if not f or not f[1] then
      redis.call('ZREM', PENDING, cid) -- an orphan: no hash behind it
    else
      local nb, ex = tonumber(f[3]) or 0, tonumber(f[4]) or 0
      if ex <= NOW then
        finish(cid, h, 'pending', 'expired', {'reason', '"ttl"'})
      else
        at(ex)
        if nb > NOW then
          at(nb)
        elseif nready < VIEWMAX then
          nready = nready + 1
          ready[#ready + 1] = cid
          ready[#ready + 1] = f[1]
          ready[#ready + 1] = f[2]
          ready[#ready + 1] = ex
          ready[#ready + 1] = tonumber(f[5]) or 0
        end
      end
    end
  end
  local first = redis.call('ZRANGE', INFLIGHT, 0, 0, 'WITHSCORES')
  if first[2] then at(tonumber(first[2])) end
  return {due and math.max(0, due - NOW) or -1, redis.call('ZCARD', PENDING),
          redis.call('ZCARD', INFLIGHT), ready}
end
