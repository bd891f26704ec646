"""Configuration is checked once, at ``create_injector`` (issue 12): every setting's
type and range, unknown DATM_* variables, and no secret in a repr or an error.

URLs and the CA file have tests of their own (test_settings_urls.py)."""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import math
import sys
import traceback
import types
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from hypothesis import given
from hypothesis import strategies as st

import datm.wiring
from datm.domain.errors import (
    ConfigurationError,
    DatmError,
    InvalidInput,
    InvalidSettings,
    ProgrammingError,
)
from datm.services.trading import TradingService
from datm.settings import NOT_SETTINGS, SECRETS, Settings
from datm.wiring import create_injector

ROOT = Path(__file__).resolve().parents[2]
SECRET = "a-quote-secret-of-32-bytes-long!"
LASTFM = {"LASTFM_API_KEY": "public-key", "LASTFM_API_SECRET": "lastfm-shared-secret"}

# What each numeric setting accepts, written out here rather than read from the
# model: (lowest, whether the lowest itself is allowed, highest).
WHOLE: dict[str, tuple[int, int]] = {
    "POOL_SIZE": (1, 100),
    "MAX_OVERFLOW": (0, 100),
    "LASTFM_RETRIES": (0, 10),
    "LASTFM_CACHE_MAX_ENTRIES": (1, 10_000_000),
    "CLOSE_FETCH_WORKERS": (1, 64),
    "CLOSE_PAY_BATCH": (1, 100_000),
    "CLOSE_PAY_HOLDINGS": (1, 10_000_000),
    "AIO_MAX_CALLS": (1, 1024),
    "AIO_WORKER_NICE": (0, 19),
}
CACHE = 30 * 86_400.0
SECONDS: dict[str, tuple[float, bool, float]] = {
    "POOL_TIMEOUT_SECONDS": (0.0, False, 300.0),
    "LASTFM_TIMEOUT_SECONDS": (0.0, False, 120.0),
    "LASTFM_RATE_PER_SECOND": (1 / 60, True, 1000.0),
    "LASTFM_FALLBACK_SHARE": (0.001, True, 1.0),
    "LASTFM_CACHE_ARTIST_SECONDS": (0.0, True, CACHE),
    "LASTFM_CACHE_CORRECTION_SECONDS": (0.0, True, CACHE),
    "LASTFM_CACHE_SIMILAR_SECONDS": (0.0, True, CACHE),
    "LASTFM_CACHE_SEARCH_SECONDS": (0.0, True, CACHE),
    "LASTFM_CACHE_CHART_SECONDS": (0.0, True, CACHE),
    "LASTFM_CACHE_USER_SECONDS": (0.0, True, CACHE),
    "REDIS_TIMEOUT_SECONDS": (0.0, False, 60.0),
    "QUOTE_VALIDITY_SECONDS": (0.0, False, 3600.0),
    "MARKET_LOCK_TIMEOUT_SECONDS": (0.0, False, 3600.0),
    "LOCK_TIMEOUT_SECONDS": (0.001, True, 600.0),
    "SESSION_CACHE_SECONDS": (0.0, True, 3600.0),
    "CLOSE_LASTFM_SHARE": (0.0, False, 1.0),
    "CLOSE_OUTAGE_SECONDS": (0.0, True, 86_400.0),
}
TEXTS = (
    "DATABASE_URL",
    "LASTFM_API_KEY",
    "LASTFM_API_SECRET",
    "LASTFM_URL",
    "LASTFM_CA_FILE",
    "REDIS_URL",
    "QUOTE_SECRET",
)
NAMES = [name.upper() for name in Settings.model_fields]


def refused(config: Any, **kwargs: Any) -> ConfigurationError:
    """The error ``create_injector(config)`` raises; it must raise one."""
    with pytest.raises(ConfigurationError) as caught:
        create_injector(config, environ=kwargs.pop("environ", {}), **kwargs)
    return caught.value


def setting_of(error: ConfigurationError) -> str:
    return str(error.fields["setting"])


def test_the_table_above_covers_every_setting() -> None:
    assert sorted([*WHOLE, *SECONDS, *TEXTS]) == sorted(NAMES)


