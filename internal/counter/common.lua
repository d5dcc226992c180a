-- Helpers shared by reserve.lua and settle.lua (prepended to each).
-- Numbers go to Redis through fmt: Lua would print large ones in
-- exponent form.
local function fmt(n) return string.format('%d', n) end

-- evict drops the members of z scored at or before cutoff together with
-- their amounts in h, and returns the sum of the amounts left.
local function evict(z, h, cutoff)
  local old = redis.call('ZRANGEBYSCORE', z, '-inf', fmt(cutoff))
  if #old > 0 then
    local freed = 0
    for i = 1, #old, 1000 do
      local part = {unpack(old, i, math.min(i + 999, #old))}
      for _, v in ipairs(redis.call('HMGET', h, unpack(part))) do
        freed = freed + (tonumber(v) or 0)
      end
      redis.call('HDEL', h, unpack(part))
    end
    redis.call('ZREMRANGEBYSCORE', z, '-inf', fmt(cutoff))
    redis.call('HINCRBY', h, '', fmt(-freed))
  end
  if redis.call('EXISTS', z) == 0 then
    redis.call('DEL', h)
    return 0
  end
  return tonumber(redis.call('HGET', h, '') or '0')
end

-- load returns a budget's spend, or nil when its counter is missing or its
-- period (as stored with it) is over.
local function load(k, now)
  local v = redis.call('HMGET', k, 's', 'e')
  if not v[1] then return nil end
  local e = tonumber(v[2] or '0')
  if e > 0 and now >= e then
    redis.call('DEL', k)
    return nil
  end
  return v[1]
end

-- init creates a budget's counter from its seed, expiring at the period end.
local function init(k, seed, exp)
  redis.call('HSET', k, 's', seed, 'e', fmt(exp))
  if exp > 0 then redis.call('PEXPIREAT', k, fmt(math.ceil(exp / 1000))) end
  return seed
end
