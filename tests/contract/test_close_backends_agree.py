"""The close gives the same results on Postgres's set-based payment as on the
memory store's, on the same hypothesis-generated game: players, holdings bought
and sold before the cut-off, trades, resets and deletions after it, over one or
two days, some artists paid per batch."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import backends
import pytest
from harness import START, Game
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_close_service import closing

from datm.adapters.clock import ManualClock
from datm.adapters.offline.lastfm import OfflineLastfm
from datm.domain.errors import DataError, TransientError
from datm.ports.lastfm import LastfmPort
from datm.services.results import CloseProgress, CloseReport, CloseStep

pytestmark = pytest.mark.postgres

PLAYERS = 6
ARTISTS = 5

# (kind, player, artist): kinds "buy", "sell", "reset", "delete".
Action = tuple[str, int, int]
trades = st.tuples(st.sampled_from(["buy", "buy", "sell"]), st.integers(0, PLAYERS - 1),
                   st.integers(0, ARTISTS - 1))  # fmt: skip
after_cut = st.tuples(st.sampled_from(["buy", "sell", "sell", "reset", "delete"]),
                      st.integers(0, PLAYERS - 1), st.integers(0, ARTISTS - 1))  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Day:
    before: list[Action]
    after: list[Action]
    batch: int


days = st.builds(
    Day,
    st.lists(trades, max_size=25),
    st.lists(after_cut, max_size=6),
    st.sampled_from([1, 2, 2000]),
)


class Played:
    """One backend's game, driven by the script; every refusal is part of the game."""

    def __init__(self, backend: str) -> None:
        clock = ManualClock(START)
        injector = backends.build_injector(backend, clock)
        lastfm = injector.get(LastfmPort)  # type: ignore[type-abstract]
        assert isinstance(lastfm, OfflineLastfm)
        self.game = Game(injector, clock, lastfm)
        self.names = [f"player-{i}" for i in range(PLAYERS)]
        self.sessions = {n: self.game.login(n) for n in self.names}
        self.artists = [a.mbid for a in self.game.cheapest(ARTISTS)]
        self.gone: set[str] = set()

    def act(self, actions: list[Action]) -> list[str]:
        outcomes = []
        for kind, p, a in actions:
            name, mbid = self.names[p], self.artists[a]
            who = self.sessions[name]
            if name in self.gone:
                continue
            try:
                if kind == "buy":
                    self.game.buy(who, mbid)
                elif kind == "sell":
                    self.game.sell(who, mbid)
                elif kind == "reset":
                    self.game.players.reset(who.session_key)
                else:
                    self.game.players.delete(who.session_key)
                    self.gone.add(name)
                outcomes.append("ok")
            except (DataError, TransientError) as refused:
                outcomes.append(refused.code)
        return outcomes

    def close(self, day: Day) -> tuple[CloseReport, list[str]]:
        seen: list[str] = []

        def after_the_cut_off(event: CloseProgress) -> None:
            if event.step is CloseStep.CUT_OFF:
                seen.extend(self.act(day.after))

        report = closing(self.game, batch=day.batch).run(on_step=after_the_cut_off)
        return report, seen

    def state(self) -> dict[str, Any]:
        g = self.game
        players = {}
        for name in self.names:
            if name in self.gone:
                continue
            profile = g.players.profile(name, with_images=False)
            ledger = [(e.amount, e.kind, e.reference) for e in g.ledger(name)]
            trophies = sorted(t.uid for t in profile.trophies)
            money = g.players.money(self.sessions[name].session_key)
            held = sorted(h.market.mbid for h in profile.holdings)
            players[name] = (money, profile.points, ledger, trophies, held)
        artists = {m: (g.market.market_data(m), g.market.history(m, 10)) for m in self.artists}
        return {"players": players, "artists": artists, "audit": g.audit.audit().ok}


def untimed(report: CloseReport) -> CloseReport:
    return dataclasses.replace(report, duration_seconds=0.0, trading_refused_seconds=0.0)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(script=st.lists(days, min_size=1, max_size=2))
def test_postgres_and_memory_close_the_same_game_alike(script: list[Day]) -> None:
    played = [Played("memory"), Played("postgres")]
    try:
        for day in script:
            outcomes = [p.act(day.before) for p in played]
            assert outcomes[0] == outcomes[1]
            for p in played:
                p.game.clock.advance(timedelta(days=1))
            closes = [p.close(day) for p in played]
            assert untimed(closes[0][0]) == untimed(closes[1][0])
            assert closes[0][1] == closes[1][1]
            states = [p.state() for p in played]
            assert states[0] == states[1]
            assert states[0]["audit"] is True
    finally:
        backends.close_all()
