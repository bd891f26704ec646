"""The generated game of ``datm dev seed``, as SQL: the temporary tables that
plan it from ``generate_series`` and hashes, and one ``INSERT ... SELECT`` per game
table that writes it (``seed`` runs them, in one transaction).

Determinism. Every random choice is ``hashint8extended(key, seed)`` of a row's
own key, so the same options (seed and day included) make the same game, row for
row, whatever plan the server picks.

The game is consistent by construction, as the audit and the services see it:
- artists: Zipf-like listeners (the top 3-4 million), playcount 10-30 times that,
  listed the day before the first close at the listing formula's price, with a
  history point for the listing day and one per close;
- holdings: skewed towards popular artists (at full size the top artist gets
  2-3 % of them, the median artist a handful) and towards active players;
  each is bought once (its buy trade), never sold, at the price its holders
  before it left (the buy moves of pricing.py, summed);
- round trips: more trades, a buy and its sale minutes apart on one day, never
  of an artist the player holds, and never across a close (so they pay nothing);
- the ledger: one row per trade, one per dividend paid (a holder of record at a
  close whose artist paid one); every player's money is 20,000 plus their
  ledger, and never went below 0 (holdings spend at most ``HOLDINGS_BUDGET``,
  round trips risk at most the rest);
- points: each player's totals are the points of the closes their holdings saw,
  in the periods of the latest close (player.add_points' semantics);
- trophies: ``first_trade`` at the first trade, ``collector`` when 10 artists
  were first held at once; no ``tycoon`` (nobody gets near 50,000 in a few days);
- closes: one finished row per close day, the ``D`` days before ``today``, so
  that today's close can run on the seeded game.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text

from datm.domain.player import STARTING_MONEY

# League uid -> share of the players (1,000,000 : 150,000 : 50,000 at full size).
LEAGUE_SHARES = (("gold", 1), ("silver", 3), ("bronze", 20))

HOLDINGS_BUDGET = 15_000  # what a player's holdings may cost in all...
ROUND_TRIP_RESERVE = STARTING_MONEY - HOLDINGS_BUDGET  # ...the rest buys round trips
MAX_HOLDINGS_PER_PLAYER = 40
ROUND_TRIP_SLOTS = 64  # a player's round trips take distinct slots of the trading day
ROUND_TRIP_HEADROOM = 8  # round trips only of artists with this many shares left
TOP_LISTENERS = 3_000_000  # the top artist's listeners: 3 to 4 million
LISTENERS_EXPONENT = 0.8  # listeners of the artist of rank a: top * a^-0.8
POPULAR_SHARE = 0.6  # holdings of an artist drawn by a power law of its rank...
POPULARITY_EXPONENT = 0.95  # ...of this exponent; the rest uniformly over all artists

# Hash streams: each random choice draws from its own.
(
    S_TOP,
    S_LISTENERS,
    S_PLAYS,
    S_GAIN_L,
    S_GAIN_S,
    S_ACTIVITY,
    S_HOLD_MIX,
    S_HOLD_RANK,
    S_HOLD_DAY,
    S_HOLD_TIME,
    S_HOLD_KEEP,
    S_RT_COUNT,
    S_RT_MIX,
    S_RT_RANK,
    S_RT_DAY,
    S_RT_OFFSET,
    S_RT_TIME,
    S_RT_HOLD,
    S_CREATED,
) = range(1, 20)


def _u(key: str, stream: int) -> str:
    """SQL: a uniform number in (0, 1) from a bigint key, for one stream and seed."""
    return (
        f"(((hashint8extended(({key})::bigint, CAST(:seed AS bigint) * 64 + {stream})"
        " & 9007199254740991)::float8 + 0.5) / 9007199254740992.0)"
    )


def _artist_rank(key: str, mix: int, rank: int) -> str:
    """SQL: an artist's rank (1 = the most listened), for a holding or a round trip:
    a power law of the rank (inverse CDF of x^-s on [1, M+1)) or uniform."""
    tail = f"{1 - POPULARITY_EXPONENT:g}"  # 1 - s
    return (
        f"CASE WHEN {_u(key, mix)} < {POPULAR_SHARE} THEN least(:artists, floor("
        f"(1 + {_u(key, rank)} * ((:artists + 1)::float8 ^ {tail} - 1)) ^ (1 / {tail})))::int"
        f" ELSE 1 + floor({_u(key, rank)} * :artists)::int END"
    )


def _name(number: str) -> str:
    """SQL: the name of player ``number``; fixed width, so names sort as numbers."""
    return f"('p' || lpad(({number})::text, :width, '0'))"


def _at(day: str) -> str:
    """SQL: midnight (UTC) of a date, as a timestamptz whatever the session's zone."""
    return f"(({day})::timestamp AT TIME ZONE 'UTC')"