# --- the issue's cases, through create_injector: they fail at start -------------

ISSUE_CASES: list[tuple[str, object, str]] = [
    ("QUOTE_VALIDITY_SECONDS", math.nan, "not finite"),
    ("QUOTE_VALIDITY_SECONDS", math.inf, "not finite"),
    ("QUOTE_VALIDITY_SECONDS", "nan", "not finite"),
    ("QUOTE_VALIDITY_SECONDS", "inf", "not finite"),
    ("QUOTE_VALIDITY_SECONDS", -15, "out of range"),
    ("POOL_SIZE", -3, "out of range"),
    ("POOL_SIZE", True, "true or false"),
    ("LASTFM_RETRIES", 2.7, "not a whole number"),
    ("QUOTE_SECRET", "too-short", "shorter than 16 bytes"),
    ("DATABASE_URL", "garbage", "not a postgresql:// URL"),
    ("REDIS_URL", "garbage", "not a redis://, rediss:// or unix:// URL"),
]


@pytest.mark.parametrize(("setting", "value", "problem"), ISSUE_CASES)
def test_the_issues_bad_settings_fail_at_create_injector_with_a_short_datm_error(
    setting: str, value: object, problem: str
) -> None:
    config = {"QUOTE_SECRET": SECRET, setting: value}

    error = refused(config, wiring="memory")

    assert setting_of(error) == setting
    assert problem in str(error.fields["problem"])
    assert error.fields["allowed"] and f"(allowed: {error.fields['allowed']})" in str(error)
    assert isinstance(error, ProgrammingError) and type(error) is ConfigurationError
    # No pydantic, SQLAlchemy or redis error chained, and a few frames, not 40 lines.
    assert error.__cause__ is None and error.__context__ is None
    assert len(traceback.extract_tb(error.__traceback__)) <= 6


# The daily close's settings (issue 13): defaults, the environment, what is allowed.
CLOSE_DEFAULTS: dict[str, float] = {
    "CLOSE_LASTFM_SHARE": 0.8,
    "CLOSE_FETCH_WORKERS": 8,
    "CLOSE_PAY_BATCH": 10_000,
    "CLOSE_PAY_HOLDINGS": 100_000,
    "CLOSE_OUTAGE_SECONDS": 600.0,
}


def test_aio_settings_default_as_measured_and_come_from_the_environment() -> None:
    defaults = Settings.load(None, environ={})
    assert (defaults.aio_max_calls, defaults.aio_worker_nice) == (16, 10)
    loaded = Settings.load(
        {"AIO_MAX_CALLS": 8, "AIO_WORKER_NICE": 3},
        environ={"DATM_AIO_MAX_CALLS": "64", "DATM_AIO_WORKER_NICE": "0"},
    )
    assert (loaded.aio_max_calls, loaded.aio_worker_nice) == (64, 0)


def test_the_close_settings_default_as_the_issue_says() -> None:
    settings = Settings.load(None, environ={})

    assert {name: getattr(settings, name.lower()) for name in CLOSE_DEFAULTS} == CLOSE_DEFAULTS


@pytest.mark.parametrize(
    ("variable", "text", "expected"),
    [
        ("DATM_CLOSE_LASTFM_SHARE", "0.5", 0.5),
        ("DATM_CLOSE_LASTFM_SHARE", "1", 1.0),
        ("DATM_CLOSE_FETCH_WORKERS", "16", 16),
        ("DATM_CLOSE_PAY_BATCH", " 500 ", 500),
        ("DATM_CLOSE_OUTAGE_SECONDS", "0", 0.0),
        ("DATM_CLOSE_OUTAGE_SECONDS", "1800", 1800.0),
    ],
)
def test_the_close_settings_come_from_the_environment_over_the_config(
    variable: str, text: str, expected: float
) -> None:
    name = variable.removeprefix("DATM_")
    config = {name: CLOSE_DEFAULTS[name]}

    value = getattr(Settings.load(config, environ={variable: text}), name.lower())

    assert value == expected and type(value) is type(CLOSE_DEFAULTS[name])


