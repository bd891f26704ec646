"""``Settings``: every setting's type and range, checked once, at construction.

A pydantic model rather than pydantic-settings' ``BaseSettings``: ``BaseSettings``
reads the process environment at every construction, and ``Settings(pool_size=1)``
(tests, benchmarks, ``replace``) must be exactly what it says. ``Settings.load``
reads the config object and the environment itself (``sources``), which also
lets it report unknown ``DATM_*`` variables. pydantic does the rest: one pass
that collects every bad field, the bounds, NaN and infinity.

Every construction path validates (``Settings(...)``, ``load``, ``replace``,
``model_validate``, ``model_copy``, ``model_construct``) and fails with datm's
``ConfigurationError`` (``InvalidSettings`` when several settings are bad), never
with pydantic's ``ValidationError``, and never showing a value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import FrozenInstanceError
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import ErrorDetails

from datm.domain.errors import ConfigurationError, InvalidSettings
from datm.settings import rules, sources

# Shown as "<set>" by repr and str: passwords ride in the URLs.
SECRETS = frozenset({"database_url", "redis_url", "quote_secret", "lastfm_api_secret"})
_ORIGINS = "origins"
_PROBLEMS = "problems"
_RANGE = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}
LASTFM_PAIR = "set both (real last.fm) or neither (the offline catalogue)"
DAY = 86_400.0

Whole = Annotated[int, BeforeValidator(rules.whole)]
Number = Annotated[float, BeforeValidator(rules.number)]
DatabaseUrl = Annotated[
    str | None, BeforeValidator(rules.optional_text), AfterValidator(rules.database_url)
]
RedisUrl = Annotated[
    str | None, BeforeValidator(rules.optional_text), AfterValidator(rules.redis_url)
]
LastfmUrl = Annotated[
    str | None, BeforeValidator(rules.optional_text), AfterValidator(rules.lastfm_url)
]
Token = Annotated[str | None, BeforeValidator(rules.optional_text), AfterValidator(rules.token)]
QuoteSecret = Annotated[
    str | None, BeforeValidator(rules.optional_text), AfterValidator(rules.quote_secret)
]
CaFile = Annotated[str | None, BeforeValidator(rules.optional_path), AfterValidator(rules.ca_file)]


def _whole(default: int, low: int, high: int) -> Any:
    return Field(default, ge=low, le=high, description=f"a whole number from {low} to {high}")


def _seconds(default: float, high: float, *, zero: str = "") -> Any:
    """Finite seconds up to ``high``: more than 0, or from 0 when ``zero`` says what
    0 means."""
    days = high / DAY
    unit = "day" if days == 1 else "days"
    top = f"{high:.0f}" if high < DAY else f"{high:.0f} ({days:.0f} {unit})"
    if zero:
        allowed = f"a finite number of seconds from 0 ({zero}) to {top}"
        return Field(default, ge=0.0, le=high, allow_inf_nan=False, description=allowed)
    allowed = f"a finite number of seconds more than 0, at most {top}"
    return Field(default, gt=0.0, le=high, allow_inf_nan=False, description=allowed)


def _cache(default: float) -> Any:
    return _seconds(default, 30 * DAY, zero="do not reuse")


class Settings(BaseModel):
    """datm's settings (config.example.py documents each): frozen, plain types."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    database_url: DatabaseUrl = Field(default=None, description=rules.DATABASE_URL_ALLOWED)
    # SQLAlchemy reads pool_size=0 and max_overflow=-1 as "no limit": never meant.
    pool_size: Whole = _whole(5, 1, 100)
    max_overflow: Whole = _whole(10, 0, 100)
    pool_timeout_seconds: Number = _seconds(10.0, 300.0)
    lastfm_api_key: Token = Field(default=None, description=rules.KEY_ALLOWED)
    lastfm_api_secret: Token = Field(
        default=None, description="text without spaces or control characters, with LASTFM_API_KEY"
    )
    lastfm_url: LastfmUrl = Field(default=None, description=rules.LASTFM_URL_ALLOWED)
    lastfm_ca_file: CaFile = Field(default=None, description=rules.CA_FILE_ALLOWED)
    lastfm_timeout_seconds: Number = _seconds(10.0, 120.0)
    lastfm_retries: Whole = _whole(4, 0, 10)
    # rate_item counts in whole requests per whole seconds, at most a minute's worth.
    lastfm_rate_per_second: Number = Field(
        default=5.0,
        ge=1 / 60,
        le=1000.0,
        allow_inf_nan=False,
        description="a finite number of requests per second from 1/60 (one a minute) to 1000",
    )
    # With Redis: each process's own share of the rate while Redis is down
    # (datm.adapters.redis.rate_limit argues the default: up to 4 processes stay
    # within the rate). Not below 0.001, a thousand processes' share.
    lastfm_fallback_share: Number = Field(
        default=0.25,
        ge=0.001,
        le=1.0,
        allow_inf_nan=False,
        description="a finite fraction of LASTFM_RATE_PER_SECOND from 0.001 to 1",
    )
    lastfm_cache_artist_seconds: Number = _cache(3600.0)
    lastfm_cache_correction_seconds: Number = _cache(86400.0)
    lastfm_cache_similar_seconds: Number = _cache(86400.0)
    lastfm_cache_search_seconds: Number = _cache(600.0)
    lastfm_cache_chart_seconds: Number = _cache(3600.0)
    lastfm_cache_user_seconds: Number = _cache(300.0)
    lastfm_cache_max_entries: Whole = _whole(10_000, 1, 10_000_000)
    redis_url: RedisUrl = Field(default=None, description=rules.REDIS_URL_ALLOWED)
    redis_timeout_seconds: Number = _seconds(0.25, 60.0)
    quote_secret: QuoteSecret = Field(default=None, description=rules.QUOTE_SECRET_ALLOWED)
    # An hour is already far more than a price guarantee needs (bench uses one).
    quote_validity_seconds: Number = _seconds(15.0, 3600.0)
    market_lock_timeout_seconds: Number = _seconds(60.0, 3600.0)
    # Postgres counts lock_timeout in whole milliseconds, and 0 there waits forever.
    lock_timeout_seconds: Number = Field(
        default=5.0,
        ge=0.001,
        le=600.0,
        allow_inf_nan=False,
        description="a finite number of seconds from 0.001 (1 ms) to 600",
    )
    session_cache_seconds: Number = _seconds(10.0, 3600.0, zero="never cache")
    # --- the daily close (analytics)
    # Of lastfm_rate_per_second; the api keeps the rest. 1 lets the close take the
    # whole rate while the api is idle: its requests still wait at the shared limit.
    close_lastfm_share: Number = Field(
        default=0.8,
        gt=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="a finite fraction of LASTFM_RATE_PER_SECOND more than 0, at most 1",
    )
    close_fetch_workers: Whole = _whole(8, 1, 64)
    # Payment locks what it writes until it commits, and trades on those rows wait
    # (their lock timeout is 5 s): 100,000 holdings are ~85,000 players for about
    # 1.5 s at full size, 10,000 artists well under a second (docs/PERFORMANCE.md).
    close_pay_holdings: Whole = _whole(100_000, 1, 10_000_000)
    close_pay_batch: Whole = _whole(10_000, 1, 100_000)
    close_outage_seconds: Number = _seconds(600.0, DAY, zero="end at the first outage")
    # --- datm.aio
    # Sync calls running at once, each on a thread of datm.aio's own; more wait in a
    # queue, not as threads. Each thread shares the loop's GIL: more threads than the
    # database pool (POOL_SIZE + MAX_OVERFLOW, 15) only wait for a connection, and
    # lengthen the loop's waits (bench/aio.py; docs/ASYNC.md has the figures).
    aio_max_calls: Whole = _whole(16, 1, 1024)
    # How much lower than the event loop's the worker threads' CPU priority is
    # (Linux; 0 leaves them equal). Threads a call starts inherit it.
    aio_worker_nice: Whole = _whole(10, 0, 19)

    # --- construction ---------------------------------------------------------------

    @classmethod
    def load(
        cls,
        config: object | Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Defaults, then ``config``, then ``DATM_<NAME>`` from ``environ`` (the
        process environment by default). An empty variable unsets an optional
        setting, whatever the config object says."""
        if isinstance(config, Settings):
            config = config.model_dump()
        env = os.environ if environ is None else environ
        found = sources.gather(cls.model_fields, config, env)
        context = {_ORIGINS: found.origins, _PROBLEMS: found.problems}
        return cls.model_validate(found.values, context=context)

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` (field names), validated like any construction."""
        return type(self)(**{**self.model_dump(), **changes})

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Any:
        return self.replace(**(update or {}))  # frozen plain values: deep changes nothing

    @classmethod
    def model_construct(cls, _fields_set: set[str] | None = None, **values: Any) -> Any:
        return cls(**values)  # pydantic's skips validation: not for settings

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"Settings are frozen: use replace({name}=...)")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError("Settings are frozen")

    def __repr_args__(self) -> Any:
        # repr, str and rich's pretty-printing all come from here.
        for name, value in super().__repr_args__():
            yield name, "<set>" if name in SECRETS and value else value

    @model_validator(mode="wrap")
    @classmethod
    def _check(
        cls, data: Any, handler: ModelWrapValidatorHandler[Settings], info: ValidationInfo
    ) -> Settings:
        context = info.context if isinstance(info.context, dict) else {}
        origins: dict[str, str] = context.get(_ORIGINS, {})
        problems: list[ConfigurationError] = list(context.get(_PROBLEMS, []))
        if isinstance(data, Mapping):
            problems += _unpaired(data)
        settings: Settings | None = None
        try:
            settings = handler(data)
        except ValidationError as error:
            problems += [_translate(cls, detail, origins) for detail in error.errors()]
        if problems:
            # Raised outside the except clause: no 40 lines of pydantic's context.
            raise _combined(cls, problems) from None
        assert settings is not None
        return settings


