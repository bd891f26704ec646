"""The leaderboard model's scripts: each read or write is one script, so that it
sees and leaves the sorted sets as one state.

Keys, under a prefix naming the game database (``P``):
- ``P m:<league>``: every player of the league, score 0 (so in name order, bytewise);
- ``P p:<instance>:<league>``: the players of the league with points other than 0
  on one board instance (``all``, ``d:<day>``, ``w:<year>-W<week>``, ``m:<year>-<month>``),
  score = -points: points descending, ties by name. A player not there has 0;
- ``P league``: player -> league; ``P leagues``: the leagues;
- ``P latest``: the latest close's day (the daily board's instance);
- ``P ready``: the database epoch the model was built at (absent: not built);
- ``P pending``: writes in flight, token -> deadline in ms (Redis's clock);
- ``P rebuilding``, ``P replay``: a rebuild running, and the players written meanwhile.

Order on a board: players with points > 0 (from the set), then those with 0 by name
(the league's members not in the set), then those below 0 (from the set). A rank
(players with strictly more points) is a ZCOUNT; only 0-point neighbours need a
walk over the members, skipping players with points, within a budget.
"""

READ = r"""
local P, mode, epoch, inst, arg = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local limit, budget = tonumber(ARGV[6]), tonumber(ARGV[7])
if redis.call('GET', P .. 'ready') ~= epoch then return {'unbuilt'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if #redis.call('ZRANGEBYSCORE', P .. 'pending', '-inf', now, 'LIMIT', 0, 1) > 0 then
  return {'stale'}
end
local league, player = nil, nil
if mode == 'top' then
  league = arg
  if redis.call('SISMEMBER', P .. 'leagues', league) == 0 then return {'unknown_league'} end
else
  player = arg
  league = redis.call('HGET', P .. 'league', player)
  if not league then return {'unknown_player'} end
end
if inst == 'daily' then
  local latest = redis.call('GET', P .. 'latest')
  inst = latest and ('d:' .. latest) or 'd:none'
end
local M = P .. 'm:' .. league
local K = P .. 'p:' .. inst .. ':' .. league
local total = redis.call('ZCARD', M)
local nonzero = redis.call('ZCARD', K)
local positive = redis.call('ZCOUNT', K, '-inf', '(0')
local zeros = total - nonzero

local ranks = {}
local function rank(points)
  if ranks[points] then return ranks[points] end
  local r
  if points > 0 then r = redis.call('ZCOUNT', K, '-inf', '(' .. tostring(-points))
  elseif points == 0 then r = positive
  else r = redis.call('ZCOUNT', K, '-inf', '(' .. tostring(-points)) + zeros end
  ranks[points] = r
  return r
end

local out = {'ok'}  -- then name, points, rank of each: a player may be called 'stale'
local function add(name, points)
  out[#out + 1] = name
  out[#out + 1] = string.format('%.0f', points)
  out[#out + 1] = rank(points)
end
-- Players first..last of the set, in order. One whose points differ from the one
-- before it in the set has as many players above it as its index (plus the zeros,
-- below 0): only the first of the range needs counting.
local function add_range(first, last)
  if last < first then return end
  local r = redis.call('ZRANGE', K, first, last, 'WITHSCORES')
  local previous = nil
  for i = 1, #r, 2 do
    local points = -tonumber(r[i + 1])
    if previous ~= nil and points ~= previous and not ranks[points] then
      local index = first + (i - 1) / 2
      ranks[points] = points > 0 and index or index + zeros
    end
    add(r[i], points)
    previous = points
  end
end

-- Up to n players with 0 points after (or, backwards, before) a name, nearest
-- first; nil past the budget of members looked at. Few are needed: the steps start
-- small and grow.
local function zeros_from(from, n, backwards)
  local found, looked, size = {}, 0, 2 * n
  local command, last = 'ZRANGEBYLEX', '+'
  if backwards then command, last = 'ZREVRANGEBYLEX', '-' end
  local start = from and ('(' .. from) or (backwards and '+' or '-')
  while #found < n do
    local chunk = redis.call(command, M, start, last, 'LIMIT', 0, size)
    size = math.min(size * 2, 256)
    if #chunk == 0 then break end
    local scores = redis.call('ZMSCORE', K, unpack(chunk))
    for i = 1, #chunk do
      if not scores[i] and #found < n then found[#found + 1] = chunk[i] end
    end
    looked = looked + #chunk
    if looked > budget then return nil end
    start = '(' .. chunk[#chunk]
  end
  return found
end
local function zeros_after(from, n) return zeros_from(from, n, false) end
local function zeros_before(from, n)  -- in board order
  local found = zeros_from(from, n, true)
  if found == nil then return nil end
  local ordered = {}
  for i = #found, 1, -1 do ordered[#ordered + 1] = found[i] end
  return ordered
end

-- The n players after the first `skip` positives, in board order.
local function from_zeros_on(n)
  if n <= 0 then return true end
  local z = zeros_after(nil, math.min(n, zeros))
  if z == nil then return false end
  for _, name in ipairs(z) do add(name, 0) end
  add_range(positive, positive + (n - #z) - 1)
  return true
end
-- The last n players before the negatives, in board order: positives' tail, zeros.
local function up_to_zeros(n)
  if n <= 0 then return true end
  local z = zeros_before(nil, math.min(n, zeros))
  if z == nil then return false end
  local need = n - #z
  add_range(math.max(0, positive - need), positive - 1)
  for _, name in ipairs(z) do add(name, 0) end
  return true
end

if mode == 'top' then
  local take = math.min(limit, positive)
  add_range(0, take - 1)
  if not from_zeros_on(limit - take) then return {'fallback'} end
  return out
end

local score = redis.call('ZSCORE', K, player)
local points = score and -tonumber(score) or 0
if mode == 'position' then
  add(player, points)
  return out
end

-- near: up to 4 above, the player, up to 5 below
if points > 0 then
  local idx = redis.call('ZRANK', K, player)
  add_range(math.max(0, idx - 4), idx)
  local below = math.min(idx + 5, positive - 1)
  add_range(idx + 1, below)
  if not from_zeros_on(5 - (below - idx)) then return {'fallback'} end
elseif points == 0 then
  local above = zeros_before(player, 4)
  if above == nil then return {'fallback'} end
  local need = 4 - #above
  add_range(math.max(0, positive - need), positive - 1)
  for _, name in ipairs(above) do add(name, 0) end
  add(player, 0)
  local below = zeros_after(player, 5)
  if below == nil then return {'fallback'} end
  for _, name in ipairs(below) do add(name, 0) end
  add_range(positive, positive + (5 - #below) - 1)
else
  local idx = redis.call('ZRANK', K, player)
  local first = math.max(positive, idx - 4)
  if not up_to_zeros(4 - (idx - first)) then return {'fallback'} end
  add_range(first, idx + 5)
end
return out
"""

