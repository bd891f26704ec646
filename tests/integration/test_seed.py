"""``datm dev seed`` on the real server: the generated game is the size asked, and
consistent as the audit, the rules and the services see it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import postgres_support
import pytest

postgres_support.require_postgres_packages()

from click.testing import CliRunner, Result  # noqa: E402
from sqlalchemy import Connection, create_engine, pool, text  # noqa: E402

import datm  # noqa: E402
from datm.adapters.offline.lastfm import OfflineLastfm  # noqa: E402
from datm.adapters.postgres import migrate  # noqa: E402
from datm.adapters.postgres.seed import GameNotEmpty, SeedOptions, SeedReport, seed  # noqa: E402
from datm.cli import main  # noqa: E402
from datm.ports.lastfm import LastfmPort  # noqa: E402
from datm.services.audit import AuditService  # noqa: E402
from datm.services.auth import AuthService  # noqa: E402
from datm.services.market import MarketService  # noqa: E402
from datm.services.players import PlayerService  # noqa: E402
from datm.services.trading import TradingService  # noqa: E402
from datm.settings import Settings  # noqa: E402

pytestmark = pytest.mark.postgres

TODAY = date(2026, 12, 2)  # a Wednesday: the 4 closes span two ISO weeks and two months
OPTIONS = SeedOptions(players=2_000, artists=300, holdings=3_000, days=4, seed=7, today=TODAY)
LAST_CLOSE = TODAY - timedelta(days=1)
QUOTE_SECRET = "seed-test-secret-0123456789abcdef"
SEEDED_TABLES = {
    "players": "name",
    "artists": "mbid",
    "holdings": "player, mbid",
    "trades": "id",
    "ledger": "id",
    "history": "mbid, day",
    "trophies": "player, uid",
    "closes": "day",
}


@pytest.fixture(scope="module")
def game() -> Iterator[tuple[str, SeedReport, dict[str, set[tuple[Any, ...]]]]]:
    """A migrated scratch database seeded once with OPTIONS; the schema as it was
    before the seed."""
    with postgres_support.fresh_database("datm_seed_test") as url:
        migrate.upgrade(url)
        schema = catalogue(url)
        yield url, seed(url, OPTIONS), schema


@pytest.fixture
def url(game: tuple[str, SeedReport, Any]) -> str:
    return game[0]


@pytest.fixture
def scratch() -> Iterator[str]:
    """A migrated, empty scratch database of the test's own."""
    with postgres_support.fresh_database("datm_seed_test") as url:
        migrate.upgrade(url)
        yield url


def rows(url: str, query: str, **params: Any) -> list[Any]:
    engine = create_engine(migrate.normalise_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(query), params))
    finally:
        engine.dispose()


def one(url: str, query: str, **params: Any) -> Any:
    (row,) = rows(url, query, **params)
    return row[0] if len(row) == 1 else row