def _present(value: Any) -> bool:
    return value is not None and value != ""


def _unpaired(data: Mapping[str, Any]) -> list[ConfigurationError]:
    """A key without its secret can never work (PylastLastfm refuses to build, at
    the first last.fm call); a secret without a key silently means offline."""
    key, secret = _present(data.get("lastfm_api_key")), _present(data.get("lastfm_api_secret"))
    if key and not secret:
        return [
            ConfigurationError(
                "LASTFM_API_SECRET", "unset, while LASTFM_API_KEY is set", LASTFM_PAIR
            )
        ]
    if secret and not key:
        return [
            ConfigurationError(
                "LASTFM_API_KEY",
                "unset, while LASTFM_API_SECRET is set: datm would use the offline catalogue",
                LASTFM_PAIR,
            )
        ]
    return []


def _translate(
    cls: type[Settings], detail: ErrorDetails, origins: Mapping[str, str]
) -> ConfigurationError:
    name = str(detail["loc"][0]) if detail["loc"] else "settings"
    subject = origins.get(name, "the value")
    kind = detail["type"]
    if kind == "extra_forbidden":
        hint = sources.suggestion(name, cls.model_fields)
        return ConfigurationError(
            name.upper(),
            f"{name} is not a datm setting{hint}",
            "a field of Settings (config.example.py lists them, upper-case)",
        )
    if kind == rules.PROBLEM:
        predicate = detail["msg"]
    elif kind in _RANGE:
        predicate = "out of range"
    elif kind == "finite_number":
        predicate = "not finite (NaN or infinity)"
    else:  # pydantic's own wording; its messages never quote the input
        predicate = f"refused ({detail['msg']})"
    field = cls.model_fields.get(name)
    allowed = field.description if field is not None and field.description else ""
    return ConfigurationError(name.upper(), f"{subject} is {predicate}", allowed)


def _combined(cls: type[Settings], problems: list[ConfigurationError]) -> ConfigurationError:
    order = {name.upper(): index for index, name in enumerate(cls.model_fields)}
    ranked = sorted(problems, key=lambda p: order.get(str(p.fields["setting"]), len(order)))
    return ranked[0] if len(ranked) == 1 else InvalidSettings(tuple(ranked))