# ARGV: prefix, token (or ""), latest close ("" for unknown), the day of the close
# whose payment this is and its mark ("" and ""), the count of live instances and
# them, the close's day, week and month instances ("" when no close); then per
# player: "put", name, league, count of instances, (instance, points) pairs; "del",
# name; or "paid", name, league, all-time, daily, weekly, monthly points: a player a
# close paid (its totals of the close's day), already on the league's board.
APPLY = r"""
local P, token, latest, day, mark = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local nlive = tonumber(ARGV[6])
local i = 7
local live = {}
for _ = 1, nlive do live[#live + 1] = ARGV[i]; i = i + 1 end
local paid_in = {'all', ARGV[i], ARGV[i + 1], ARGV[i + 2]}
local paid_keys = {}
i = i + 3
local current = redis.call('GET', P .. 'latest')
if latest ~= '' and (not current or latest > current) then
  redis.call('SET', P .. 'latest', latest)
  current = latest
end
if current then live[#live + 1] = 'd:' .. current end
local rebuilding = redis.call('EXISTS', P .. 'rebuilding') == 1
local TTL = 40 * 86400
local touched = {}
local function forget(name, league)
  redis.call('ZREM', P .. 'm:' .. league, name)
  for _, inst in ipairs(live) do redis.call('ZREM', P .. 'p:' .. inst .. ':' .. league, name) end
end
local function put_points(key, inst, points, name)
  if points ~= 0 then
    redis.call('ZADD', key, -points, name)
    if inst ~= 'all' and not touched[key] then
      touched[key] = true
      redis.call('EXPIRE', key, TTL)
    end
  else
    redis.call('ZREM', key, name)
  end
end
local function put(name, league)
  local old = redis.call('HGET', P .. 'league', name)
  if old and old ~= league then forget(name, old) end
  redis.call('HSET', P .. 'league', name, league)
  redis.call('ZADD', P .. 'm:' .. league, 'NX', 0, name)
  local own, n = {}, tonumber(ARGV[i])
  i = i + 1
  for _ = 1, n do
    local inst, points = ARGV[i], tonumber(ARGV[i + 1])
    i = i + 2
    own[inst] = true
    put_points(P .. 'p:' .. inst .. ':' .. league, inst, points, name)
  end
  for _, inst in ipairs(live) do
    if not own[inst] then redis.call('ZREM', P .. 'p:' .. inst .. ':' .. league, name) end
  end
end
while i <= #ARGV do
  local op, name = ARGV[i], ARGV[i + 1]
  i = i + 2
  if op == 'paid' then
    local league = ARGV[i]
    local keys = paid_keys[league]
    if not keys then
      keys = {}
      for k = 1, 4 do keys[k] = P .. 'p:' .. paid_in[k] .. ':' .. league end
      paid_keys[league] = keys
    end
    for k = 1, 4 do put_points(keys[k], paid_in[k], tonumber(ARGV[i + k]), name) end
    i = i + 5
  elseif op == 'del' then
    local old = redis.call('HGET', P .. 'league', name)
    if old then forget(name, old) end
    redis.call('HDEL', P .. 'league', name)
  else
    local league = ARGV[i]
    i = i + 1
    put(name, league)
  end
  if rebuilding then redis.call('SADD', P .. 'replay', name) end
end
if day ~= '' then redis.call('SET', P .. 'paid:' .. day, mark, 'EX', TTL) end
if token ~= '' then redis.call('ZREM', P .. 'pending', token) end
return 1
"""

