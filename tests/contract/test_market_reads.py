"""The market's reads of one artist and of the newest trades through the read port
(adapters/*/market_reads.py): the same answers on every backend, a missing artist
refused, and on Postgres one statement per read once prepared (counted with
SQLAlchemy's ``before_cursor_execute``)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from harness import Game, statements_sent

from datm.domain.errors import UnknownArtist
from datm.ports.market_reads import MarketReads


def test_the_read_port_answers_none_or_unknown_artist_for_an_artist_not_listed(
    game: Game,
) -> None:
    reads = game.get(MarketReads)  # type: ignore[type-abstract]
    mbid = str(uuid.uuid4())

    assert reads.market(mbid, None) is None
    with pytest.raises(UnknownArtist) as refused:
        reads.history(mbid, game.clock.today())

    assert refused.value.artist == mbid


def test_an_artist_listed_today_has_one_history_point_and_no_close(game: Game) -> None:
    artist = game.affordable()[0]
    listed = game.market.market_data(artist.mbid)
    reads = game.get(MarketReads)  # type: ignore[type-abstract]

    seen = reads.market(artist.mbid, "nobody-at-all")
    points = reads.history(artist.mbid, game.clock.today())
    later = reads.history(artist.mbid, game.clock.today() + timedelta(days=1))

    assert seen is not None and (seen.points, seen.dividend, seen.held) == (0, 0, False)
    assert seen.artist.price == listed.buy_price
    assert [(p.mbid, p.day, p.price) for p in points] == [
        (artist.mbid, game.clock.today(), listed.buy_price)
    ]
    assert later == []


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_each_market_read_on_postgres_is_one_statement(game: Game) -> None:
    who = game.login()
    artist = game.affordable()[0]
    game.buy(who, artist.mbid)
    reads = {
        "market_data": lambda: game.market.market_data(artist.mbid),
        "market_data for a player": lambda: game.market.market_data(artist.mbid, player=who.player),
        "history": lambda: game.market.history(artist.mbid, 7),
        "recent_trades": lambda: game.market.recent_trades(10),
    }
    for read in reads.values():
        read()  # first use: the schema check, the PREPARE

    counted = {}
    for name, read in reads.items():
        with statements_sent(game) as sent:
            read()
        counted[name] = len(sent)

    assert counted == dict.fromkeys(reads, 1)
