"""The in-memory repositories' queries: order, filters and own pending writes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from datm.adapters.memory import InMemoryStore, InMemoryUnitOfWork, InMemoryUnitOfWorkFactory
from datm.adapters.memory.rankings import InMemoryArtistRankings
from datm.domain.artist import Artist, HistoryPoint
from datm.domain.closes import CloseRecord
from datm.domain.errors import QuoteInvalid, UnknownArtist
from datm.domain.periods import Period
from datm.domain.player import Holding, LedgerEntry, LedgerKind, Player
from datm.domain.quotes import Side
from datm.domain.sessions import Session
from datm.domain.trading import Trade

NOW = datetime(2026, 1, 7, 12, 0, tzinfo=UTC)  # a Wednesday
DAY = NOW.date()


def new_player(name: str | None = None, league: str = "bronze") -> Player:
    return Player(name=name or f"p-{uuid.uuid4().hex[:8]}", created_at=NOW, league=league)


def new_artist(price: int = 100, mbid: str | None = None) -> Artist:
    return Artist(
        mbid=mbid or str(uuid.uuid4()),
        name="Some Band",
        price=price,
        max_shares=3,
        last_close_price=price,
        last_listeners=1000,
        last_playcount=10000,
        listed_on=date(2026, 1, 1),
    )


@pytest.fixture
def uow() -> Iterator[InMemoryUnitOfWork]:
    with InMemoryUnitOfWorkFactory(InMemoryStore(lock_timeout=0.2))() as unit:
        yield unit


def test_holders_of_lists_names_in_order(uow: InMemoryUnitOfWork) -> None:
    mbid = str(uuid.uuid4())
    for name in ["zed", "amy", "kim"]:
        player = new_player(name)
        if name != "kim":
            player.holdings[mbid] = Holding(mbid, 10, NOW)
        uow.players.add(player)
    assert uow.players.holders_of(mbid) == ["amy", "zed"]


def test_scores_count_only_the_league_and_the_current_period(uow: InMemoryUnitOfWork) -> None:
    fresh, stale, other = new_player("fresh"), new_player("stale"), new_player("o", "gold")
    fresh.add_points(30, DAY)
    stale.add_points(50, DAY - timedelta(days=14))
    other.add_points(99, DAY)
    for player in (fresh, stale, other):
        uow.players.add(player)
    weekly = uow.players.scores("bronze", Period.WEEKLY, DAY, DAY)
    assert sorted(weekly) == [("fresh", 30), ("stale", 0)]
    assert sorted(uow.players.scores("bronze", Period.ALL_TIME, DAY, DAY)) == [
        ("fresh", 30),
        ("stale", 50),
    ]


def test_artist_pages_are_ordered(uow: InMemoryUnitOfWork) -> None:
    ids = sorted(str(uuid.uuid4()) for _ in range(4))
    for mbid, price in zip(ids, [50, 70, 70, 10], strict=True):
        uow.artists.add(new_artist(price, mbid))
    assert [a.mbid for a in uow.artists.page(None, 2)] == ids[:2]
    assert [a.mbid for a in uow.artists.page(ids[1], 5)] == ids[2:]
    assert set(uow.artists.find_many([ids[0], "missing"])) == {ids[0]}
    assert uow.artists.count() == 4
    with pytest.raises(UnknownArtist):
        uow.artists.get(str(uuid.uuid4()))


def test_tops_by_price_and_by_gain_the_gain_from_the_first_point_on_or_after_since() -> None:
    store = InMemoryStore(lock_timeout=0.2)
    riser, faller, unlisted = new_artist(150), new_artist(80), new_artist(500)
    start = DAY - timedelta(days=3)
    with InMemoryUnitOfWorkFactory(store)() as uow:
        for artist in (riser, faller, unlisted):
            uow.artists.add(artist)
        uow.history.put(HistoryPoint(riser.mbid, start - timedelta(days=1), 10, 0, 0))
        uow.history.put(HistoryPoint(riser.mbid, start, 100, 0, 0))
        uow.history.put(HistoryPoint(riser.mbid, DAY, 140, 7, 3))
        uow.history.put(HistoryPoint(faller.mbid, DAY, 90, 0, 0))
        uow.commit()
    by_price = InMemoryArtistRankings(store).top_by_price(2)
    assert [m.artist.mbid for m in by_price] == [unlisted.mbid, riser.mbid]
    ranked = InMemoryArtistRankings(store).top_by_gain(start, 3)
    assert [(m.artist.mbid, gain) for m, gain in ranked] == [
        (riser.mbid, 50),
        (unlisted.mbid, 0),
        (faller.mbid, -10),
    ]
    assert (ranked[0][0].points, ranked[0][0].dividend, ranked[0][0].held) == (7, 3, False)


def test_trades_queries(uow: InMemoryUnitOfWork) -> None:
    a, b = sorted(str(uuid.uuid4()) for _ in range(2))
    yesterday = NOW - timedelta(days=1)
    trades = [
        Trade("amy", a, Side.BUY, 10, yesterday),
        Trade("bob", b, Side.BUY, 10, NOW),
        Trade("amy", a, Side.SELL, 9, NOW),
        Trade("bob", a, Side.BUY, 11, NOW),
    ]
    for trade in trades[:2]:
        uow.trades.add(trade)
    uow.commit()  # committed and pending trades mix in one order
    for trade in trades[2:]:
        uow.trades.add(trade)
    assert uow.trades.recent(3) == trades[:0:-1]
    assert uow.trades.for_player("amy", 5) == [trades[2], trades[0]]
    assert uow.trades.count_for_player("bob") == 2
    assert uow.trades.most_bought(5, None) == [(a, 2), (b, 1)]
    assert uow.trades.most_bought(5, NOW) == [(a, 1), (b, 1)]
    assert uow.trades.per_day(yesterday.date()) == {yesterday.date(): 1, DAY: 3}
    assert uow.trades.per_day(DAY) == {DAY: 3}


def test_anonymise_keeps_trades_without_the_name(uow: InMemoryUnitOfWork) -> None:
    mbid = str(uuid.uuid4())
    uow.trades.add(Trade("amy", mbid, Side.BUY, 10, NOW))
    uow.commit()
    uow.trades.add(Trade("amy", mbid, Side.SELL, 9, NOW))
    uow.trades.anonymise("amy")
    uow.commit()
    assert uow.trades.count_for_player("amy") == 0
    assert [t.player for t in uow.trades.recent(5)] == [None, None]


def test_ledger_sums_and_forgets(uow: InMemoryUnitOfWork) -> None:
    uow.ledger.add(LedgerEntry("amy", -100, LedgerKind.BUY, NOW))
    uow.commit()
    uow.ledger.add(LedgerEntry("amy", 30, LedgerKind.DIVIDEND, NOW))
    uow.ledger.add(LedgerEntry("bob", 5, LedgerKind.DIVIDEND, NOW))
    assert [e.amount for e in uow.ledger.for_player("amy")] == [-100, 30]
    assert uow.ledger.total("amy") == -70
    uow.ledger.delete_for("amy")
    uow.commit()
    assert uow.ledger.for_player("amy") == []
    assert uow.ledger.total("bob") == 5


def test_history_put_replaces_the_same_day(uow: InMemoryUnitOfWork) -> None:
    mbid = str(uuid.uuid4())
    uow.history.put(HistoryPoint(mbid, DAY, 100, 0, 0))
    uow.history.put(HistoryPoint(mbid, DAY - timedelta(days=1), 90, 1, 1))
    uow.commit()
    uow.history.put(HistoryPoint(mbid, DAY, 120, 3, 2))
    assert [p.price for p in uow.history.for_artist(mbid, DAY - timedelta(days=5))] == [90, 120]
    assert [p.price for p in uow.history.for_artist(mbid, DAY)] == [120]
    assert uow.history.latest(mbid) == HistoryPoint(mbid, DAY, 120, 3, 2)
    assert uow.history.latest(str(uuid.uuid4())) is None


def test_closes_and_leagues(uow: InMemoryUnitOfWork) -> None:
    assert uow.closes.latest_day() is None
    uow.closes.put(CloseRecord(DAY - timedelta(days=1), NOW))
    uow.closes.put(CloseRecord(DAY, NOW))
    uow.closes.put(CloseRecord(DAY, NOW, NOW, 4))
    assert uow.closes.latest_day() == DAY
    record = uow.closes.get(DAY)
    assert record is not None and record.finished and record.artists_closed == 4
    assert [league.uid for league in uow.leagues.all()] == ["bronze", "silver", "gold"]
    assert uow.leagues.find("nope") is None


def test_sessions_end_per_player(uow: InMemoryUnitOfWork) -> None:
    uow.sessions.add(Session("h1", "amy", "k", NOW))
    uow.sessions.add(Session("h2", "bob", "k", NOW))
    uow.commit()
    uow.sessions.delete_for("amy")
    uow.sessions.add(Session("h3", "amy", "k", NOW))
    assert uow.sessions.find("h1") is None
    uow.commit()
    assert [uow.sessions.find(h) is not None for h in ("h1", "h2", "h3")] == [False, True, True]


def test_a_quote_id_is_used_once(uow: InMemoryUnitOfWork) -> None:
    uow.quotes.mark_used("q1", NOW)
    with pytest.raises(QuoteInvalid):
        uow.quotes.mark_used("q1", NOW)
    uow.commit()
    with pytest.raises(QuoteInvalid):
        uow.quotes.mark_used("q1", NOW)