def _move(price: str, bought: str, shares: str) -> str:
    """SQL: the sum of the buy moves of ``bought`` buys from no holder, with the
    listing price for the last closing price: sum over j < k of
    lcp * (M + 9j) / (100 M^2) (pricing.buy_move with R = M - j), truncated once."""
    k, m = f"({bought})", f"({shares})"
    return f"(({price}) * (2 * {k} * {m} + 9 * {k} * ({k} - 1)) / (200 * {m} * {m}))"


ADJECTIVES = (
    "Velvet", "Neon", "Silver", "Broken", "Electric", "Golden", "Quiet", "Wild",
    "Paper", "Crystal", "Midnight", "Scarlet", "Hollow", "Lunar", "Static", "Wooden",
    "Northern", "Violet", "Frozen", "Burning", "Distant", "Copper", "Gentle", "Iron",
    "Restless", "Secret", "Sunday", "Tidal", "Urban", "Vivid", "Young", "Atomic",
)  # fmt: skip
NOUNS = (
    "Harbour", "Machines", "Lanterns", "Rivers", "Echoes", "Foxes", "Gardens", "Satellites",
    "Wolves", "Mirrors", "Parade", "Orchestra", "Tides", "Engines", "Pilots", "Ghosts",
    "Horizons", "Dreamers", "Sparrows", "Circuits", "Valleys", "Saints", "Signals", "Kites",
    "Comets", "Shadows", "Strangers", "Islands", "Monarchs", "Rockets", "Canyons", "Waves",
)  # fmt: skip


def _words(words: Sequence[str]) -> str:
    return "(ARRAY[" + ", ".join(f"'{word}'" for word in words) + "])"


def _artist_name(a: str) -> str:
    """SQL: "<adjective> <noun>" for artist ``a``, then "<adjective> <noun> 2" and so
    on; the multiplier (odd, so coprime with the 1,024 pairs) spreads neighbours apart."""
    pairs = len(ADJECTIVES) * len(NOUNS)
    pair = f"(({a} - 1) * 7919 % {pairs})"
    return (
        f"{_words(ADJECTIVES)}[1 + {pair} % {len(ADJECTIVES)}] || ' ' || "
        f"{_words(NOUNS)}[1 + {pair} / {len(ADJECTIVES)}] || CASE WHEN {a} > {pairs} "
        f"THEN ' ' || (({a} - 1) / {pairs} + 1) ELSE '' END"
    )


def _league(number: str) -> str:
    """SQL: the league of player ``number``, in the exact proportions of LEAGUE_SHARES."""
    total = sum(share for _, share in LEAGUE_SHARES)
    cases, upto = [], 0
    for uid, share in LEAGUE_SHARES:
        upto += share
        cases.append(f"WHEN ({number}) % {total} < {upto} THEN '{uid}'")
    return f"CASE {' '.join(cases)} END"


# --- the plan: temporary tables, dropped at commit ------------------------------------

