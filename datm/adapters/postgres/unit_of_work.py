"""The Postgres unit of work: read committed, row locks in a fixed order.

Writers lock what they change with ``SELECT ... FOR UPDATE`` (players before
artists, each in key order, as the services do), so two api processes serving
the same player or artist queue rather than conflict. A trade locks its artist
last of all, with the ``UPDATE`` that applies its move just before ``COMMIT``
(``lock_for_trade``, ``commit``). A deadlock or lock timeout is translated into
``Conflict`` and the service re-runs the whole transaction.
"""

from __future__ import annotations

from sqlalchemy import Engine

from datm.adapters.postgres import hot_sql, schema_check
from datm.adapters.postgres.artists import (
    MOVE_AFTER_BUY,
    OVERSOLD,
    PostgresArtistRepository,
    artist_moves,
    artist_writes,
)
from datm.adapters.postgres.errors import violates
from datm.adapters.postgres.players import (
    INSERT_PLAYER,
    PostgresPlayerRepository,
    deleted_player_writes,
    player_writes,
)
from datm.adapters.postgres.records import (
    PostgresCloseRepository,
    PostgresHistoryRepository,
    PostgresLeagueRepository,
    PostgresLedgerRepository,
    PostgresSessionRepository,
    PostgresTradeRepository,
    PostgresUsedQuoteRepository,
)
from datm.adapters.postgres.trade_writes import as_two_statements
from datm.adapters.postgres.transaction import MARKET_LOCK_KEY, Transaction
from datm.domain.artist import Artist
from datm.domain.errors import (
    NoneRemaining,
    ProgrammingError,
    QuoteInvalid,
    UnknownArtist,
    UnknownPlayer,
)
from datm.domain.player import Player
from datm.ports.market import MarketGate
from datm.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


class PostgresMarketGate(MarketGate):
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def require_open(self) -> None:
        # Rides in front of the next statement; a closed market fails it with
        # SQLSTATE DM001, which errors.translate makes MarketClosed.
        self._tx.gate()


class PostgresUnitOfWork(UnitOfWork):
    def __init__(self, engine: Engine) -> None:
        self._tx = tx = Transaction(engine)
        self._players = self.players = PostgresPlayerRepository(tx)
        self._artists = self.artists = PostgresArtistRepository(tx)
        self.trades = PostgresTradeRepository(tx)
        self.ledger = PostgresLedgerRepository(tx)
        self.history = PostgresHistoryRepository(tx)
        self._quotes = self.quotes = PostgresUsedQuoteRepository(tx)
        self.sessions = PostgresSessionRepository(tx)
        self.closes = PostgresCloseRepository(tx)
        self.leagues = PostgresLeagueRepository(tx)
        self.market = PostgresMarketGate(tx)

    def lock_for_trade(self, player: str, mbid: str) -> tuple[Player, Artist]:
        """One round trip: the player's row lock, then the artist's row with the
        player's row, holdings and trophies, read after that lock was granted.

        The artist's row is not locked here: its change is written at commit as
        the trade's move (holders one up or down, the price moved by the rule of
        that many remaining shares) applied to the row as it is then, in the last
        statement before COMMIT. Many buyers of one artist then queue for its row
        only inside that statement and the commit, not across a round trip to this
        process; the last share is still sold once (the database refuses holders >
        shares)."""
        pending = self._tx.pending
        if player in pending.players or mbid in pending.artists:
            return super().lock_for_trade(player, mbid)
        self._tx.begin()
        # The market gate and the used-quote check, if still to come, ride in the
        # lock and the read: two statements fewer for the server to parse and plan.
        lock = hot_sql.LOCK_PLAYER_GATED if self._tx.take_gate() else hot_sql.LOCK_PLAYER_ONLY
        quote = self._quotes.take_unchecked() or ""
        params = {"mbid": mbid, "player": player, "quote": quote, "market": MARKET_LOCK_KEY}
        rows = self._tx.fetch_after_lock(lock, hot_sql.READ_ARTIST_AND_PLAYER, params)
        if not rows:
            if not self._tx.fetch(hot_sql.PLAYER_EXISTS, params)[0][0]:
                raise UnknownPlayer(player)
            raise UnknownArtist(mbid)
        row = rows[0]
        if row[-1]:
            raise QuoteInvalid("already used")  # as the check's DM002 says it
        artist = self._artists.track(hot_sql.artist_from_row(row))
        self._tx.pending.moving[mbid] = hot_sql.artist_copy(artist)  # as read
        read = row[10:-1]  # PLAYER_READ, then the held artists' prices: PLAYER_EXTRAS' order
        return self._players.track(hot_sql.player_from_row(read), read[10:]), artist

    def read_for_quote(self, player: str, mbid: str) -> tuple[Player, Artist | None]:
        pending = self._tx.pending
        if player in pending.players or mbid in pending.artists:
            return super().read_for_quote(player, mbid)
        rows = self._tx.fetch(hot_sql.FIND_PLAYER_AND_ARTIST, {"player": player, "mbid": mbid})
        if not rows:
            raise UnknownPlayer(player)
        row = rows[0]
        found = hot_sql.read_player(row)
        listed = row[hot_sql.PLAYER_READ_WIDTH :]
        return found, hot_sql.artist_from_row(listed) if listed[0] is not None else None

    def commit(self) -> None:
        tx = self._tx
        player_rows = player_writes(tx)
        new_players = [w for w in player_rows if w[0] is INSERT_PLAYER]
        player_changes = player_rows[len(new_players) :]
        artist_inserts, artist_updates = artist_writes(tx)
        moves = artist_moves(tx)
        writes = [
            *new_players,
            *artist_inserts,
            *player_changes,
            *artist_updates,
            *tx.pending.writes,
            *deleted_player_writes(tx),
            # Last: the artist's row is locked from here to COMMIT. The foreign
            # keys to artists are checked at COMMIT (revision 0006), after the
            # move, so they find the row locked by this transaction: checked at
            # each insert, every concurrent buyer of a hot artist added itself
            # to a multixact on its row (docs/PERFORMANCE.md).
            *moves,
        ]
        try:
            tx.flush_and_commit(as_two_statements(writes))
        except ProgrammingError as error:
            bought = [p["mbid"] for s, p in moves if s is MOVE_AFTER_BUY]
            if bought and violates(error, OVERSOLD):
                raise NoneRemaining(bought[0]) from error  # the last share went meanwhile
            raise
        finally:
            self._forget()

    def rollback(self) -> None:
        if not self._tx.closed:
            self._tx.rollback()
            self._forget()

    def _forget(self) -> None:
        self._tx.forget()

    def close(self) -> None:
        if self._tx.closed:
            return
        try:
            self._tx.rollback()
        finally:
            self._tx.release()


class PostgresUnitOfWorkFactory(UnitOfWorkFactory):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._schema = schema_check.guard(engine)

    def __call__(self) -> UnitOfWork:
        # The schema check of first use: one query per engine, then this test only.
        if not self._schema.verified:
            self._schema.require(self._engine)
        return PostgresUnitOfWork(self._engine)
