"""datm's error families (consumers.md) and one leaf per reason.

Every leaf carries a stable ``code``, its facts as attributes, and a plain
message an API can show a player. Callers match on type and fields, never text.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DatmError(Exception):
    """Root of every error datm raises to its callers."""

    code: ClassVar[str] = "error"
    family: ClassVar[str] = "error"

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields
        for name, value in fields.items():
            setattr(self, name, value)


class TransientError(DatmError):
    """May pass on a retry: last.fm down, rate limited, market closed, quote expired."""

    code = "transient"
    family = "transient"


class AuthenticationError(DatmError):
    """A bad or missing session key, or last.fm refused the token."""

    code = "authentication"
    family = "authentication"


class DataError(DatmError):
    """Bad input: the request cannot succeed as asked."""

    code = "data"
    family = "data"


class ProgrammingError(DatmError):
    """A bug in datm or in its caller."""

    code = "programming"
    family = "programming"


class ServiceError(DatmError):
    """An outside service refuses outright (for example an invalid API key)."""

    code = "service"
    family = "service"


class LastfmKeyRefused(ServiceError):
    """last.fm refuses the game's own credentials: an invalid or suspended API key
    (errors 10, 26) or a signature made with the wrong secret (13)."""

    code = "lastfm_key_refused"

    def __init__(self, status: int) -> None:
        super().__init__(
            f"last.fm refused the game's API key or secret (error {status}): "
            "check LASTFM_API_KEY and LASTFM_API_SECRET",
            status=status,
        )


class LastfmRefused(ServiceError):
    """last.fm refuses a call outright for a reason datm has no leaf for."""

    code = "lastfm_refused"

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(
            f"last.fm refused the call (error {status}: {reason})", status=status, reason=reason
        )


class ConfigurationError(ProgrammingError):
    """A setting is missing, malformed or out of range, or what it names refuses datm
    outright (no such database or role, a bad password, an unreadable CA file): no
    retry can fix it, an operator must. ``setting`` names it, ``allowed`` says what
    would be accepted. The message never carries the setting's value: it may be a
    secret."""

    code = "configuration"

    def __init__(self, setting: str, problem: str, allowed: str = "") -> None:
        shown = f" (allowed: {allowed})" if allowed else ""
        message = f"setting {setting}: {problem}{shown}"
        super().__init__(message, setting=setting, problem=problem, allowed=allowed)


class CapabilityError(ProgrammingError):
    """The wiring lacks what the call needs; ``missing`` names the setting.

    A programming error: a program that calls a database service in a wiring
    without a database has been wired wrongly.
    """

    code = "capability_missing"

    def __init__(self, capability: str, missing: str) -> None:
        super().__init__(
            f"this datm configuration has no {capability}: set {missing} to use it",
            capability=capability,
            missing=missing,
        )


# --- transient ---------------------------------------------------------------


class MarketClosed(TransientError):
    code = "market_closed"

    def __init__(self) -> None:
        super().__init__("the market is closed for the daily close; try again shortly")


class QuoteExpired(TransientError):
    code = "quote_expired"

    def __init__(self, expired_at: str) -> None:
        super().__init__(
            "this price guarantee has expired; ask for a new one", expired_at=expired_at
        )


class Busy(TransientError):
    """Retries of a conflicting transaction ran out."""

    code = "busy"

    def __init__(self, attempts: int) -> None:
        super().__init__("the game is busy; please try again", attempts=attempts)


class MarketLockBusy(TransientError):
    """The close could not take the market lock in time: trades in flight, or
    another close holding it."""

    code = "market_lock_busy"

    def __init__(self, timeout: float) -> None:
        super().__init__(
            f"the market lock could not be taken within {timeout} s; try again", timeout=timeout
        )


class LastfmUnavailable(TransientError):
    code = "lastfm_unavailable"

    def __init__(self, reason: str) -> None:
        super().__init__(f"last.fm cannot be reached right now ({reason})", reason=reason)


class Conflict(TransientError):
    """Internal: a transaction lost a race. Only ``retry_on_conflict`` should see it."""

    code = "conflict"

    def __init__(self, reason: str) -> None:
        super().__init__(f"transaction conflict: {reason}", reason=reason)


# --- authentication ----------------------------------------------------------


class NotAuthenticated(AuthenticationError):
    code = "not_authenticated"

    def __init__(self) -> None:
        super().__init__("please log in again: the session is missing, unknown or ended")


class TokenRefused(AuthenticationError):
    code = "token_refused"

    def __init__(self) -> None:
        super().__init__("last.fm did not accept this login; please log in again")


class LastfmSessionRefused(AuthenticationError):
    """last.fm no longer accepts a user's session key (revoked, or never valid)."""

    code = "lastfm_session_refused"

    def __init__(self) -> None:
        super().__init__("last.fm no longer accepts this login; please log in again")