def catalogue(url: str) -> dict[str, set[tuple[Any, ...]]]:
    """Every constraint and index of the game's tables, as the catalog defines them."""
    return {
        "constraints": set(
            rows(
                url,
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated"
                " FROM pg_constraint WHERE connamespace = 'public'::regnamespace",
            )
        ),
        "indexes": set(
            rows(url, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
        ),
    }


def digest(url: str) -> dict[str, str]:
    """One md5 per seeded table, of its rows in key order."""

    def table_digest(connection: Connection, table: str, key: str) -> str:
        query = f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY {key}), '')) FROM {table} t"
        value: str = connection.execute(text(query)).scalar_one()
        return value

    engine = create_engine(migrate.normalise_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return {
                table: table_digest(connection, table, key) for table, key in SEEDED_TABLES.items()
            }
    finally:
        engine.dispose()


def datm_cli(url: str, *args: str) -> Result:
    result = CliRunner(env={"DATM_DATABASE_URL": url}).invoke(main, ["dev", "seed", *args])
    assert "Traceback" not in result.output
    return result


# --- the game asked for ------------------------------------------------------------


def test_the_counts_are_the_ones_asked_for(url: str, game: tuple[str, SeedReport, Any]) -> None:
    report = game[1]
    counted = {table: one(url, f"SELECT count(*) FROM {table}") for table in SEEDED_TABLES}

    assert counted["players"] == report.counts["players"] == OPTIONS.players
    assert counted["artists"] == report.counts["artists"] == OPTIONS.artists
    assert counted["holdings"] == report.counts["holdings"] == OPTIONS.holdings
    assert counted["history"] == OPTIONS.artists * (OPTIONS.days + 1)  # listing day and closes
    assert counted["closes"] == OPTIONS.days
    sells = one(url, "SELECT count(*) FROM trades WHERE side = 'sell'")
    assert sells > 0
    assert counted["trades"] == OPTIONS.holdings + 2 * sells  # a buy per holding, round trips
    assert {table: report.counts[table] for table in SEEDED_TABLES} == counted


def test_the_audit_passes(url: str) -> None:
    injector = datm.create_injector(
        Settings(database_url=url, quote_secret=QUOTE_SECRET), wiring="postgres"
    )
    try:
        report = injector.get(AuditService).audit()
    finally:
        datm.close(injector)

    assert report.ok, (report.money[:5], report.shares[:5])
    assert (report.players, report.artists) == (OPTIONS.players, OPTIONS.artists)


def test_money_is_20000_plus_the_ledger_and_never_went_below_zero(url: str) -> None:
    off = one(
        url,
        """SELECT count(*) FROM players p
           LEFT JOIN (SELECT player, sum(amount) AS total FROM ledger GROUP BY player) l
               ON l.player = p.name
           WHERE p.money <> 20000 + coalesce(l.total, 0)""",
    )
    lowest = one(
        url,
        """SELECT min(20000 + running) FROM (
               SELECT sum(amount) OVER (PARTITION BY player ORDER BY at, id) AS running
               FROM ledger) r""",
    )

    assert off == 0
    assert lowest >= 0


def test_holders_are_counted_right_and_within_max_shares(url: str) -> None:
    wrong = rows(
        url,
        """SELECT a.mbid, a.holders, count(h.player), a.max_shares FROM artists a
           LEFT JOIN holdings h ON h.mbid = a.mbid
           GROUP BY a.mbid HAVING a.holders <> count(h.player) OR count(h.player) > a.max_shares""",
    )

    assert wrong == []


def test_each_holding_was_bought_by_its_player_and_never_sold_after(url: str) -> None:
    unexplained = one(
        url,
        """SELECT count(*) FROM holdings h
           WHERE NOT EXISTS (
               SELECT 1 FROM trades t WHERE t.player = h.player AND t.mbid = h.mbid
                   AND t.side = 'buy' AND t.price = h.price_paid AND t.at = h.since)
              OR EXISTS (
               SELECT 1 FROM trades t WHERE t.player = h.player AND t.mbid = h.mbid
                   AND t.at > h.since)""",
    )

    assert unexplained == 0


def test_a_player_trades_an_artist_buy_then_sell_in_turn(url: str) -> None:
    """Nobody sells what they do not hold, nor buys what they hold; whoever's last
    trade of an artist is a buy holds it."""
    out_of_turn = one(
        url,
        """SELECT count(*) FROM (
               SELECT side,
                   lag(side, 1, 'sell') OVER (PARTITION BY player, mbid ORDER BY id) AS before
               FROM trades) t
           WHERE side = before""",
    )
    held_by_trades = one(
        url,
        """SELECT count(*) FROM (
               SELECT DISTINCT ON (player, mbid) side FROM trades ORDER BY player, mbid, id DESC) t
           WHERE side = 'buy'""",
    )

    assert out_of_turn == 0
    assert held_by_trades == OPTIONS.holdings


def test_trade_ids_follow_time_and_each_trade_has_its_ledger_entry(url: str) -> None:
    backwards = one(
        url,
        "SELECT count(*) FROM (SELECT at < lag(at) OVER (ORDER BY id) AS back FROM trades) t"
        " WHERE back",
    )
    unmatched = one(
        url,
        """SELECT count(*) FROM trades t
           FULL JOIN (SELECT * FROM ledger WHERE kind IN ('buy', 'sell')) l
               ON l.player = t.player AND l.at = t.at AND l.kind = t.side AND l.reference = t.mbid
               AND l.amount = CASE t.side WHEN 'buy' THEN -t.price ELSE t.price END
           WHERE t.id IS NULL OR l.id IS NULL""",
    )
    trades_made_off = one(
        url,
        """SELECT count(*) FROM players p
           LEFT JOIN (SELECT player, count(*) AS n FROM trades GROUP BY player) t
               ON t.player = p.name
           WHERE p.trades_made <> coalesce(t.n, 0)""",
    )

    assert (backwards, unmatched, trades_made_off) == (0, 0, 0)


def test_dividends_and_points_are_those_of_the_closes_each_holding_saw(url: str) -> None:
    """A holding bought before a close's cut-off (22:00 UTC) was of record at it."""
    of_record = """
        SELECT h.player, hi.day, hi.points, hi.dividend FROM holdings h
        JOIN history hi ON hi.mbid = h.mbid
        JOIN closes c ON c.day = hi.day AND c.cut_off_at > h.since"""
    dividends_off = one(
        url,
        f"""SELECT count(*) FROM (
                SELECT player, sum(dividend) AS due FROM ({of_record}) r GROUP BY player) d
            FULL JOIN (SELECT player, sum(amount) AS paid FROM ledger WHERE kind = 'dividend'
                GROUP BY player) l USING (player)
            WHERE coalesce(d.due, 0) <> coalesce(l.paid, 0)""",
    )
    points_off = rows(
        url,
        f"""SELECT p.name FROM players p
            LEFT JOIN (SELECT player, sum(points) AS all_time,
                    sum(points) FILTER (WHERE day = :last) AS daily,
                    sum(points) FILTER (WHERE date_trunc('week', day)
                        = date_trunc('week', CAST(:last AS date))) AS weekly,
                    sum(points) FILTER (WHERE date_trunc('month', day)
                        = date_trunc('month', CAST(:last AS date))) AS monthly
                FROM ({of_record}) r GROUP BY player) r ON r.player = p.name
            WHERE (p.points_all_time, p.points_daily, p.points_weekly, p.points_monthly)
                    <> (coalesce(r.all_time, 0), coalesce(r.daily, 0), coalesce(r.weekly, 0),
                        coalesce(r.monthly, 0))
               OR p.points_day IS DISTINCT FROM
                   CASE WHEN r.player IS NOT NULL THEN CAST(:last AS date) END""",
        last=LAST_CLOSE,
    )
    references_off = one(
        url,
        """SELECT count(*) FROM ledger WHERE kind = 'dividend'
           AND reference !~ '^[0-9a-f-]{36}:[0-9]{4}-[0-9]{2}-[0-9]{2}$'""",
    )

    assert dividends_off == 0
    assert points_off == []
    assert references_off == 0
    assert one(url, "SELECT count(*) FROM players WHERE points_weekly <> points_all_time") > 0


def test_history_and_closes_run_up_to_yesterday(url: str) -> None:
    days = [
        row[0]
        for row in rows(url, "SELECT day FROM closes WHERE finished_at IS NOT NULL ORDER BY day")
    ]
    first_close = LAST_CLOSE - timedelta(days=OPTIONS.days - 1)
    listing = first_close - timedelta(days=1)
    artists = one(
        url,
        """SELECT count(*) FILTER (WHERE listed_on = :listing AND last_closed_on = :last
                                   AND last_close_price = price AND price >= 1
                                   AND mbid ~ '^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$'),
                  count(*) FROM artists""",
        listing=listing,
        last=LAST_CLOSE,
    )
    per_artist = one(
        url,
        """SELECT count(*) FROM (SELECT mbid, min(day) AS first, count(*) AS n FROM history
               GROUP BY mbid) h WHERE first <> :listing OR n <> :days + 1""",
        listing=listing,
        days=OPTIONS.days,
    )
    listing_points = one(
        url,
        "SELECT count(*) FROM history WHERE day = :d AND (points, dividend) <> (0, 0)",
        d=listing,
    )

    assert days == [first_close + timedelta(days=i) for i in range(OPTIONS.days)]
    assert artists == (OPTIONS.artists, OPTIONS.artists)
    assert (per_artist, listing_points) == (0, 0)


def test_popularity_is_skewed_towards_the_most_listened(url: str) -> None:
    top, median, top_listeners = one(
        url,
        """SELECT max(holders), percentile_disc(0.5) WITHIN GROUP (ORDER BY holders),
                  max(last_listeners) FROM artists""",
    )
    most_listened_holders = one(
        url, "SELECT holders FROM artists ORDER BY last_listeners DESC LIMIT 1"
    )

    assert top >= 10 * max(median, 1)
    assert most_listened_holders == top
    assert 2_500_000 <= top_listeners <= 4_500_000


def test_leagues_have_the_proportions_of_the_full_game(url: str) -> None:
    leagues = dict(rows(url, "SELECT league, count(*) FROM players GROUP BY league"))
    shares = {
        "bronze": 1_000_000 / 1_200_000,
        "silver": 150_000 / 1_200_000,
        "gold": 50_000 / 1_200_000,
    }

    assert set(leagues) == set(shares)
    for league, share in shares.items():
        assert abs(leagues[league] - share * OPTIONS.players) <= 3, leagues


def test_trophies_are_awarded_at_the_trade_that_earned_them(url: str) -> None:
    first_trades_off = one(
        url,
        """SELECT count(*) FROM (SELECT player, min(at) AS at FROM trades GROUP BY player) t
           FULL JOIN (SELECT * FROM trophies WHERE uid = 'first_trade') f USING (player)
           WHERE f.awarded_at IS DISTINCT FROM t.at""",
    )
    collectors = one(
        url,
        """SELECT count(*) FILTER (WHERE h.n >= 10 AND c.player IS NULL) AS missing,
                  count(c.player) AS awarded
           FROM (SELECT player, count(*) AS n FROM holdings GROUP BY player) h
           FULL JOIN (SELECT player FROM trophies WHERE uid = 'collector') c USING (player)""",
    )

    assert first_trades_off == 0
    assert collectors[0] == 0 and collectors[1] > 0


def test_the_schema_is_as_it_was_before_the_seed(game: tuple[str, SeedReport, Any]) -> None:
    url, _, before = game

    assert catalogue(url) == before
    assert migrate.schema_differences(url) == []


def test_a_game_without_history_nor_round_trips(scratch: str) -> None:
    options = SeedOptions(players=500, artists=80, holdings=600, days=0, round_trips=0, today=TODAY)

    report = seed(scratch, options)

    assert report.last_close is None and report.first_day == TODAY - timedelta(days=1)
    assert one(scratch, "SELECT count(*) FROM closes") == 0
    assert one(scratch, "SELECT count(*) FROM history WHERE points = 0 AND dividend = 0") == 80
    assert one(scratch, "SELECT count(*) FROM trades WHERE side = 'buy'") == 600
    assert one(scratch, "SELECT count(*) FROM trades") == 600
    assert (
        one(
            scratch,
            """SELECT count(*) FROM artists WHERE last_closed_on IS NOT NULL
               OR last_close_price <> (SELECT price FROM history h WHERE h.mbid = artists.mbid)""",
        )
        == 0
    )
    assert (
        one(
            scratch,
            "SELECT count(*) FROM players WHERE points_day IS NOT NULL OR points_all_time <> 0",
        )
        == 0
    )
    assert (
        one(
            scratch,
            """SELECT count(*) FROM players p
           LEFT JOIN (SELECT player, sum(amount) AS total FROM ledger GROUP BY player) l
               ON l.player = p.name
           WHERE p.money <> 20000 + coalesce(l.total, 0)""",
        )
        == 0
    )


# --- determinism and the command line -------------------------------------------------


def test_the_same_seed_makes_the_same_game(url: str, scratch: str) -> None:
    seed(scratch, OPTIONS)

    assert digest(scratch) == digest(url)


def test_another_seed_makes_another_game(url: str, scratch: str) -> None:
    seed(scratch, SeedOptions(**{**OPTIONS.__dict__, "seed": 8}))

    assert digest(scratch)["holdings"] != digest(url)["holdings"]


def test_a_game_in_the_database_is_refused_and_left_as_it_was(url: str) -> None:
    before = digest(url)

    with pytest.raises(GameNotEmpty):
        seed(url, OPTIONS)

    assert digest(url) == before


def test_cli_seeds_refuses_a_second_time_and_replaces_with_replace(scratch: str) -> None:
    small = ("--players", "300", "--artists", "60", "--holdings", "400", "--days", "2")

    first = datm_cli(scratch, *small)
    again = datm_cli(scratch, *small)
    replaced = datm_cli(scratch, *small, "--replace", "--seed", "5", "--holdings", "350")

    assert first.exit_code == 0, first.output
    assert "rows written" in first.stdout and "players" in first.stdout
    assert again.exit_code == 2, again.output
    errors = [line for line in again.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "--replace" in errors[0]
    assert replaced.exit_code == 0, replaced.output
    assert one(scratch, "SELECT count(*) FROM holdings") == 350
    assert one(scratch, "SELECT count(*) FROM closes") == 2
    audit = CliRunner(env={"DATM_DATABASE_URL": scratch}).invoke(main, ["audit"])
    assert audit.exit_code == 0, audit.output


def test_cli_refuses_options_that_cannot_fit(scratch: str) -> None:
    result = datm_cli(scratch, "--players", "10", "--artists", "5", "--holdings", "1000")

    assert result.exit_code == 2
    assert result.stderr.startswith("Error:") and "holdings" in result.stderr
    assert one(scratch, "SELECT count(*) FROM players") == 0


# --- the services on the seeded game --------------------------------------------------


def test_the_services_read_and_trade_on_the_seeded_game(scratch: str) -> None:
    seed(scratch, OPTIONS)
    name, held = one(scratch, "SELECT player, mbid FROM holdings ORDER BY player, mbid LIMIT 1")
    money = one(scratch, "SELECT money FROM players WHERE name = :name", name=name)
    # An artist with a share left that the player does not hold and can afford.
    wanted = one(
        scratch,
        """SELECT mbid FROM artists a WHERE holders < max_shares AND price <= :money
               AND NOT EXISTS (SELECT 1 FROM holdings h WHERE h.player = :name AND h.mbid = a.mbid)
           ORDER BY holders DESC, mbid LIMIT 1""",
        name=name,
        money=money,
    )
    injector = datm.create_injector(
        Settings(database_url=scratch, quote_secret=QUOTE_SECRET), wiring="postgres"
    )
    try:
        market = injector.get(MarketService).market_data(held, player=name)
        profile = injector.get(PlayerService).profile(name, with_images=False)
        auth = injector.get(AuthService)
        lastfm = injector.get(LastfmPort)  # type: ignore[type-abstract]
        assert isinstance(lastfm, OfflineLastfm)
        link = auth.login_link()
        assert link.token is not None
        lastfm.authorise(link.token, name)
        login = auth.login(link.token)
        trading = injector.get(TradingService)
        quote = trading.quote(login.session_key, wanted, "buy")
        receipt = trading.buy(login.session_key, quote.token)
        audit = injector.get(AuditService).audit()
    finally:
        datm.close(injector)

    assert market.held and market.price == market.sell_price and market.remaining >= 0
    assert held in {h.market.mbid for h in profile.holdings}
    assert profile.points.all_time == one(
        scratch, "SELECT points_all_time FROM players WHERE name = :name", name=name
    )
    assert not login.is_new and login.money == money
    assert receipt.money == money - quote.price
    assert audit.ok
