-- ack.lua - the device answered a command.
--   ARGV[9] cid   [10] status ok|error|rejected   [11] result (JSON object, "" none)
-- In flight -> done with the status and result. A late ack (the lease ran out
-- and the command went back to pending after a delivery) is taken too: the
-- device did run it. Outcomes, none but applied changing anything:
-- applied (ARGV 3: the state it left), duplicate (already finished; ARGV 3 its
-- state), undelivered (pending and never delivered: a forged ack), unknown,
-- foreign (cid names another device).
local cid, status, result = ARGV[9], ARGV[10], ARGV[11]
if status ~= 'ok' and status ~= 'error' and status ~= 'rejected' then
  return redis.error_reply('ERR precis ack: bad status')
end
local h = ckey(cid)
if not h then return reply({'foreign', view()}) end
local f = redis.call('HMGET', h, 'state', 'attempts')
local state, att = f[1], tonumber(f[2]) or 0
if not state then return reply({'unknown', view()}) end
if FINAL[state] then return reply({'duplicate', view(), state}) end
if state == 'pending' and att == 0 then return reply({'undelivered', view()}) end
redis.call('HSET', h, 'status', status)
if result ~= '' then redis.call('HSET', h, 'result', result) end
finish(cid, h, state, 'done', {'status', enc(status), 'attempt', att},
  result ~= '' and (',"result":' .. result) or nil)
return reply({'applied', view(), state})
