-- enqueue.lua - a new command, pending.
--   ARGV[9] cid   [10] op   [11] args (JSON object)   [12] priority 0..9
--   [13] delay ms   [14] ttl ms   [15] ack timeout ms   [16] max attempts
--   [17] supersede key ("" none)   [18] per-device cap (pending + in flight)
-- A still-pending command with the same supersede key is superseded by the
-- new one (and does not count against the cap). Outcomes: ok (ARGV 3: the
-- superseded cid or ""), exists (cid already used: a retried enqueue),
-- full, foreign (cid names another device).
local cid, op, args = ARGV[9], ARGV[10], ARGV[11]
local prio, delay, ttl = tonumber(ARGV[12]), tonumber(ARGV[13]), tonumber(ARGV[14])
local ato, maxa, sk, cap = tonumber(ARGV[15]), tonumber(ARGV[16]), ARGV[17], tonumber(ARGV[18])
if not (prio and prio >= 0 and prio <= 9 and delay and ttl and ato and maxa and cap) then
  return redis.error_reply('ERR precis enqueue: bad arguments')
end
local h = ckey(cid)
if not h then return reply({'foreign', view()}) end
if redis.call('EXISTS', h) == 1 then return reply({'exists', view()}) end
local old = nil
if sk ~= '' then
  old = redis.call('HGET', SUPER, sk)
  if old and (not ckey(old) or redis.call('HGET', ckey(old), 'state') ~= 'pending') then old = nil end
end
local used = redis.call('ZCARD', PENDING) + redis.call('ZCARD', INFLIGHT)
if old then used = used - 1 end
if used >= cap then return reply({'full', view()}) end
if old then finish(old, ckey(old), 'pending', 'superseded', {'by', enc(cid)}) end
local seq = redis.call('INCR', SEQ)
local score = (9 - prio) * 1099511627776 + seq
redis.call('HSET', h, 'id', cid, 'device', DEV, 'op', op, 'args', args, 'priority', prio,
  'seq', seq, 'score', score, 'created', NOW, 'updated', NOW, 'not_before', NOW + delay,
  'expire_at', NOW + ttl, 'ack_timeout', ato, 'max_attempts', maxa, 'supersede', sk,
  'attempts', 0, 'hist', '[]')
redis.call('ZADD', PENDING, score, cid)
if sk ~= '' then redis.call('HSET', SUPER, sk, cid) end
transition(cid, h, nil, 'pending', {'op', enc(op), 'priority', prio, 'expires', NOW + ttl})
return reply({'ok', view(), old or ''})
