"""At DEBUG, no secret in a log record, a repr or an error, failures included
(issue 15, part 5).

``test_log_secrets.py`` follows a game that works. This one follows the calls
that fail, where a careless message would show what was given: a bad session
key, a forged, altered or expired quote, a refused login token, a database that
cannot be reached or refuses the login, each URL carrying a password. Every
secret is set to a value the test can recognise: the quote secret, the last.fm
API secret (the fake last.fm checks the calls it signs), the database password
(the test server trusts loopback, so the password is sent and ignored), and the
keys datm and last.fm hand out (datm's session key, last.fm's session key). Then
none of them appears in any captured record (message, arguments, traceback), in
the repr of the settings or of anything the injector made (walked through their
attributes), or in the str, repr or arguments of any DatmError raised, nor of
its causes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import postgres_support
import pytest

postgres_support.require_postgres_packages()

import psycopg2  # noqa: E402
from harness import START  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import datm  # noqa: E402
from datm.adapters.clock import ManualClock  # noqa: E402
from datm.adapters.postgres import migrate  # noqa: E402
from datm.domain.errors import DatmError  # noqa: E402
from datm.fake_lastfm import FakeLastfm  # noqa: E402
from datm.services.analytics import AnalyticsService  # noqa: E402
from datm.services.artists import ArtistService  # noqa: E402
from datm.services.audit import AuditService  # noqa: E402
from datm.services.auth import AuthService  # noqa: E402
from datm.services.close import CloseService  # noqa: E402
from datm.services.leagues import LeagueService  # noqa: E402
from datm.services.market import MarketService  # noqa: E402
from datm.services.players import PlayerService  # noqa: E402
from datm.services.trading import TradingService  # noqa: E402
from datm.settings import Settings  # noqa: E402

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
RECORDINGS = ROOT / "tests" / "data" / "lastfm-recordings"
DB_PASSWORD = "Pw-of-the-db-8c1d2e"
LASTFM_SECRET = "Lastfm-secret-of-the-test-5b7e"
QUOTE_SECRET = "Quote-secret-of-the-test-93a1f0"
JOHN_LENNON = "John Lennon"  # recorded, with an MBID, and lists below 20,000
LIBRARIES = ("", "datm", "sqlalchemy", "alembic", "psycopg2", "pylast", "httpx2", "httpcore2")
SERVICES = (
    AuthService,
    ArtistService,
    MarketService,
    TradingService,
    PlayerService,
    LeagueService,
    AnalyticsService,
    CloseService,
    AuditService,
)


@pytest.fixture
def everything(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    for name in LIBRARIES:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def with_password(url: str, **parts: Any) -> str:
    return make_url(url).set(password=DB_PASSWORD, **parts).render_as_string(hide_password=False)


def fetch_one(url: str, sql: str) -> str:
    conn = psycopg2.connect(migrate.normalise_url(url).replace("+psycopg2", ""))
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            row = cursor.fetchone()
            assert row is not None, sql
            return str(row[0])
    finally:
        conn.close()


class Errors:
    """Every DatmError the calls raised; any other exception fails the test."""

    def __init__(self) -> None:
        self.raised: list[DatmError] = []

    def expect(self, call: Callable[[], object]) -> DatmError:
        with pytest.raises(DatmError) as failed:
            call()
        self.raised.append(failed.value)
        return failed.value

    def texts(self) -> Iterator[str]:
        for error in self.raised:
            seen: BaseException | None = error
            while seen is not None:  # the error and every cause behind it
                yield f"{seen} | {seen!r} | {seen.args!r}"
                seen = seen.__cause__ or seen.__context__


def reprs(root: object) -> Iterator[str]:
    """repr of ``root`` and of every object reachable through datm objects'
    attributes and containers. A str or a number is not an object of its own here:
    what counts is whether its holder's repr shows it."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        value = stack.pop()
        if id(value) in seen or isinstance(value, str | bytes | int | float | bool | type(None)):
            continue
        seen.add(id(value))
        if isinstance(value, dict):  # a container's repr is its items'
            stack += list(value.values())
            continue
        if isinstance(value, list | tuple | set | frozenset):
            stack += list(value)
            continue
        yield repr(value)
        if isinstance(value, Settings):  # a pydantic model: its repr is what it shows
            continue
        if type(value).__module__.startswith("datm"):
            if hasattr(value, "__dict__"):
                stack += list(vars(value).values())
            for slot in getattr(type(value), "__slots__", ()):
                if hasattr(value, slot):
                    stack.append(getattr(value, slot))