# Per artist (a = rank) and day (d = 0 the listing day, 1..D the closes): the numbers
# last.fm gave, what the close paid, and the points from day d to the latest close
# (all, in the latest close's ISO week, in its month), for the players' totals.
SEED_DAY = text(
    f"""
CREATE TEMP TABLE seed_day ON COMMIT DROP AS
WITH latest_numbers AS (
    SELECT a,
        greatest(1, round({TOP_LISTENERS} * (1 + {_u("0", S_TOP)} / 3) * a::float8
            ^ -{LISTENERS_EXPONENT} * (0.9 + 0.2 * {_u("a", S_LISTENERS)})))::bigint AS listeners
    FROM generate_series(1, :artists) a
), growth AS (
    SELECT f.a, d,
        f.listeners AS final_listeners,
        round(f.listeners * (10 + 20 * {_u("f.a", S_PLAYS)}))::bigint AS final_playcount,
        CASE WHEN d = 0 THEN 0
            ELSE round(f.listeners * (0.0035 * {_u("f.a * 1024 + d", S_GAIN_L)} - 0.0005)) END
            AS gain_listeners,
        CASE WHEN d = 0 THEN 0
            ELSE round(f.listeners * (10 + 20 * {_u("f.a", S_PLAYS)})
                * (0.001 + 0.004 * {_u("f.a * 1024 + d", S_GAIN_S)})) END AS gain_playcount
    FROM latest_numbers f CROSS JOIN generate_series(0, :days) d
), numbers AS (
    SELECT a, d,
        greatest(1, final_listeners - coalesce(sum(gain_listeners) OVER later, 0))::bigint
            AS listeners,
        greatest(1, final_playcount - coalesce(sum(gain_playcount) OVER later, 0))::bigint
            AS playcount
    FROM growth
    WINDOW later AS (PARTITION BY a ORDER BY d DESC ROWS BETWEEN UNBOUNDED PRECEDING
        AND 1 PRECEDING)
), deltas AS (
    SELECT a, d, listeners, playcount,
        listeners - lag(listeners) OVER before AS dl,
        playcount - lag(playcount) OVER before AS ds
    FROM numbers
    WINDOW before AS (PARTITION BY a ORDER BY d)
), paid AS (
    -- close.close_points and close_dividend; float8 rounds half to even, as they do
    SELECT a, d, (:first_day + d) AS day, listeners, playcount,
        coalesce(round(0.0005::float8 * ds + 0.05::float8 * dl), 0)::bigint AS points,
        coalesce(round(0.03::float8 * sqrt(greatest(ds, 0))
            + 0.0005::float8 * greatest(dl, 0)), 0)::bigint AS dividend
    FROM deltas
)
SELECT a, d, day, listeners, playcount, points, dividend,
    sum(points) OVER later AS points_from,
    sum(points) FILTER (WHERE date_trunc('week', day)
        = date_trunc('week', CAST(:last_day AS date))) OVER later AS week_points_from,
    sum(points) FILTER (WHERE date_trunc('month', day)
        = date_trunc('month', CAST(:last_day AS date))) OVER later AS month_points_from,
    first_value(points) OVER later AS last_points
FROM paid
WINDOW later AS (PARTITION BY a ORDER BY d DESC ROWS BETWEEN UNBOUNDED PRECEDING
    AND CURRENT ROW)
"""
)

# Per artist: its MBID (lower-case, UUID-shaped), name, listing price (from the
# listing day's numbers), latest numbers, and its place in the close's MBID order.
SEED_ARTIST = text(
    f"""
CREATE TEMP TABLE seed_artist ON COMMIT DROP AS
SELECT a, mbid, name, listeners, playcount, p0,
    row_number() OVER (ORDER BY mbid) AS close_order
FROM (
    SELECT latest.a,
        (md5(format('%s:%s', :seed, latest.a))::uuid)::text COLLATE "C" AS mbid,
        {_artist_name("latest.a")} AS name,
        latest.listeners, latest.playcount,
        greatest(1, round(0.07::float8 * listing.playcount / sqrt(listing.listeners)))::bigint
            AS p0
    FROM seed_day latest JOIN seed_day listing ON listing.a = latest.a AND listing.d = 0
    WHERE latest.d = :days
) artist
"""
)

# The holdings: each player (numbered by activity p, named by number q, a
# permutation of p so that the busy ones are spread over the names) wants a
# Pareto-like number of artists; the first buy of each (player, artist) stays if
# the player can afford it, and K of them are kept at random.
SEED_HOLDING = text(
    f"""
CREATE TEMP TABLE seed_holding ON COMMIT DROP AS
WITH player AS (
    SELECT (p - 1)::bigint * :perm % :players + 1 AS q,
        least(:cap, floor(:activity * ({_u("p", S_ACTIVITY)} ^ -0.5 - 1)))::int AS wanted
    FROM generate_series(1, :players) p
), slot AS (
    SELECT q, q * 64 + k AS key FROM player CROSS JOIN LATERAL generate_series(1, wanted) k
), pick AS (
    SELECT q, key, {_artist_rank("key", S_HOLD_MIX, S_HOLD_RANK)} AS a,
        floor({_u("key", S_HOLD_DAY)} * (:days + 1))::int AS b,
        {_u("key", S_HOLD_TIME)} AS t
    FROM slot
), distinct_pick AS (
    SELECT DISTINCT ON (q, a) q, a, b, t, key FROM pick ORDER BY q, a, b, t
), afforded AS (
    -- 6 % above the listing price bounds any price paid (a buy moves it < 5.5 %)
    SELECT f.q, f.a, f.b, f.t, f.key,
        sum(ceil(s.p0 * 1.06)) OVER (PARTITION BY f.q ORDER BY f.b, f.t) AS spent
    FROM distinct_pick f JOIN seed_artist s USING (a)
)
SELECT q, a, b, key,
    {_at(":first_day + b")} + interval '1 hour' + t * interval '21 hours' AS since
FROM afforded
WHERE spent <= :budget
ORDER BY {_u("key", S_HOLD_KEEP)}, key
LIMIT :holdings
"""
)