# ARGV: prefix, a random id, milliseconds it may stay pending. Marks a write in
# flight; the token begins with Redis's clock, which a rebuild compares with.
PEND = r"""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local token = tostring(now) .. ':' .. ARGV[2]
redis.call('ZADD', ARGV[1] .. 'pending', now + tonumber(ARGV[3]), token)
return token
"""

# ARGV: prefix, the temporary prefix the rebuild wrote, its epoch, the time (ms,
# Redis's clock) it began, then the temporary keys' suffixes. Swaps the built
# model in: every live key goes (with how far it had followed each close's
# payment), the built ones take their place, and the writes pending since before
# the rebuild began are forgotten (the snapshot has them).
SWAP = r"""
local P, T, epoch, began = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
for _, pattern in ipairs({'m:*', 'p:*', 'paid:*'}) do
  local cursor = '0'
  repeat
    local r = redis.call('SCAN', cursor, 'MATCH', P .. pattern, 'COUNT', 1000)
    cursor = r[1]
    for _, key in ipairs(r[2]) do redis.call('DEL', key) end
  until cursor == '0'
end
redis.call('DEL', P .. 'league', P .. 'leagues', P .. 'latest')
for i = 5, #ARGV do
  local built = T .. ARGV[i]
  if redis.call('EXISTS', built) == 1 then redis.call('RENAME', built, P .. ARGV[i]) end
end
local old = redis.call('ZRANGE', P .. 'pending', 0, -1)
for _, token in ipairs(old) do
  local started = tonumber(string.match(token, '^(%d+):'))
  if started and started < began then redis.call('ZREM', P .. 'pending', token) end
end
redis.call('SET', P .. 'ready', epoch)
return 1
"""

# KEYS: the apply lock; ARGV: its holder's token. Lets go of the lock if it is
# still this holder's (its lease may have lapsed and another holder taken it).
UNLOCK = r"""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