def test_no_secret_in_any_log_record_repr_or_error_when_calls_fail(
    everything: pytest.LogCaptureFixture,
) -> None:
    errors = Errors()
    with (
        postgres_support.fresh_database("datm_secrets") as plain_url,
        FakeLastfm(RECORDINGS, api_secret=LASTFM_SECRET) as fake,
    ):
        url = with_password(plain_url)
        migrate.upgrade(url)
        config = {
            "DATABASE_URL": url,
            "LASTFM_API_KEY": fake.api_key,
            "LASTFM_API_SECRET": LASTFM_SECRET,
            "LASTFM_URL": fake.url,
            "LASTFM_CA_FILE": str(fake.ca_file),
            "QUOTE_SECRET": QUOTE_SECRET,
        }
        clock = ManualClock(START)
        with datm.open_injector(config, wiring="postgres", clock=clock, environ={}) as injector:
            auth, trading = injector.get(AuthService), injector.get(TradingService)
            players = injector.get(PlayerService)
            link = auth.login_link()
            assert link.token is not None
            fake.authorise(link.token, "RJ")
            login = auth.login(link.token)
            key = login.session_key
            lastfm_key = fetch_one(url, "SELECT lastfm_key FROM sessions")

            quote = trading.quote(key, JOHN_LENNON, "buy")
            payload, signature = quote.token.split(".")
            errors.expect(lambda: trading.buy(key[:-1] + "x", quote.token))  # a bad key
            errors.expect(lambda: players.money(key.upper()))
            errors.expect(lambda: trading.buy(key, f"{payload}.{'0' * 64}"))  # forged
            errors.expect(lambda: trading.sell(key, quote.token))  # the wrong side
            errors.expect(lambda: trading.buy(key, f"{payload[:-2]}AA.{signature}"))  # altered
            trading.buy(key, quote.token)
            errors.expect(lambda: trading.buy(key, quote.token))  # replayed
            late = trading.quote(key, JOHN_LENNON, "sell")
            clock.advance(injector.get(Settings).quote_validity_seconds * 2 * timedelta(seconds=1))
            errors.expect(lambda: trading.sell(key, late.token))  # expired
            errors.expect(lambda: auth.login(link.token))  # a token used already
            errors.expect(lambda: auth.login("0" * 32))  # a token last.fm never issued
            assert auth.check(key) == "RJ"
            assert players.money(key) < 20_000
            made = [injector.get(Settings)] + [injector.get(s) for s in SERVICES]
            shown = [text for thing in made for text in reprs(thing)]
            shown.append(repr(login))

        # A database that cannot be reached, and one that refuses the login.
        for bad_url in (
            with_password(plain_url, port=1),
            with_password(plain_url, database="datm_no_such_database"),
        ):
            settings = Settings(database_url=bad_url, quote_secret=QUOTE_SECRET)
            shown.append(repr(settings))
            shown.append(str(settings))
            with datm.open_injector(settings, wiring="postgres", environ={}) as broken:
                errors.expect(lambda: broken.get(PlayerService).money(key))
                errors.expect(lambda: broken.get(AnalyticsService).counts())
                errors.expect(lambda: broken.get(TradingService).quote(key, JOHN_LENNON, "buy"))
                shown += [t for s in SERVICES for t in reprs(broken.get(s))]
            errors.expect(lambda: migrate.upgrade(bad_url))  # noqa: B023

    secrets = {
        "database password": DB_PASSWORD,
        "last.fm secret": LASTFM_SECRET,
        "quote secret": QUOTE_SECRET,
        "quote secret as hex": QUOTE_SECRET.encode().hex(),
        "datm session key": key,
        "last.fm session key": lastfm_key,
    }
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    records = [  # the line with its traceback and stack, and the raw message and arguments
        f"{formatter.format(r)} | {r.msg!r} | {r.args!r}" for r in everything.records
    ]
    places = {"log record": records, "repr": shown, "error": list(errors.texts())}
    leaks = [
        f"{what} in a {place}: {text[:300]}"
        for place, texts in places.items()
        for text in texts
        for what, secret in secrets.items()
        if secret in text
    ]
    assert leaks == []

    # Not vacuous: the failures happened, were logged at DEBUG, and named what failed.
    codes = [error.code for error in errors.raised]
    assert codes.count("not_authenticated") == 2
    assert codes.count("quote_invalid") == 4
    assert "quote_expired" in codes and "token_refused" in codes
    assert codes.count("database_unavailable") == codes.count("database_refused") == 4, codes
    assert sum(r.levelno == logging.DEBUG for r in everything.records) > 50
    assert any("127.0.0.1" in text for text in errors.texts())
    assert len(shown) > 100