@pytest.mark.parametrize(
    ("setting", "value", "problem", "allowed"),
    [
        ("CLOSE_LASTFM_SHARE", 0, "out of range", "more than 0, at most 1"),
        ("CLOSE_LASTFM_SHARE", "1.5", "out of range", "more than 0, at most 1"),
        ("CLOSE_LASTFM_SHARE", "nan", "not finite", "more than 0, at most 1"),
        ("CLOSE_FETCH_WORKERS", 0, "out of range", "from 1 to 64"),
        ("CLOSE_FETCH_WORKERS", "65", "out of range", "from 1 to 64"),
        ("CLOSE_FETCH_WORKERS", 8.0, "not a whole number", "from 1 to 64"),
        ("AIO_MAX_CALLS", 0, "out of range", "from 1 to 1024"),
        ("AIO_MAX_CALLS", True, "not a whole number", "from 1 to 1024"),
        ("AIO_WORKER_NICE", 20, "out of range", "from 0 to 19"),
        ("AIO_WORKER_NICE", -1, "out of range", "from 0 to 19"),
        ("CLOSE_PAY_BATCH", 100_001, "out of range", "from 1 to 100000"),
        ("CLOSE_OUTAGE_SECONDS", -1, "out of range", "from 0 (end at the first outage)"),
        ("CLOSE_OUTAGE_SECONDS", "inf", "not finite", "to 86400 (1 day)"),
    ],
)
def test_a_bad_close_setting_fails_at_start_naming_it_and_what_it_allows(
    setting: str, value: object, problem: str, allowed: str
) -> None:
    error = refused({"QUOTE_SECRET": SECRET, setting: value}, wiring="memory")

    assert setting_of(error) == setting
    assert problem in str(error.fields["problem"])
    assert allowed in str(error.fields["allowed"])


@pytest.mark.parametrize(
    ("variable", "text"),
    [
        ("DATM_CLOSE_LASTFM_SHARE", "2"),
        ("DATM_CLOSE_FETCH_WORKERS", "eight"),
        ("DATM_CLOSE_PAY_BATCH", "0"),
        ("DATM_CLOSE_OUTAGE_SECONDS", "-5"),
    ],
)
def test_a_bad_close_variable_is_refused_saying_it_came_from_the_environment(
    variable: str, text: str
) -> None:
    error = refused({}, environ={variable: text})

    assert setting_of(error) == variable.removeprefix("DATM_")
    assert str(error.fields["problem"]).startswith(f"{variable} in the environment is ")


def test_a_quote_validity_that_loads_gives_quotes_valid_that_long() -> None:
    injector = create_injector(
        {"QUOTE_SECRET": SECRET, "QUOTE_VALIDITY_SECONDS": "3600"}, wiring="memory", environ={}
    )

    assert isinstance(injector.get(TradingService), TradingService)


# --- types and ranges, one case per setting and kind of bad value ---------------


def _whole_cases() -> list[tuple[str, object, str]]:
    cases: list[tuple[str, object, str]] = []
    for name, (low, high) in WHOLE.items():
        cases += [
            (name, True, "true or false"),
            (name, False, "true or false"),
            (name, 2.7, "not a whole number"),
            (name, 2.0, "not a whole number"),
            (name, "2.7", "not a whole number"),
            (name, "many", "not a whole number"),
            (name, [2], "not a whole number"),
            (name, None, "not a whole number"),
            (name, "", "empty"),
            (name, low - 1, "out of range"),
            (name, str(low - 1), "out of range"),
            (name, high + 1, "out of range"),
            (name, 10**30, "out of range"),
        ]
    return cases


def _seconds_cases() -> list[tuple[str, object, str]]:
    cases: list[tuple[str, object, str]] = []
    for name, (low, inclusive, high) in SECONDS.items():
        below = math.nextafter(low, -math.inf) if inclusive else low
        cases += [
            (name, math.nan, "not finite"),
            (name, math.inf, "not finite"),
            (name, -math.inf, "not finite"),
            (name, "NaN", "not finite"),
            (name, "-inf", "not finite"),
            (name, True, "true or false"),
            (name, "soon", "not a number"),
            (name, None, "not a number"),
            (name, {}, "not a number"),
            (name, "", "empty"),
            (name, below, "out of range"),
            (name, -1, "out of range"),
            (name, math.nextafter(high, math.inf), "out of range"),
            (name, 10**400, "out of range"),
        ]
    return cases


