-- cancel.lua - ops withdraw a command.
--   ARGV[9] cid   [10] who cancels ("ops", "precisctl"), recorded as "by"
-- Pending or in flight -> canceled. Outcomes: ok (ARGV 3: the state it left),
-- final (already finished; ARGV 3 its state), unknown, foreign.
local cid, by = ARGV[9], ARGV[10]
local h = ckey(cid)
if not h then return reply({'foreign', view()}) end
local state = redis.call('HGET', h, 'state')
if not state then return reply({'unknown', view()}) end
if FINAL[state] then return reply({'final', view(), state}) end
finish(cid, h, state, 'canceled', {'by', enc(by)})
return reply({'ok', view(), state})