# Per artist and day: holders at that day's cut-off, max shares (the listing
# formula with the latest numbers, raised to the holders), and the price at the
# day's start and at its cut-off.
SEED_MARKET = text(
    f"""
CREATE TEMP TABLE seed_market ON COMMIT DROP AS
WITH bought AS (
    SELECT a, b, count(*) AS n FROM seed_holding GROUP BY a, b
), held AS (
    SELECT sd.a, sd.d,
        sum(coalesce(bought.n, 0)) OVER (PARTITION BY sd.a ORDER BY sd.d)::bigint AS held,
        (sum(coalesce(bought.n, 0)) OVER (PARTITION BY sd.a ORDER BY sd.d)
            - coalesce(bought.n, 0))::bigint AS held_before
    FROM seed_day sd LEFT JOIN bought ON bought.a = sd.a AND bought.b = sd.d
), shares AS (
    SELECT s.a, s.p0, held.held AS holders,
        greatest(1, held.held, (:players * s.listeners + 10 * top.listeners - 1)
            / (10 * top.listeners)) AS max_shares
    FROM seed_artist s
    JOIN held ON held.a = s.a AND held.d = :days
    CROSS JOIN (SELECT max(listeners) AS listeners FROM seed_artist) top
)
SELECT held.a, held.d, shares.holders, shares.max_shares,
    shares.p0 + {_move("shares.p0", "held.held", "shares.max_shares")} AS price,
    shares.p0 + {_move("shares.p0", "held.held_before", "shares.max_shares")} AS open_price
FROM held JOIN shares USING (a)
"""
)

# The holdings with the price each paid: the k-th holder of an artist, in time,
# paid the listing price plus the moves of the k - 1 buys before.
SEED_BUY = text(
    f"""
CREATE TEMP TABLE seed_buy ON COMMIT DROP AS
SELECT ranked.q, ranked.a, ranked.b, ranked.key, ranked.since,
    m.p0 + {_move("m.p0", "ranked.before", "m.max_shares")} AS price
FROM (
    SELECT h.*, row_number() OVER (PARTITION BY h.a ORDER BY h.since, h.q) - 1 AS before
    FROM seed_holding h
) ranked
JOIN (
    SELECT sm.a, sm.max_shares, s.p0 FROM seed_market sm JOIN seed_artist s USING (a)
    WHERE sm.d = :days
) m USING (a)
"""
)

