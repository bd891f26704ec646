"""Logging in through last.fm, and checking datm's own session keys."""

from __future__ import annotations

import secrets

from injector import inject

from datm.domain.lastfm import LastfmSession
from datm.domain.player import Player
from datm.domain.sessions import SESSION_KEY_BYTES, Session, hash_session_key
from datm.ports.clock import Clock
from datm.ports.lastfm import LastfmPort
from datm.ports.leaderboard import Leaderboard
from datm.ports.unit_of_work import UnitOfWorkFactory
from datm.services.checks import check_text
from datm.services.results import LoginLink, LoginResult
from datm.services.retry import retry_on_conflict
from datm.services.sessions import SessionChecker

MAX_CALLBACK_LENGTH = 2048


class AuthService:
    @inject
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        lastfm: LastfmPort,
        sessions: SessionChecker,
        clock: Clock,
        board: Leaderboard,
    ) -> None:
        self._uow = uow
        self._lastfm = lastfm
        self._sessions = sessions
        self._clock = clock
        self._board = board

    def api_key(self) -> str:
        return self._lastfm.api_key

    def login_link(self, callback: str | None = None) -> LoginLink:
        """Where to send a user to allow the game: back to ``callback`` with a token
        (web flow), or, without one, for a fresh token that ``login`` then takes."""
        if callback is not None:
            callback = check_text("callback", callback, MAX_CALLBACK_LENGTH)
            return LoginLink(self._lastfm.api_key, self._lastfm.auth_url(callback=callback), None)
        token = self._lastfm.get_token()
        return LoginLink(self._lastfm.api_key, self._lastfm.auth_url(token=token), token)

    def login(self, token: str) -> LoginResult:
        """Exchange last.fm's token for a datm session; the player is created on
        first login with the starting money and league."""
        lastfm_session = self._lastfm.get_session(check_text("token", token))
        return self._open_session(lastfm_session)

    @retry_on_conflict()
    def _open_session(self, lastfm_session: LastfmSession) -> LoginResult:
        key = secrets.token_urlsafe(SESSION_KEY_BYTES)
        now = self._clock.now()
        with self._uow() as uow:
            player = uow.players.find(lastfm_session.user)
            is_new = player is None
            if player is None:
                player = Player(lastfm_session.user, created_at=now)
                uow.players.add(player)
            uow.sessions.add(Session(hash_session_key(key), player.name, lastfm_session.key, now))
            result = LoginResult(player.name, key, is_new, player.league, player.money)
            if is_new:  # a new player joins the league's boards, with 0 points
                with self._board.changing([player.name], self._clock.today()):
                    uow.commit()
            else:
                uow.commit()
        return result

    def check(self, session_key: str) -> str:
        """The player name behind a session key; ``NotAuthenticated`` otherwise."""
        return self._sessions.require(session_key).player
