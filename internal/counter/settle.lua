-- Settle: replace a reservation's token amounts and cost with its usage.
-- Layout (built by Redis.Settle):
--   KEYS[1]  the reservation ID's mark
--   then per token window: its log, its amounts
--   then per budget: spent, live, live amounts (as in reserve.lua)
--   ARGV: now µs, ID, #token windows, #budgets, tokens, cost, mark TTL ms,
--         then length µs per token window,
--         then period end µs (0: none) and seed ("": none) per budget.
-- Returns {0} when done (or already done), {-1, missing budget indexes...}.

local now, id = tonumber(ARGV[1]), ARGV[2]
local nt, nb = tonumber(ARGV[3]), tonumber(ARGV[4])
local tokens, cost, mark = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local ki, ai = 1, 7
local function key() ki = ki + 1 return KEYS[ki] end
local function arg() ai = ai + 1 return ARGV[ai] end

if redis.call('GET', KEYS[1]) == 's' then return {0} end

local win = {}
for i = 1, nt do win[i] = {z = key(), h = key(), len = tonumber(arg())} end

local bud, missing = {}, {}
for i = 1, nb do
  local b = {k = key(), l = key(), a = key(), exp = tonumber(arg())}
  local seed = arg()
  -- A settle after its period ended adds nothing: its spend is in the store.
  b.over = b.exp > 0 and now >= b.exp
  if not b.over and not load(b.k, now) then
    if seed == '' then missing[#missing + 1] = i - 1 else init(b.k, seed, b.exp) end
  end
  bud[i] = b
end
if #missing > 0 then return {-1, unpack(missing)} end

redis.call('SET', KEYS[1], 's', 'PX', mark)
for _, w in ipairs(win) do
  local t = redis.call('ZSCORE', w.z, id)
  if t and tonumber(t) > now - w.len then
    local old = tonumber(redis.call('HGET', w.h, id) or '0')
    redis.call('HSET', w.h, id, fmt(tokens))
    redis.call('HINCRBY', w.h, '', fmt(tokens - old))
  end
end
for _, b in ipairs(bud) do
  local amt = redis.call('HGET', b.a, id)
  if amt then
    redis.call('ZREM', b.l, id)
    redis.call('HDEL', b.a, id)
    redis.call('HINCRBY', b.a, '', fmt(-tonumber(amt)))
  end
  if not b.over then redis.call('HINCRBY', b.k, 's', fmt(cost)) end
end
return {0}