# --- data --------------------------------------------------------------------


class InvalidInput(DataError):
    code = "invalid_input"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"invalid {field}: {problem}", field=field, problem=problem)


class UnknownArtist(DataError):
    code = "unknown_artist"

    def __init__(self, artist: str) -> None:
        super().__init__(f"no artist called {artist!r} is known", artist=artist)


class NoMbid(DataError):
    code = "no_mbid"

    def __init__(self, artist: str) -> None:
        super().__init__(f"{artist!r} has no MusicBrainz id, so it cannot be traded", artist=artist)


class UnknownPlayer(DataError):
    code = "unknown_player"

    def __init__(self, player: str) -> None:
        super().__init__(f"no player called {player!r}", player=player)


class UnknownLeague(DataError):
    code = "unknown_league"

    def __init__(self, league: str) -> None:
        super().__init__(f"no league called {league!r}", league=league)


class NotEnoughMoney(DataError):
    code = "not_enough_money"

    def __init__(self, needed: int, available: int) -> None:
        super().__init__(
            f"not enough money: this costs {needed} and you have {available}",
            needed=needed,
            available=available,
        )


class NoneRemaining(DataError):
    code = "none_remaining"

    def __init__(self, mbid: str) -> None:
        super().__init__("no rights to this artist remain for sale", mbid=mbid)


class AlreadyHeld(DataError):
    code = "already_held"

    def __init__(self, mbid: str) -> None:
        super().__init__("you already hold this artist", mbid=mbid)


class NotHeld(DataError):
    code = "not_held"

    def __init__(self, mbid: str) -> None:
        super().__init__("you do not hold this artist", mbid=mbid)


class QuoteInvalid(DataError):
    code = "quote_invalid"

    def __init__(self, reason: str) -> None:
        super().__init__(f"this price guarantee is not valid ({reason})", reason=reason)


# --- the game database refuses datm (configuration: no retry fixes these) ------


class DatabaseRefused(ConfigurationError):
    """The database server, or the way to it, refuses datm for a reason no retry
    fixes: no such database or role, a refused or missing password, no pg_hba.conf
    entry, a CA file that is missing or does not vouch for the server, SSL required
    but not offered, a host name DNS does not know, a bad connection option.
    ``reason`` is a stable token (``no_database``, ``no_role``, ``bad_password``,
    ``no_password``, ``not_allowed``, ``ca_file``, ``certificate``, ``ssl``,
    ``unknown_host``, ``bad_option``); ``server`` says where (host:port), never
    with the password."""

    code = "database_refused"

    def __init__(self, reason: str, server: str, problem: str) -> None:
        super().__init__("DATABASE_URL", problem)
        self.reason = reason
        self.server = server
        self.fields.update(reason=reason, server=server)


class SchemaBehind(ConfigurationError):
    """The game database was never migrated (``revision`` None), or is at a revision
    older than the ``head`` this datm needs: an operator runs ``datm db upgrade``."""

    code = "schema_behind"

    def __init__(self, database: str, revision: str | None, head: str) -> None:
        state = f"is at revision {revision}" if revision else "was never migrated"
        super().__init__(
            "DATABASE_URL",
            f"the database {database} {state}, this datm needs revision {head}: "
            "run `datm db upgrade`",
        )
        self.database, self.revision, self.head = database, revision, head
        self.fields.update(database=database, revision=revision, head=head)


class SchemaAhead(ConfigurationError):
    """The game database is at a revision this datm does not know: a newer datm
    migrated it. This one must be upgraded (the database is never downgraded for it)."""

    code = "schema_ahead"

    def __init__(self, database: str, revision: str, head: str) -> None:
        super().__init__(
            "DATABASE_URL",
            f"the database {database} is at revision {revision}, unknown to this datm "
            f"(its newest is {head}): this datm is older than the database; upgrade datm",
        )
        self.database, self.revision, self.head = database, revision, head
        self.fields.update(database=database, revision=revision, head=head)


# --- several bad settings at once (datm.settings) -------------------------------


class InvalidSettings(ConfigurationError):
    """More than one setting is bad: datm checks them all before refusing any, so an
    operator fixes everything in one go. ``problems`` holds one ``ConfigurationError``
    per bad setting; ``setting`` names them all, comma-separated. Like every
    ConfigurationError, the message never carries a value."""

    code = "invalid_settings"

    def __init__(self, problems: tuple[ConfigurationError, ...]) -> None:
        names = [str(problem.fields["setting"]) for problem in problems]
        listed = "".join(f"\n  {problem.message}" for problem in problems)
        DatmError.__init__(
            self,
            f"{len(problems)} settings are bad:{listed}",
            setting=", ".join(names),
            problem=f"{len(problems)} settings are bad",
            allowed="",
            problems=problems,
        )
