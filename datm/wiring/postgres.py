"""The Postgres wiring, in a module of its own so that the web's wiring never
imports SQLAlchemy or psycopg2."""

from __future__ import annotations

from injector import Module, provider, singleton
from sqlalchemy import Engine

from datm.adapters.postgres.engine import make_engine
from datm.adapters.postgres.market import PostgresMarketLock
from datm.adapters.postgres.quote_secret import StoredQuoteSecret
from datm.adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from datm.adapters.quote_secret import ConfiguredQuoteSecret
from datm.ports.market import MarketLock
from datm.ports.secrets import QuoteSecret
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.settings import Settings


class PostgresModule(Module):
    """The game database on PostgreSQL: the api and analytics. Providers do no IO:
    the engine connects on first use."""

    @singleton
    @provider
    def engine(self, settings: Settings) -> Engine:
        return make_engine(settings)

    @singleton
    @provider
    def uow_factory(self, engine: Engine) -> UnitOfWorkFactory:
        return PostgresUnitOfWorkFactory(engine)

    @singleton
    @provider
    def market_lock(self, engine: Engine, settings: Settings) -> MarketLock:
        return PostgresMarketLock(engine, settings.lock_timeout_seconds)

    @singleton
    @provider
    def quote_secret(self, engine: Engine, settings: Settings) -> QuoteSecret:
        if settings.quote_secret:
            return ConfiguredQuoteSecret(settings.quote_secret)
        return StoredQuoteSecret(engine)
