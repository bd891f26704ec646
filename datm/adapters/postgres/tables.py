"""The schema. The database guards the game's invariants as the last line of
defence: one holding per player and artist, money >= 0, price >= 1, remaining
>= 0 (holders <= max shares), a quote executes once, and foreign keys."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Connection,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Sequence,
    String,
    Table,
    Text,
    event,
    text,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

TS = DateTime(timezone=True)


def Key(length: int) -> String:
    """An identifier (MBID, player name, quote id, uid...), compared bytewise
    (revision 0007): every index probe and key check on the trade's path compares
    these, and the "C" collation compares with memcmp where the database default
    goes through the C library's locale code. Their order is then also Python's
    ``sorted()`` order, on any server."""
    return String(length, collation="C")


def _artist_checked_at_commit() -> ForeignKey:
    """A holding's or trade's artist, checked at COMMIT (revision 0006). A trade
    locks the artist's row last, to apply its move (unit_of_work.commit); checked
    at the insert, the key's FOR KEY SHARE lock came first, and every concurrent
    buyer of a hot artist joined a multixact on its row."""
    return ForeignKey("artists.mbid", deferrable=True, initially="DEFERRED")


leagues = Table(
    "leagues",
    metadata,
    Column("uid", Key(32), primary_key=True),
    Column("name", Text, nullable=False),
    Column("rank", Integer, nullable=False),
)

players = Table(
    "players",
    metadata,
    Column("name", Key(64), primary_key=True),
    Column("league", Key(32), ForeignKey("leagues.uid"), nullable=False),
    Column("money", BigInteger, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("trades_made", Integer, nullable=False, server_default="0"),
    Column("points_all_time", BigInteger, nullable=False, server_default="0"),
    Column("points_daily", BigInteger, nullable=False, server_default="0"),
    Column("points_weekly", BigInteger, nullable=False, server_default="0"),
    Column("points_monthly", BigInteger, nullable=False, server_default="0"),
    Column("points_day", Date, nullable=True),
    # The player's latest reset or departure, from the sequence below (revision
    # 0008): a close pays a holder of record only if this is not past its cut-off.
    Column("reset_seq", BigInteger, nullable=False, server_default="0"),
    CheckConstraint("money >= 0", name="money_not_negative"),
    Index(None, "league"),
)

artists = Table(
    "artists",
    metadata,
    Column("mbid", Key(36), primary_key=True),
    Column("name", Text, nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("max_shares", Integer, nullable=False),
    Column("holders", Integer, nullable=False, server_default="0"),
    Column("last_close_price", BigInteger, nullable=False),
    Column("last_listeners", BigInteger, nullable=False),
    Column("last_playcount", BigInteger, nullable=False),
    Column("listed_on", Date, nullable=False),
    Column("last_closed_on", Date, nullable=True),
    CheckConstraint("price >= 1", name="price_at_least_one"),
    CheckConstraint("max_shares >= 1", name="max_shares_at_least_one"),
    CheckConstraint("holders >= 0 AND holders <= max_shares", name="remaining_not_negative"),
    CheckConstraint("mbid = lower(mbid)", name="mbid_canonical"),
    Index("ix_artists_price_mbid", text("price DESC"), "mbid"),  # top by price
    # The artists that moved since their last close, by their move (revision 0012):
    # top by gain walks it (adapters/postgres/rankings.py).
    Index(
        "ix_artists_moved",
        text("(price - last_close_price) DESC"),
        "mbid",
        postgresql_where=text("price <> last_close_price"),
    ),
)

holdings = Table(
    "holdings",
    metadata,
    Column("player", Key(64), ForeignKey("players.name", ondelete="CASCADE"), primary_key=True),
    Column("mbid", Key(36), _artist_checked_at_commit(), primary_key=True),
    Column("price_paid", BigInteger, nullable=False),
    Column("since", TS, nullable=False),
    Index(None, "mbid"),
)

trophies = Table(
    "trophies",
    metadata,
    Column("player", Key(64), ForeignKey("players.name", ondelete="CASCADE"), primary_key=True),
    Column("uid", Key(32), primary_key=True),
    Column("awarded_at", TS, nullable=False),
)

history = Table(
    "history",
    metadata,
    Column("mbid", Key(36), ForeignKey("artists.mbid"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("price", BigInteger, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("dividend", BigInteger, nullable=False),
)

trades = Table(
    "trades",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    # SET NULL: deleting a player keeps the trade record, anonymised.
    Column("player", Key(64), ForeignKey("players.name", ondelete="SET NULL"), nullable=True),
    Column("mbid", Key(36), _artist_checked_at_commit(), nullable=False),
    Column("side", String(4), nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("at", TS, nullable=False),
    Column("quote_id", Key(64), nullable=False, server_default=""),
    CheckConstraint("side IN ('buy', 'sell')", name="side_known"),
    CheckConstraint("price >= 1", name="price_at_least_one"),
    Index(None, "player", "id"),
    Index(None, "at"),
    Index(None, "mbid", "side"),
    # A quote executes once: its trade is the record that it was used.
    Index(
        "ux_trades_quote_id",
        "quote_id",
        unique=True,
        postgresql_where=text("quote_id <> ''"),
    ),
)

ledger = Table(
    "ledger",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("player", Key(64), ForeignKey("players.name", ondelete="CASCADE"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("at", TS, nullable=False),
    Column("reference", Text, nullable=False, server_default=""),
    Index(None, "player", "id"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("key_hash", Key(64), primary_key=True),
    Column("player", Key(64), ForeignKey("players.name", ondelete="CASCADE"), nullable=False),
    Column("lastfm_key", Text, nullable=False),
    Column("created_at", TS, nullable=False),
    Index(None, "player"),
)

closes = Table(
    "closes",
    metadata,
    Column("day", Date, primary_key=True),
    Column("started_at", TS, nullable=False),
    Column("finished_at", TS, nullable=True),
    Column("artists_closed", Integer, nullable=False, server_default="0"),
    # The cut-off (revision 0008): when the holders of record were fixed, with the
    # number of players N and the chart top's listeners L_top of that instant.
    Column("cut_off_at", TS, nullable=True),
    Column("players", BigInteger, nullable=True),
    Column("top_listeners", BigInteger, nullable=True),
    # When the first holder was paid: from then on the day is the latest close
    # that the daily point totals count (periods.py).
    Column("paid_from", TS, nullable=True),
    # The reset sequence's value at the cut-off: players reset since are not paid.
    Column("reset_mark", BigInteger, nullable=True),
    # The holders' payment goes by ranges of player names: how many holdings were
    # put on record, how many of them are dealt with, and the last player paid.
    Column("holdings", BigInteger, nullable=True),
    Column("holders_paid", BigInteger, nullable=True),
    Column("holders_paid_through", Key(64), nullable=True),
)

player_resets = Sequence("player_resets", metadata=metadata)
# Grows when a change may have missed the leaderboards' read model (revision 0010).
board_epoch = Sequence("board_epoch", metadata=metadata)

# One row per artist listed at the cut-off: its price and previous numbers then,
# and, once fetched, its fresh numbers and what they pay (or why it keeps its
# previous ones). ``paid`` marks the artists closed (history, closing price, numbers,
# max shares), so a rerun
# pays the rest and nobody twice. Rows of a finished close are deleted but for the
# failures, which say why an artist kept its numbers.
close_artists = Table(
    "close_artists",
    metadata,
    Column("day", Date, primary_key=True),
    Column("mbid", Key(36), primary_key=True),
    Column("price", BigInteger, nullable=False),
    Column("last_listeners", BigInteger, nullable=False),
    Column("last_playcount", BigInteger, nullable=False),
    Column("listeners", BigInteger, nullable=True),
    Column("playcount", BigInteger, nullable=True),
    Column("points", BigInteger, nullable=True),
    Column("dividend", BigInteger, nullable=True),
    Column("max_shares", Integer, nullable=True),
    Column("failure_code", Text, nullable=True),
    Column("failure_reason", Text, nullable=True),
    Column("paid", Boolean, nullable=False, server_default=text("false")),
)
# Each row is updated twice (its numbers, then paid) on no indexed column: room on
# its page keeps both updates HOT, with no index entry and no scan. (A DDL event,
# not Table(postgresql_with=...), which SQLAlchemy before 2.1 does not know.)
CLOSE_ARTISTS_FILLFACTOR = "ALTER TABLE close_artists SET (fillfactor = 30)"


@event.listens_for(close_artists, "after_create")
def _close_artists_fillfactor(target: Table, connection: Connection, **kw: Any) -> None:
    connection.exec_driver_sql(CLOSE_ARTISTS_FILLFACTOR)


# The holders of record: who held which artist at the cut-off. A player who
# reset or left since is known by ``players.reset_seq`` (or is gone). By player
# first: payment takes them in ranges of names, each player once.
close_holders = Table(
    "close_holders",
    metadata,
    Column("day", Date, primary_key=True),
    Column("player", Key(64), primary_key=True),
    Column("mbid", Key(36), primary_key=True),
)

server_secrets = Table(
    "server_secrets",
    metadata,
    Column("name", Key(32), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)

# Market reads (revisions 0009 and 0011, adapters/postgres/trade_summaries.py).
# The trades of a UTC day, summarised by the reads: how many, and each artist's
# buys; ``through`` NULL for a complete day, else the mark a part of a day counts
# up to. The artists ranked by buys over a window from its first day up to its mark.
trade_days = Table(
    "trade_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("trades", BigInteger, nullable=False),
    Column("through", TS),
)

trade_day_artists = Table(
    "trade_day_artists",
    metadata,
    Column("day", Date, primary_key=True),
    Column("mbid", Key(36), primary_key=True),
    Column("buys", BigInteger, nullable=False),
)

trade_windows = Table(
    "trade_windows",
    metadata,
    Column("first_day", Date, primary_key=True),
    Column("mbid", Key(36), primary_key=True),
    Column("buys", BigInteger, nullable=False),
    Index("ix_trade_windows_first_day_buys_mbid", "first_day", text("buys DESC"), "mbid"),
)

trade_windows_built = Table(
    "trade_windows_built",
    metadata,
    Column("first_day", Date, primary_key=True),
    Column("through", TS, nullable=False),
)

# The numbers of players and of listed artists: the sum of ``delta`` per table,
# one row added by a trigger per inserting or deleting statement (revision 0009),
# so no two transactions update one row; the reads fold the rows into one now and
# then.
row_counts = Table(
    "row_counts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("counted", Key(32), nullable=False),
    Column("delta", BigInteger, nullable=False),
    Index(None, "counted"),
)

# Top by gain (revision 0012, adapters/postgres/rankings.py): per window (its
# first day), each artist's last closing price less its first closing price in the
# window, as of the latest finished close (``closed_through``), written by the
# first read after that close.
gain_windows = Table(
    "gain_windows",
    metadata,
    Column("first_day", Date, primary_key=True),
    Column("closed_through", Date, primary_key=True),
    Column("mbid", Key(36), primary_key=True),
    Column("gain", BigInteger, nullable=False),
    Index(
        "ix_gain_windows_first_day_closed_through_gain_mbid",
        "first_day",
        "closed_through",
        text("gain DESC"),
        "mbid",
    ),
)

gain_windows_built = Table(
    "gain_windows_built",
    metadata,
    Column("first_day", Date, primary_key=True),
    Column("closed_through", Date, primary_key=True),
)