# Round trips: about :round_trips per holding, by its holder, each in a slot of
# its own of the player's trading day (so a player's never overlap), bought at the
# day's opening price and sold at 98 % of it minutes later. A player's losses so
# far plus the next buy never exceed the reserve their holdings left.
SEED_ROUND_TRIP = text(
    f"""
CREATE TEMP TABLE seed_round_trip ON COMMIT DROP AS
WITH wanted AS (
    SELECT b.q, b.key * 16 + n AS key  -- n <= 11: round_trips <= 10
    FROM seed_buy b
    CROSS JOIN LATERAL generate_series(1, floor(:round_trips + {_u("b.key", S_RT_COUNT)})::int) n
), planned AS (
    SELECT q, key, {_artist_rank("key", S_RT_MIX, S_RT_RANK)} AS a,
        floor({_u("key", S_RT_DAY)} * (:days + 1))::int AS e,
        row_number() OVER (PARTITION BY q ORDER BY key) - 1 AS j
    FROM wanted
), priced AS (
    SELECT p.q, p.a, p.key, m.open_price AS buy_price,
        greatest(1, round(m.open_price * 98 / 100.0::float8))::bigint AS sell_price,
        {_at(":first_day + p.e")} + interval '1 hour'
            + ((p.j + floor({_u("p.q", S_RT_OFFSET)} * {ROUND_TRIP_SLOTS})::int)
                % {ROUND_TRIP_SLOTS}) * (interval '21 hours' / {ROUND_TRIP_SLOTS})
            + {_u("p.key", S_RT_TIME)} * interval '500 seconds' AS buy_at
    FROM planned p
    JOIN seed_market m ON m.a = p.a AND m.d = p.e
    WHERE p.j < {ROUND_TRIP_SLOTS}
        AND m.max_shares - m.holders >= {ROUND_TRIP_HEADROOM}
        AND NOT EXISTS (SELECT 1 FROM seed_holding h WHERE h.q = p.q AND h.a = p.a)
), afforded AS (
    SELECT *, buy_price + coalesce(sum(buy_price - sell_price) OVER (PARTITION BY q
        ORDER BY buy_at ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS exposure
    FROM priced
)
SELECT q, a, buy_price, sell_price, buy_at,
    buy_at + interval '30 seconds' + {_u("key", S_RT_HOLD)} * interval '600 seconds' AS sell_at
FROM afforded
WHERE exposure <= :reserve
"""
)

# --- the game's tables -------------------------------------------------------------

INSERT_ARTISTS = text(
    """
INSERT INTO artists (mbid, name, price, max_shares, holders, last_close_price,
    last_listeners, last_playcount, listed_on, last_closed_on)
SELECT s.mbid, s.name, m.price, m.max_shares, m.holders,
    CASE WHEN :days > 0 THEN m.price ELSE s.p0 END,
    s.listeners, s.playcount, :first_day, CASE WHEN :days > 0 THEN CAST(:last_day AS date) END
FROM seed_artist s JOIN seed_market m ON m.a = s.a AND m.d = :days
ORDER BY s.mbid
"""
)

INSERT_HISTORY = text(
    """
INSERT INTO history (mbid, day, price, points, dividend)
SELECT s.mbid, sd.day, CASE WHEN sd.d = 0 THEN s.p0 ELSE m.price END, sd.points, sd.dividend
FROM seed_day sd
JOIN seed_artist s USING (a)
JOIN seed_market m ON m.a = sd.a AND m.d = sd.d
ORDER BY s.mbid, sd.d
"""
)

INSERT_HOLDINGS = text(
    f"""
INSERT INTO holdings (player, mbid, price_paid, since)
SELECT {_name("b.q")}, s.mbid, b.price, b.since
FROM seed_buy b JOIN seed_artist s USING (a)
ORDER BY b.q, s.mbid
"""
)

# Ids in time order, as the game hands them out.
INSERT_TRADES = text(
    f"""
INSERT INTO trades (id, player, mbid, side, price, at, quote_id)
SELECT row_number() OVER (ORDER BY t.at, t.q, t.side, s.mbid), {_name("t.q")}, s.mbid, t.side,
    t.price, t.at, ''
FROM (
    SELECT q, a, 'buy' AS side, price, since AS at FROM seed_buy
    UNION ALL SELECT q, a, 'buy', buy_price, buy_at FROM seed_round_trip
    UNION ALL SELECT q, a, 'sell', sell_price, sell_at FROM seed_round_trip
) t
JOIN seed_artist s USING (a)
ORDER BY t.at, t.q, t.side, s.mbid
"""
)

# A close pays its artists in MBID order over its first half hour (22:00 UTC).
CLOSE_STARTS = "interval '22 hours'"
CLOSE_TAKES = "interval '30 minutes'"

