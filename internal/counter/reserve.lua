-- Reserve: check every window and budget, and take all or nothing.
-- Layout (built by Redis.Reserve):
--   KEYS[1]  the reservation ID's mark
--   then per request window: its log (zset member=ID score=µs)
--   then per token window:   its log, its amounts (hash ID→amount, ""→sum)
--   then per budget:         spent (hash s=µUSD, e=period end µs or 0),
--                            live (zset ID→expiry µs),
--                            live amounts (hash ID→amount, ""→sum)
--   ARGV: now µs, ID, #request windows, #token windows, #budgets,
--         token amount, cost, TTL µs, mark TTL ms,
--         then limit and length µs per window (requests, then tokens),
--         then limit, period end µs (0: none) and seed ("": none) per budget.
-- Returns {-2} for a duplicate ID, {-1, missing budget indexes (0-based)...},
-- or {status (1 allowed, 0 window refused, 2 budget refused),
--     denied (1-based over windows then budgets, 0: none), retry µs,
--     remaining and reset µs per window}.
-- Time is always the caller's `now`, never TIME, so replicas and tests
-- sharing a clock agree.

local now, id = tonumber(ARGV[1]), ARGV[2]
local nr, nt, nb = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local amount, cost, ttl, mark = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9]
local ki, ai = 1, 9
local function key() ki = ki + 1 return KEYS[ki] end
local function arg() ai = ai + 1 return ARGV[ai] end

if redis.call('EXISTS', KEYS[1]) == 1 then return {-2} end

local win = {}
for i = 1, nr + nt do
  local w = {z = key(), limit = tonumber(arg()), len = tonumber(arg()), amount = 1}
  if i > nr then w.h, w.amount = key(), amount end
  win[i] = w
end

local bud, missing = {}, {}
for i = 1, nb do
  local b = {k = key(), l = key(), a = key(), limit = tonumber(arg()), exp = tonumber(arg())}
  local seed = arg()
  local spent = load(b.k, now)
  if not spent and seed ~= '' then
    spent = init(b.k, seed, b.exp)
  end
  if not spent then missing[#missing + 1] = i - 1 end
  b.spent = tonumber(spent or '0')
  bud[i] = b
end
if #missing > 0 then return {-1, unpack(missing)} end

-- wait is how long until enough of w's oldest entries have left it for
-- the amount to fit.
local function wait(w)
  if w.amount > w.limit then return w.len end
  local need = w.used + w.amount - w.limit
  if not w.h then
    local e = redis.call('ZRANGE', w.z, fmt(need - 1), fmt(need - 1), 'WITHSCORES')
    if #e == 0 then return w.len end
    return tonumber(e[2]) + w.len - now
  end
  local freed, start = 0, 0
  while true do
    local e = redis.call('ZRANGE', w.z, fmt(start), fmt(start + 99), 'WITHSCORES')
    if #e == 0 then return w.len end
    local ids = {}
    for j = 1, #e, 2 do ids[#ids + 1] = e[j] end
    local vals = redis.call('HMGET', w.h, unpack(ids))
    for j = 1, #ids do
      freed = freed + (tonumber(vals[j]) or 0)
      if freed >= need then return tonumber(e[2 * j]) + w.len - now end
    end
    start = start + 100
  end
end

local denied, retry = 0, 0
for i, w in ipairs(win) do
  local cutoff = now - w.len
  if w.h then
    w.used = evict(w.z, w.h, cutoff)
  else
    redis.call('ZREMRANGEBYSCORE', w.z, '-inf', fmt(cutoff))
    w.used = redis.call('ZCARD', w.z)
  end
  if w.used + w.amount > w.limit then
    if denied == 0 then denied = i end
    retry = math.max(retry, wait(w))
  end
end

local status = 1
for i, b in ipairs(bud) do
  if b.spent + evict(b.l, b.a, now) + cost > b.limit then
    status, denied, retry = 2, nr + nt + i, 0
    break
  end
end
if status == 1 and denied > 0 then status = 0 end

if status == 1 then
  redis.call('SET', KEYS[1], 'r', 'PX', mark)
  for _, w in ipairs(win) do
    local px = fmt(math.ceil(w.len / 1000) + 1000)
    redis.call('ZADD', w.z, fmt(now), id)
    redis.call('PEXPIRE', w.z, px)
    if w.h then
      redis.call('HSET', w.h, id, fmt(w.amount))
      redis.call('HINCRBY', w.h, '', fmt(w.amount))
      redis.call('PEXPIRE', w.h, px)
    end
    w.used = w.used + w.amount
  end
  local px = math.ceil(ttl / 1000) + 1000
  for _, b in ipairs(bud) do
    redis.call('ZADD', b.l, fmt(now + ttl), id)
    redis.call('HSET', b.a, id, fmt(cost))
    redis.call('HINCRBY', b.a, '', fmt(cost))
    if redis.call('PTTL', b.l) < px then
      redis.call('PEXPIRE', b.l, fmt(px))
      redis.call('PEXPIRE', b.a, fmt(px))
    end
  end
end

local out = {status, denied, retry}
for _, w in ipairs(win) do
  local reset = 0
  local e = redis.call('ZRANGE', w.z, 0, 0, 'WITHSCORES')
  if #e > 0 then reset = tonumber(e[2]) + w.len - now end
  out[#out + 1] = math.max(0, w.limit - w.used)
  out[#out + 1] = reset
end
return out
