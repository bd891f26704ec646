"""Sessions remembered by a process end with their player's account."""

from __future__ import annotations

import pytest
from harness import Game

from datm.domain.errors import NotAuthenticated
from datm.services.sessions import SessionChecker


def test_a_remembered_session_of_a_deleted_player_is_refused_as_not_authenticated(
    game: Game,
) -> None:
    first = game.login()
    second = game.login(first.player)  # a second device: another key, same player
    assert game.players.money(second.session_key) == 20_000  # now remembered
    checker = game.get(SessionChecker)
    assert checker.require(second.session_key).player == first.player

    game.players.delete(first.session_key)

    with pytest.raises(NotAuthenticated):
        game.players.money(second.session_key)
    cheapest = game.cheapest(1)[0].mbid
    with pytest.raises(NotAuthenticated):
        game.trading.quote(second.session_key, cheapest, "buy")
    with pytest.raises(NotAuthenticated):
        game.players.money(first.session_key)