# Every trade's entry (a buy costs its price, a sale pays it; the reference is the
# MBID, as trading.py writes it), and the dividends of the closes: one per holder
# of record (a holding bought before that close) of an artist that paid one.
INSERT_LEDGER = text(
    f"""
INSERT INTO ledger (id, player, amount, kind, at, reference)
SELECT row_number() OVER (ORDER BY e.at, e.player, e.kind, e.reference), e.player, e.amount,
    e.kind, e.at, e.reference
FROM (
    SELECT player, CASE side WHEN 'buy' THEN -price ELSE price END AS amount, side AS kind, at,
        mbid::text AS reference
    FROM trades
    UNION ALL
    SELECT {_name("b.q")}, sd.dividend, 'dividend',
        {_at("sd.day")} + {CLOSE_STARTS} + {CLOSE_TAKES} * s.close_order / :artists,
        s.mbid || ':' || to_char(sd.day, 'YYYY-MM-DD')
    FROM seed_buy b
    JOIN seed_day sd ON sd.a = b.a AND sd.d >= greatest(b.b, 1) AND sd.dividend > 0
    JOIN seed_artist s ON s.a = b.a
) e
ORDER BY e.at, e.player, e.kind, e.reference
"""
)

# Money from the ledger itself; points from the closes each holding saw. Every
# holder was paid at the latest close (no holding is younger), so points_day is
# that close for them and NULL for the players who never held at a close.
INSERT_PLAYERS = text(
    f"""
INSERT INTO players (name, league, money, created_at, trades_made, points_all_time,
    points_daily, points_weekly, points_monthly, points_day)
SELECT named.name, {_league("named.q")},
    {STARTING_MONEY} + coalesce(ledger.total, 0),
    {_at(":first_day")} + {_u("named.q", S_CREATED)} * interval '1 hour',
    coalesce(traded.trades, 0),
    coalesce(points.all_time, 0), coalesce(points.daily, 0), coalesce(points.weekly, 0),
    coalesce(points.monthly, 0),
    CASE WHEN :days > 0 AND points.q IS NOT NULL THEN CAST(:last_day AS date) END
FROM (SELECT q, {_name("q")} AS name FROM generate_series(1, :players) q) named
LEFT JOIN (SELECT player, sum(amount) AS total FROM ledger GROUP BY player) ledger
    ON ledger.player = named.name
LEFT JOIN (SELECT player, count(*) AS trades FROM trades GROUP BY player) traded
    ON traded.player = named.name
LEFT JOIN (
    SELECT b.q, sum(sd.points_from) AS all_time, sum(sd.last_points) AS daily,
        sum(coalesce(sd.week_points_from, 0)) AS weekly,
        sum(coalesce(sd.month_points_from, 0)) AS monthly
    FROM seed_buy b JOIN seed_day sd ON sd.a = b.a AND sd.d = greatest(b.b, 1)
    GROUP BY b.q
) points ON points.q = named.q
ORDER BY named.q
"""
)

# first_trade at the first trade; collector at the first moment 10 artists were
# held (holdings only accumulate, and a player has one round trip open at most, so
# only players with 9 holdings or more can get there).
INSERT_TROPHIES = text(
    f"""
INSERT INTO trophies (player, uid, awarded_at)
WITH busy AS (
    SELECT q FROM seed_buy GROUP BY q HAVING count(*) >= 9
), held AS (
    SELECT q, at, sum(step) OVER (PARTITION BY q ORDER BY at, step
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS held
    FROM (
        SELECT q, since AS at, 1 AS step FROM seed_buy JOIN busy USING (q)
        UNION ALL SELECT q, buy_at, 1 FROM seed_round_trip JOIN busy USING (q)
        UNION ALL SELECT q, sell_at, -1 FROM seed_round_trip JOIN busy USING (q)
    ) event
)
SELECT player, uid, at FROM (
    SELECT player, 'first_trade' AS uid, min(at) AS at FROM trades GROUP BY player
    UNION ALL
    SELECT {_name("q")}, 'collector', min(at) FROM held WHERE held >= 10 GROUP BY q
) awarded
ORDER BY player, uid
"""
)

# One finished close per day; the cut-off at its start, N and L_top of the seed.
INSERT_CLOSES = text(
    f"""
INSERT INTO closes (day, started_at, cut_off_at, paid_from, finished_at, artists_closed,
    players, top_listeners)
SELECT day, start, start, start + interval '1 second', start + {CLOSE_TAKES} + interval '1 second',
    :artists, :players, (SELECT max(listeners) FROM seed_artist)
FROM (
    SELECT :first_day + d AS day, {_at(":first_day + d")} + {CLOSE_STARTS} AS start
    FROM generate_series(1, :days) d
) close
"""
)

SET_SEQUENCES = tuple(
    text(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false)"
        f" FROM {table}"
    )
    for table in ("trades", "ledger")
)