@pytest.mark.parametrize(("setting", "value", "problem"), _whole_cases() + _seconds_cases())
def test_a_number_of_the_wrong_type_or_out_of_range_is_refused(
    setting: str, value: object, problem: str
) -> None:
    error = refused({setting: value})

    assert setting_of(error) == setting
    assert problem in str(error.fields["problem"]), error


@pytest.mark.parametrize("setting", list(WHOLE))
def test_whole_numbers_take_ints_and_their_digits_up_to_the_bounds(setting: str) -> None:
    low, high = WHOLE[setting]
    field = setting.lower()

    assert getattr(Settings.load({setting: low}, environ={}), field) == low
    assert getattr(Settings.load(None, environ={f"DATM_{setting}": f" {high} "}), field) == high
    assert type(getattr(Settings.load({setting: str(low)}, environ={}), field)) is int


@pytest.mark.parametrize("setting", list(SECONDS))
def test_seconds_take_numbers_and_their_text_up_to_the_bounds(setting: str) -> None:
    low, inclusive, high = SECONDS[setting]
    field = setting.lower()
    lowest = low if inclusive else math.nextafter(low, math.inf)

    assert getattr(Settings.load({setting: lowest}, environ={}), field) == lowest
    assert getattr(Settings.load({setting: int(high)}, environ={}), field) == high
    assert getattr(Settings.load(None, environ={f"DATM_{setting}": str(high)}), field) == high
    assert type(getattr(Settings.load({setting: Fraction(1, 1)}, environ={}), field)) is float


@pytest.mark.parametrize(
    ("setting", "value", "problem"),
    [
        ("QUOTE_SECRET", "fifteen-bytes!!", "shorter than 16 bytes"),
        ("QUOTE_SECRET", "ééééééé.", "shorter than 16 bytes"),  # 15 bytes of UTF-8
        ("QUOTE_SECRET", " padded-quote-secret-0123", "padded"),
        ("QUOTE_SECRET", "quote-secret-from-a-file\n", "padded"),
        ("QUOTE_SECRET", "\udc80" * 20, "cannot be written as UTF-8"),
        ("QUOTE_SECRET", 12345678901234567890, "not text"),
        ("QUOTE_SECRET", b"0123456789abcdef", "not text"),
        ("LASTFM_API_KEY", "public key", "spaces or control characters"),
        ("LASTFM_API_KEY", 1234, "not text"),
        ("LASTFM_API_SECRET", "shared-secret\n", "spaces or control characters"),
        ("LASTFM_API_SECRET", "shared\x00secret", "spaces or control characters"),
    ],
)
def test_secrets_and_keys_of_the_wrong_shape_are_refused(
    setting: str, value: object, problem: str
) -> None:
    config = {**LASTFM, setting: value}

    error = refused(config)

    assert setting_of(error) == setting
    assert problem in str(error.fields["problem"])


def test_the_quote_secret_counts_utf8_bytes_as_the_quote_signer_does() -> None:
    assert Settings(quote_secret="éééééééé").quote_secret == "é" * 8  # 16 bytes, 8 characters
    assert Settings(quote_secret="x" * 16).quote_secret == "x" * 16


def test_a_lastfm_key_without_its_secret_is_refused_at_start() -> None:
    # Today's wiring picks real last.fm for a key and PylastLastfm refuses to build
    # without the secret: it could only ever fail, at the first last.fm call.
    error = refused({"LASTFM_API_KEY": "public-key"}, wiring="web")

    assert setting_of(error) == "LASTFM_API_SECRET"
    assert "LASTFM_API_KEY is set" in str(error.fields["problem"])


def test_a_lastfm_secret_without_its_key_is_refused_rather_than_going_offline() -> None:
    error = refused({"LASTFM_API_SECRET": "lastfm-shared-secret"}, wiring="web")

    assert setting_of(error) == "LASTFM_API_KEY"
    assert "offline" in str(error.fields["problem"])


