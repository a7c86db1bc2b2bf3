/**
 * The Lua scripts of the Redis transport. Each runs atomically: a position is given, the update
 * stored, indexed and retention applied in one step, so that no reader ever sees half of it.
 *
 * Keys of `STORE` (in this order): last, updates, update-ids, bytes, trimmed, events, event-ids,
 * active. ARGV: mode (`update`, `subscription` or `trim`), id, encoded update, size, max count,
 * max age ms (-1: none), max bytes (-1: none), max subscription events, subscription id (empty:
 * none), `1` when the subscription begins, node id, and the position of the event that must still
 * have begun the subscription for this one to be stored (empty: any; a reaper ending a dead node's
 * subscriptions gives it, so that an event published meanwhile, such as the node announcing them
 * again, is never contradicted). Returns the position (that of the kept update, for an update that
 * repeats the newest one kept with its id), or nil when the ownership check fails.
 */
export const STORE_SCRIPT = `
local last, updates, updateIds, bytes, trimmed, events, eventIds, active =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local mode = ARGV[1]
local maxCount, maxAge, maxBytes, maxEvents =
  tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
-- Each call drops at most this many entries: a large excess (a lowered limit) is trimmed over
-- several calls, so that no call holds Redis for long.
local budget = 1000

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
end

-- The oldest entry dropped is always the earliest kept occurrence of its id.
local function forget(index, id)
  local kept = redis.call('HGET', index, id)
  if not kept then return end
  local rest = string.match(kept, '^%S+ (.+)$')
  if rest then redis.call('HSET', index, id, rest) else redis.call('HDEL', index, id) end
end

local function remember(index, id, position)
  local kept = redis.call('HGET', index, id)
  redis.call('HSET', index, id, kept and (kept .. ' ' .. position) or position)
end

-- Drops the oldest entry of a stream; returns false when it is empty.
local function dropOldest(stream, index, counted)
  local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
  if not oldest then return false end
  redis.call('XDEL', stream, oldest[1])
  forget(index, field(oldest[2], 'i'))
  if counted then
    redis.call('DECRBY', bytes, tonumber(field(oldest[2], 's')))
    redis.call('SET', trimmed, oldest[1])
  end
  budget = budget - 1
  return true
end

local function oldestMs(stream)
  local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
  if not oldest then return nil end
  return tonumber(string.match(oldest[1], '^(%d+)-'))
end

-- Retention of published updates, as the SQLite transport's: count, age, bytes. The newest update
-- is always kept, so that every node's reader can still read it.
local function trimUpdates()
  while budget > 0 and redis.call('XLEN', updates) > math.max(maxCount, 1) do
    dropOldest(updates, updateIds, true)
  end
  if maxBytes >= 0 then
    while budget > 0 and tonumber(redis.call('GET', bytes) or '0') > maxBytes
      and redis.call('XLEN', updates) > 1 do
      dropOldest(updates, updateIds, true)
    end
  end
  if maxAge >= 0 then
    while budget > 0 and redis.call('XLEN', updates) > 1 do
      local ms = oldestMs(updates)
      if not ms or ms >= now - maxAge then break end
      dropOldest(updates, updateIds, true)
    end
  end
  return budget
end

if mode == 'trim' then
  -- A write even when nothing is due: the probe that finds whether Redis accepts writes (OOM).
  redis.call('INCRBY', bytes, 0)
  return trimUpdates()
end

if ARGV[12] ~= nil and ARGV[12] ~= '' then
  local current = redis.call('HGET', active, ARGV[9])
  if not current or string.match(current, '^(%S+) ') ~= ARGV[12] then return false end
end

local id, encoded, size = ARGV[2], ARGV[3], ARGV[4]
-- A publish that repeats the newest kept update with its id (a publisher's retry after a lost
-- answer) is that update: its position is answered and nothing is stored.
if mode == 'update' then
  local kept = redis.call('HGET', updateIds, id)
  if kept then
    local newest = string.match(kept, '(%S+)$')
    local entry = redis.call('XRANGE', updates, newest, newest)[1]
    if entry and field(entry[2], 'u') == encoded then return newest end
  end
end

local ms, seq = now, 0
local previous = redis.call('GET', last)
if previous then
  local lastMs, lastSeq = string.match(previous, '^(%d+)-(%d+)$')
  lastMs, lastSeq = tonumber(lastMs), tonumber(lastSeq)
  if ms <= lastMs then ms, seq = lastMs, lastSeq + 1 end
end
local position = string.format('%d-%d', ms, seq)
redis.call('SET', last, position)

if mode == 'update' then
  redis.call('XADD', updates, position, 'i', id, 'u', encoded, 's', size)
  remember(updateIds, id, position)
  redis.call('INCRBY', bytes, size)
  trimUpdates()
else
  redis.call('XADD', events, position, 'i', id, 'u', encoded, 's', size)
  remember(eventIds, id, position)
  while budget > 0 and redis.call('XLEN', events) > math.max(maxEvents, 1) do
    dropOldest(events, eventIds, false)
  end
  local subscription = ARGV[9]
  if subscription ~= '' then
    if ARGV[10] == '1' then
      redis.call('HSET', active, subscription, position .. ' ' .. ARGV[11] .. ' ' .. encoded)
    else
      redis.call('HDEL', active, subscription)
    end
  end
end
return position
`;

/**
 * The newest position and the active subscriptions, read together: the reader starts after that
 * position, so every subscription event it hands over comes after the snapshot. Keys: last, active.
 */
export const SNAPSHOT_SCRIPT = `
return { redis.call('GET', KEYS[1]) or '0-0', redis.call('HGETALL', KEYS[2]) }
`;

/**
 * Takes or renews a node's lease until Redis's clock plus the lease. Keys: leases. ARGV: node,
 * lease ms. Returns 1 when the node still held its lease, 0 when it had none, or one that had
 * ended (new, or cut off for longer than its lease: its subscriptions are being ended for it).
 */
export const LEASE_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
if held and tonumber(held) >= now then return 1 else return 0 end
`;

/**
 * Returns the active subscriptions (as the active hash keeps them) of the nodes whose lease
 * ended, for the caller to end (each end is conditional, so two nodes reaping at once end each
 * subscription once). A lease is removed only once its node has nothing left active: a reaper
 * that dies midway leaves the rest to the next one, never a subscription active for ever.
 * Keys: leases, active.
 */
export const REAP_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, 100)
if #dead == 0 then return {} end
local isDead = {}
for _, node in ipairs(dead) do isDead[node] = true end
local owned = {}
local owning = {}
local active = redis.call('HGETALL', KEYS[2])
for i = 2, #active, 2 do
  local node = string.match(active[i], '^%S+ (%S+) ')
  if isDead[node] then
    table.insert(owned, active[i])
    owning[node] = true
  end
end
for _, node in ipairs(dead) do
  if not owning[node] then redis.call('ZREM', KEYS[1], node) end
end
return owned
`;
