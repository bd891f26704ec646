"""A profile's reads on every backend: many holdings, each with its market, counted in
net worth; the newest trades; and on Postgres a fixed number of statements however
many holdings (counted with SQLAlchemy's ``before_cursor_execute``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from harness import Game, statements_sent

from datm.domain.errors import UnknownPlayer
from datm.domain.lastfm import ChartArtist
from datm.domain.player import LedgerKind
from datm.ports.player_reads import PlayerReads
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.services.players import PROFILE_TRADES
from datm.services.results import HoldingView, LoginResult, TradeReceipt, TradeView

HOLDINGS = 6
RICH = 100_000  # money enough for HOLDINGS artists at about 10,000 each


def _holder_of(game: Game, artists: list[ChartArtist]) -> tuple[LoginResult, list[TradeReceipt]]:
    """A new player, paid enough (with its ledger entry) to buy every one of ``artists``."""
    who = game.login()
    with game.get(UnitOfWorkFactory)() as uow:  # type: ignore[type-abstract]
        player = uow.players.get_for_update(who.player)
        uow.ledger.add(player.change_money(RICH, LedgerKind.DIVIDEND, game.clock.now()))
        uow.commit()
    receipts = []
    for artist in artists:
        game.clock.advance(timedelta(minutes=1))  # each holding since its own moment
        receipts.append(game.buy(who, artist.mbid))
    return who, receipts


def test_a_profile_shows_every_holding_with_its_market_and_counts_it_in_net_worth(
    game: Game,
) -> None:
    who, receipts = _holder_of(game, game.cheapest(HOLDINGS))
    game.next_day()
    game.close.run()  # a history point per artist: points and dividends to show
    game.clock.advance(timedelta(hours=1))
    money = game.players.money(who.session_key)

    profile = game.players.profile(who.player)

    markets = [game.market.market_data(r.mbid, player=who.player) for r in receipts]
    assert profile.holdings == tuple(
        HoldingView(m, r.price, r.at) for m, r in zip(markets, receipts, strict=True)
    )
    assert all(h.market.held and h.market.price == h.market.sell_price for h in profile.holdings)
    assert any(h.market.points for h in profile.holdings)
    assert profile.net_worth == money + sum(m.sell_price for m in markets)


def test_a_profile_shows_the_newest_trades_first_with_the_artists_names(game: Game) -> None:
    who = game.login()
    artist = game.cheapest(1)[0]
    made = []
    for _ in range(PROFILE_TRADES // 2 + 2):  # more trades than a profile shows
        game.clock.advance(timedelta(seconds=1))
        made.append(("buy", game.buy(who, artist.mbid)))
        game.clock.advance(timedelta(seconds=1))
        made.append(("sell", game.sell(who, artist.mbid)))

    profile = game.players.profile(who.player)

    newest = [
        TradeView(who.player, artist.mbid, artist.name, side, r.price, r.at)
        for side, r in reversed(made)
    ]
    assert profile.trades == tuple(newest[:PROFILE_TRADES])
    assert profile.holdings == () and profile.net_worth == made[-1][1].money


def test_the_read_port_answers_unknown_player_for_a_missing_player(game: Game) -> None:
    reads = game.get(PlayerReads)  # type: ignore[type-abstract]

    with pytest.raises(UnknownPlayer) as refused:
        reads.profile("nobody-at-all", PROFILE_TRADES)

    assert refused.value.player == "nobody-at-all"


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_profile_on_postgres_is_one_statement_however_many_holdings(game: Game) -> None:
    artists = game.cheapest(HOLDINGS + 1)  # while few players play, one share each
    few, _ = _holder_of(game, artists[:1])
    many, _ = _holder_of(game, artists[1:])
    game.players.profile(few.player)  # first use: the schema check, the PREPARE

    counted = {}
    for who in (few, many):
        with statements_sent(game) as sent:
            profile = game.players.profile(who.player, with_images=False)
        counted[len(profile.holdings)] = len(sent)

    assert counted == {1: 1, HOLDINGS: 1}
    assert game.audit.audit().ok