def test_the_postgres_wiring_without_a_database_url_names_it() -> None:
    error = refused(Settings(), wiring="postgres")

    assert setting_of(error) == "DATABASE_URL"
    assert "postgresql://" in str(error.fields["allowed"])


def test_an_unknown_wiring_stays_invalid_input_it_is_code_not_configuration() -> None:
    with pytest.raises(InvalidInput):
        create_injector(Settings(), wiring="mainframe")  # type: ignore[arg-type]


PYLAST_USERS = (
    "datm.wiring.lastfm",
    "datm.adapters.lastfm.pylast_lastfm",
    "datm.adapters.lastfm.network",
    "datm.adapters.lastfm.errors",
)


def test_a_missing_extra_for_a_set_setting_fails_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = {**LASTFM, "REDIS_URL": "redis://cache:6379/0"}
    monkeypatch.setattr(datm.wiring, "_installed", lambda *packages: False)

    assert setting_of(refused(config, wiring="web")) == "REDIS_URL"

    # pylast missing: the modules that import it, imported afresh, fail (and, failing,
    # are bound nowhere; the originals come back after the test).
    for name in PYLAST_USERS:
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(sys.modules, "pylast", None)
    error = refused(LASTFM, wiring="web")
    assert setting_of(error) == "LASTFM_API_KEY"
    assert "datm[lastfm]" in str(error) and "pylast" in str(error)


def test_an_import_error_in_datms_own_code_is_not_taken_for_a_missing_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "datm.wiring.lastfm", None)

    with pytest.raises(ImportError):
        create_injector(LASTFM, wiring="web", environ={})


# --- several bad settings: one error lists them all --------------------------------


def test_several_bad_settings_are_reported_together_each_with_its_allowed_values() -> None:
    error = refused(
        {"POOL_SIZE": -3, "QUOTE_SECRET": "short", "LASTFM_RETRIES": 2.7},
        environ={"DATM_QUOTE_SECRETT": "x", "DATM_REDIS_URL": "garbage"},
    )

    assert isinstance(error, InvalidSettings)
    names = [setting_of(p) for p in error.fields["problems"]]
    # In config.example.py's order, unknown variables last.
    assert names == [
        "POOL_SIZE",
        "LASTFM_RETRIES",
        "REDIS_URL",
        "QUOTE_SECRET",
        "DATM_QUOTE_SECRETT",
    ]
    assert error.fields["setting"] == ", ".join(names)
    for problem in error.fields["problems"]:
        assert problem.message in str(error)
        assert problem.fields["allowed"]
        assert f"(allowed: {problem.fields['allowed']})" in str(error)


# --- the environment ---------------------------------------------------------------


def test_a_typo_in_a_datm_variable_is_reported_with_the_nearest_name() -> None:
    error = refused({}, environ={"DATM_QUOTE_SECRETT": SECRET})

    assert setting_of(error) == "DATM_QUOTE_SECRETT"
    assert "did you mean DATM_QUOTE_SECRET?" in str(error)
    assert SECRET not in str(error)


@pytest.mark.parametrize(
    ("variable", "nearest"),
    [
        ("DATM_pool_size", "DATM_POOL_SIZE"),
        ("DATM_LASTFM_APIKEY", "DATM_LASTFM_API_KEY"),
        ("DATM_REQUIRE_POSTGRESS", "DATM_REQUIRE_POSTGRES"),
    ],
)
def test_unknown_variables_suggest_settings_and_the_known_test_variables(
    variable: str, nearest: str
) -> None:
    assert f"did you mean {nearest}?" in str(refused({}, environ={variable: "1"}))


def test_a_datm_variable_far_from_any_name_is_reported_without_a_guess() -> None:
    error = refused({}, environ={"DATM_XYZZY": "1"})

    assert "DATM_XYZZY" in str(error) and "did you mean" not in str(error)


def test_the_test_suites_and_cis_own_variables_are_not_settings_and_pass() -> None:
    environ = {name: "1" for name in NOT_SETTINGS}

    assert Settings.load(None, environ=environ) == Settings()


