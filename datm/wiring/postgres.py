"""The Postgres wiring, in a module of its own so that the web's wiring never
imports SQLAlchemy or psycopg2."""

from __future__ import annotations

import logging
from typing import Any

from injector import Module, provider, singleton
from sqlalchemy import Engine, event

from datm.adapters.memory.standings import NoLeaderboard
from datm.adapters.postgres.audit_sql import PostgresAuditChecks
from datm.adapters.postgres.board_source import PostgresLeaderboardSource
from datm.adapters.postgres.close_book import PostgresCloseBook
from datm.adapters.postgres.engine import make_engine
from datm.adapters.postgres.market import PostgresMarketLock
from datm.adapters.postgres.market_reads import PostgresMarketReads
from datm.adapters.postgres.player_reads import PostgresPlayerReads
from datm.adapters.postgres.quote_secret import StoredQuoteSecret
from datm.adapters.postgres.rankings import PostgresArtistRankings
from datm.adapters.postgres.standings import PostgresStandings
from datm.adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from datm.adapters.quote_secret import ConfiguredQuoteSecret
from datm.domain.errors import ProgrammingError
from datm.lifecycle import CLOSED, Resources
from datm.ports.audit import AuditChecks
from datm.ports.close import CloseBook
from datm.ports.leaderboard import Leaderboard, Standings
from datm.ports.market import MarketLock
from datm.ports.market_reads import ArtistRankings, MarketReads
from datm.ports.player_reads import PlayerReads
from datm.ports.secrets import QuoteSecret
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.settings import Settings


class PostgresModule(Module):
    """The game database on PostgreSQL: the api and analytics. Providers do no IO:
    the engine connects on first use."""

    @singleton
    @provider
    def engine(self, settings: Settings, resources: Resources) -> Engine:
        resources.check_open()
        engine = make_engine(settings)
        hide_sql_rows_in_logs(engine)
        refuse_connections_once_closed(engine, resources)
        resources.add("the database pool", engine.dispose)
        return engine

    @singleton
    @provider
    def uow_factory(self, engine: Engine) -> UnitOfWorkFactory:
        return PostgresUnitOfWorkFactory(engine)

    @singleton
    @provider
    def close_book(self, engine: Engine) -> CloseBook:
        return PostgresCloseBook(engine)

    @singleton
    @provider
    def market_reads(self, engine: Engine) -> MarketReads:
        return PostgresMarketReads(engine)

    @singleton
    @provider
    def artist_rankings(self, engine: Engine) -> ArtistRankings:
        return PostgresArtistRankings(engine)

    @singleton
    @provider
    def player_reads(self, engine: Engine) -> PlayerReads:
        return PostgresPlayerReads(engine)

    @singleton
    @provider
    def audit_checks(self, engine: Engine) -> AuditChecks:
        return PostgresAuditChecks(engine)

    @singleton
    @provider
    def standings(self, engine: Engine) -> Standings:
        return PostgresStandings(engine)

    @singleton
    @provider
    def leaderboard(self, engine: Engine, settings: Settings, resources: Resources) -> Leaderboard:
        """Redis sorted sets with ``redis_url``; without, every read counts in SQL."""
        if not settings.redis_url:
            return NoLeaderboard()
        from datm.adapters.redis.client import RedisHealth, address_of, close, connect
        from datm.adapters.redis.leaderboard import RedisLeaderboard

        client = connect(settings.redis_url, settings.redis_timeout_seconds)
        health = RedisHealth(address=address_of(client))
        resources.add("the leaderboard's Redis pool", lambda: close(client, health))
        return RedisLeaderboard(client, health, PostgresLeaderboardSource(engine))

    @singleton
    @provider
    def market_lock(self, engine: Engine, settings: Settings, resources: Resources) -> MarketLock:
        lock = PostgresMarketLock(engine, settings.lock_timeout_seconds)
        # Added after the engine, so closed before its pool is disposed of.
        resources.add("the market lock's connection", lock.close)
        return lock

    @singleton
    @provider
    def quote_secret(self, engine: Engine, settings: Settings) -> QuoteSecret:
        if settings.quote_secret:
            return ConfiguredQuoteSecret(settings.quote_secret)
        return StoredQuoteSecret(engine)


class HideSqlRows(logging.Filter):
    """SQLAlchemy logs every row it reads when its logger is at DEBUG. ``make_engine``
    hides the parameters (``hide_parameters``), not the rows; this filter keeps the
    line ("Row ...") and drops the values. Today the one secret read through
    SQLAlchemy, the stored quote secret, prints as ``<memory at 0x...>`` only
    because psycopg2 hands bytea back as a memoryview; a session read or a
    secret stored as text would not be so lucky."""

    def filter(self, record: logging.LogRecord) -> bool:
        # endswith: a connection's logging_token would prefix the message.
        if isinstance(record.msg, str) and record.msg.endswith("Row %r"):
            record.args = ("(values hidden by datm)",)
        return True


def hide_sql_rows_in_logs(engine: Engine) -> None:
    """Put ``HideSqlRows`` on the very logger ``engine`` logs to, once. A filter, not
    a level or a handler: the program's logging configuration stays as it is.
    Without a ``logging_name`` on the engine that logger is SQLAlchemy's class
    logger, which other engines of the program share: their rows are hidden too."""
    logger: Any = engine.logger
    target: logging.Logger = getattr(logger, "logger", logger)  # an InstanceLogger wraps one
    if not any(isinstance(existing, HideSqlRows) for existing in target.filters):
        target.addFilter(HideSqlRows())


def refuse_connections_once_closed(engine: Engine, resources: Resources) -> None:
    """After ``datm.close``: no new connection (``dispose`` leaves the engine able to
    open a fresh pool), and one a straggler gives back is closed, not pooled."""

    def _refuse(_dialect: Any, _record: Any, _cargs: Any, _cparams: Any) -> None:
        if resources.closed:
            raise ProgrammingError(CLOSED)

    # The refusal must come first: a do_connect listener that connects ends the line
    # (make_engine's, which words connection failures), and dialect events take no
    # ``insert=True``. So the listeners already there are put back behind it.
    earlier = list(engine.dialect.dispatch.do_connect)
    for listener in earlier:
        event.remove(engine, "do_connect", listener)
    event.listen(engine, "do_connect", _refuse)
    for listener in earlier:
        event.listen(engine, "do_connect", listener)

    @event.listens_for(engine, "checkin")
    def _close_late_returns(dbapi_connection: Any, _record: Any) -> None:
        if resources.closed and dbapi_connection is not None:
            dbapi_connection.close()