def test_the_known_non_settings_are_the_ones_the_repository_reads() -> None:
    read = set()
    for folder in ("tests", ".ci", "bench", "tools"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in ("", ".py", ".sh"):
                text = path.read_text(encoding="utf-8", errors="replace")
                read |= {w for w in _datm_words(text) if w.removeprefix("DATM_") not in NAMES}
    read -= {"DATM_TABLES", "DATM_QUOTE_SECRETT", "DATM_XYZZY", "DATM_"}  # code and tests here
    read -= {"DATM_LASTFM_APIKEY", "DATM_REQUIRE_POSTGRESS"}
    assert read <= NOT_SETTINGS


def _datm_words(text: str) -> set[str]:
    import re

    return set(re.findall(r"\bDATM_[A-Z0-9_]*", text))


def test_other_variables_are_not_datms_business() -> None:
    environ = {"PATH": "/usr/bin", "datm_pool_size": "x", "XDATM_POOL_SIZE": "x"}

    assert Settings.load(None, environ=environ) == Settings()


def test_an_empty_variable_unsets_an_optional_setting_even_over_the_config() -> None:
    config = {"REDIS_URL": "redis://cache:6379/0", "QUOTE_SECRET": SECRET}

    settings = Settings.load(config, environ={"DATM_REDIS_URL": "", "DATM_QUOTE_SECRET": ""})

    assert settings.redis_url is None and settings.quote_secret is None


def test_an_empty_variable_for_a_number_is_refused_and_says_where_it_came_from() -> None:
    error = refused({}, environ={"DATM_POOL_SIZE": ""})

    assert str(error.fields["problem"]) == "DATM_POOL_SIZE in the environment is empty"


def test_the_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATM_LOCK_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("DATM_QUOTE_SECRETT", "typo")

    with pytest.raises(ConfigurationError, match="DATM_QUOTE_SECRETT"):
        create_injector({})
    monkeypatch.delenv("DATM_QUOTE_SECRETT")
    assert Settings.load(None).lock_timeout_seconds == 2.5


# --- the config object -------------------------------------------------------------


def test_a_config_objects_own_names_are_left_alone() -> None:
    # A program's config module carries its own settings (Flask: SECRET_KEY, DEBUG).
    module = types.SimpleNamespace(SECRET_KEY="flask", DEBUG=True, POOL_SIZE=3)

    assert Settings.load(module, environ={}).pool_size == 3
    assert Settings.load({"SECRET_KEY": "flask", "debug": 1}, environ={}) == Settings()


@pytest.mark.parametrize(
    "config",
    [{"DATM_QUOTE_SECRET": SECRET}, types.SimpleNamespace(DATM_QUOTE_SECRET=SECRET)],
)
def test_a_datm_name_in_a_config_object_is_reported_not_ignored(config: object) -> None:
    error = refused(config)

    assert setting_of(error) == "DATM_QUOTE_SECRET"
    assert "QUOTE_SECRET in the config object" in str(error.fields["allowed"])
    assert SECRET not in str(error)


def test_an_unknown_keyword_is_refused_with_the_nearest_field() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings(pool_sise=3)  # type: ignore[call-arg]

    assert setting_of(caught.value) == "POOL_SISE"
    assert "did you mean pool_size?" in str(caught.value)


# --- precedence --------------------------------------------------------------------


def test_precedence_is_defaults_then_config_then_environment() -> None:
    config = {"POOL_SIZE": 3, "max_overflow": 4, "LOCK_TIMEOUT_SECONDS": "2"}
    environ = {"DATM_POOL_SIZE": "9", "DATM_REDIS_URL": "redis://cache:6379/0"}

    settings = Settings.load(config, environ=environ)

    assert (settings.pool_size, settings.max_overflow) == (9, 4)
    assert (settings.lock_timeout_seconds, settings.redis_url) == (2.0, "redis://cache:6379/0")
    assert settings.quote_validity_seconds == Settings().quote_validity_seconds


def test_a_mappings_upper_case_key_wins_over_its_field_name() -> None:
    assert Settings.load({"POOL_SIZE": 7, "pool_size": 2}, environ={}).pool_size == 7


def test_an_object_is_read_by_upper_case_attributes_only() -> None:
    config = types.SimpleNamespace(POOL_SIZE=7, max_overflow=0)

    assert (Settings.load(config, environ={}).max_overflow) == Settings().max_overflow


def test_settings_given_as_the_config_are_a_config_layer_under_the_environment() -> None:
    base = Settings(pool_size=3, quote_secret=SECRET)

    loaded = Settings.load(base, environ={"DATM_MAX_OVERFLOW": "0"})

    assert (loaded.pool_size, loaded.max_overflow, loaded.quote_secret) == (3, 0, SECRET)


def test_create_injector_uses_given_settings_as_they_are_without_the_environment() -> None:
    settings = Settings(pool_size=3)

    injector = create_injector(settings, wiring="memory", environ={"DATM_POOL_SIZE": "x"})

    assert injector.get(Settings) is settings


# --- defaults and config.example.py -----------------------------------------------


def _example() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("config_example", ROOT / "config.example.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_defaults_are_valid_and_config_example_loads_as_the_defaults() -> None:
    assert Settings.load(None, environ={}) == Settings()
    assert Settings.load(_example(), environ={}) == Settings()


def test_config_example_names_every_setting_and_nothing_else() -> None:
    names = [n for n in vars(_example()) if n.isupper()]

    assert sorted(names) == sorted(NAMES)


# --- every construction path validates; frozen ---------------------------------------

CONSTRUCTIONS: dict[str, Callable[[], object]] = {
    "keywords": lambda: Settings(pool_size=0),
    "load": lambda: Settings.load({"POOL_SIZE": 0}, environ={}),
    "replace": lambda: Settings().replace(pool_size=0),
    "replace an unknown field": lambda: Settings().replace(pool_sise=1),
    "model_validate": lambda: Settings.model_validate({"pool_size": 0}),
    "model_validate_json": lambda: Settings.model_validate_json('{"pool_size": 0}'),
    "model_copy": lambda: Settings().model_copy(update={"pool_size": 0}),
    "model_construct": lambda: Settings.model_construct(pool_size=0),
}


@pytest.mark.parametrize("path", list(CONSTRUCTIONS))
def test_every_construction_path_validates(path: str) -> None:
    with pytest.raises(ConfigurationError):
        CONSTRUCTIONS[path]()


def test_replace_keeps_the_rest_and_validates_the_change() -> None:
    base = Settings(quote_secret=SECRET, pool_size=2)

    changed = base.replace(pool_size="7")

    assert (changed.pool_size, changed.quote_secret, base.pool_size) == (7, SECRET, 2)


def test_settings_are_frozen_and_hashable() -> None:
    settings = Settings()

    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.pool_size = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del settings.pool_size
    assert hash(settings) == hash(Settings()) and settings.pool_size == 5


# --- secrets: never in a repr, an error or a log line ------------------------------

SECRET_VALUES = {
    "quote_secret": ("quote-secret-value-123456", "quote-secret-value-123456"),
    "lastfm_api_secret": ("lastfm-secret-value", "lastfm-secret-value"),
    "database_url": ("postgresql://datm:db-password@db/datm", "db-password"),
    "redis_url": ("redis://:redis-password@cache:6379/0", "redis-password"),
}
# Each secret in a shape that is refused, and the part that must not be shown.
BAD_SECRETS = [
    ("QUOTE_SECRET", "short-secret!", "short-secret!"),
    ("QUOTE_SECRET", "quote-secret-with-newline-0123\n", "quote-secret-with-newline"),
    ("LASTFM_API_SECRET", "lastfm secret with spaces", "lastfm secret"),
    ("DATABASE_URL", "mysql://datm:db-password@db/datm", "db-password"),
    ("DATABASE_URL", "postgresql://datm:db-password@db:port/datm", "db-password"),
    ("DATABASE_URL", "postgresql://datm:db@password@db/datm", "db@password"),
    ("REDIS_URL", "redis://:redis-password@cache:port/0", "redis-password"),
    ("REDIS_URL", "redis://cache:6379/0?redis-password", "redis-password"),
    ("REDIS_URL", "http://:redis-password@cache:6379/0", "redis-password"),
    ("LASTFM_API_KEY", "public key", "public key"),
]


def test_repr_and_str_hide_every_secret() -> None:
    settings = Settings(
        lastfm_api_key="public-key", **{k: v for k, (v, _) in SECRET_VALUES.items()}
    )

    for shown in (repr(settings), str(settings)):
        for value, part in SECRET_VALUES.values():
            assert value not in shown and part not in shown
        assert "public-key" in shown
        assert shown.count("<set>") == len(SECRETS) == len(SECRET_VALUES)


@pytest.mark.parametrize(("setting", "value", "hidden"), BAD_SECRETS)
@pytest.mark.parametrize("where", ["config", "environment", "keywords"])
def test_no_error_shows_a_secret_wherever_it_came_from(
    setting: str, value: str, hidden: str, where: str, caplog: pytest.LogCaptureFixture
) -> None:
    pair = {"LASTFM_API_KEY": "k", "LASTFM_API_SECRET": "s"}
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConfigurationError) as caught:
        if where == "config":
            Settings.load({**pair, setting: value}, environ={})
        elif where == "environment":
            Settings.load(pair, environ={f"DATM_{setting}": value})
        else:
            Settings(**{k.lower(): v for k, v in {**pair, setting: value}.items()})

    error = caught.value
    assert setting_of(error) == setting
    for shown in (str(error), repr(error), repr(error.fields), *caplog.messages):
        assert hidden not in shown


def test_a_good_secret_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    create_injector({"QUOTE_SECRET": SECRET, **LASTFM}, wiring="memory", environ={})

    assert not any(SECRET in m or "lastfm-shared-secret" in m for m in caplog.messages)


# --- the property: anything loads or is a ConfigurationError ------------------------

ODD_TEXT = st.text(st.sampled_from(["a", "é", " ", "\n", "\x00", "\udc80", "1", ".", ":", "/"]))
NUMERIC_TEXT = st.from_regex(r"\A\s*[+-]?([0-9]{0,25}(\.[0-9]*)?(e[+-]?[0-9]{1,4})?|nan|inf)\s*\Z")
URLISH = st.builds(
    lambda scheme, rest: scheme + rest,
    st.sampled_from(
        ["postgresql://", "postgres://", "redis://", "rediss://", "unix://", "https://"]
    ),
    st.text(st.sampled_from(list("ab1:/@?=&[]%.#host"))),
)
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(),
    st.fractions(),
    st.decimals(),
    st.text(),
    ODD_TEXT,
    NUMERIC_TEXT,
    URLISH,
    st.binary(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.builds(object),
)
KIND = {
    **{name: int for name in WHOLE},
    **{name: float for name in SECONDS},
    **{name: str for name in TEXTS},
}


def _loads_or_is_refused(name: str, build: Callable[[], Settings]) -> None:
    try:
        settings = build()
    except ConfigurationError as error:
        assert name in setting_of(error) or "LASTFM_API" in setting_of(error)
        return
    except DatmError as error:  # pragma: no cover - reported by the assertion
        raise AssertionError(f"not a ConfigurationError: {error!r}") from error
    value = getattr(settings, name.lower())
    assert value is None or type(value) is KIND[name]
    if isinstance(value, float):
        assert math.isfinite(value)
    assert settings.replace() == settings  # what loaded loads again


@hypothesis.settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(NAMES), value=ANY_VALUE)
def test_any_value_for_any_setting_loads_or_raises_configuration_error(
    name: str, value: object
) -> None:
    pair = {} if name.startswith("LASTFM_API") else LASTFM
    _loads_or_is_refused(name, lambda: Settings.load({**pair, name: value}, environ={}))
    _loads_or_is_refused(name, lambda: Settings(**{name.lower(): value}))


@hypothesis.settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(NAMES), value=st.one_of(st.text(), ODD_TEXT, NUMERIC_TEXT, URLISH))
def test_any_environment_text_for_any_setting_loads_or_raises_configuration_error(
    name: str, value: str
) -> None:
    _loads_or_is_refused(name, lambda: Settings.load(None, environ={f"DATM_{name}": value}))
