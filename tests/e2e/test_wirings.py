"""The wirings build and resolve every service; the web's wiring has no database
and says so at the first use; settings come from a config object and DATM_*."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import pytest
from driver_watch import PRELUDE, run_watched
from harness import QUOTE_SECRET, START
from injector import Injector

from datm.adapters.clock import ManualClock
from datm.adapters.offline.lastfm import OfflineLastfm
from datm.domain.errors import CapabilityError, ConfigurationError, InvalidInput, ProgrammingError
from datm.ports.lastfm import LastfmPort
from datm.services.analytics import AnalyticsService
from datm.services.artists import ArtistService
from datm.services.audit import AuditService
from datm.services.auth import AuthService
from datm.services.close import CloseService
from datm.services.leagues import LeagueService
from datm.services.market import MarketService
from datm.services.players import PlayerService
from datm.services.results import ArtistBasic, LoginLink
from datm.services.trading import TradingService
from datm.settings import Settings
from datm.wiring import create_injector

RADIOHEAD = "a74b1b7f-71a5-4011-9441-d0b5e4122711"
SERVICES: list[type] = [
    AuthService,
    ArtistService,
    MarketService,
    TradingService,
    PlayerService,
    LeagueService,
    CloseService,
    AnalyticsService,
    AuditService,
]


def build(wiring: str, **settings: Any) -> Injector:
    return create_injector(
        Settings(quote_secret=QUOTE_SECRET, **settings),
        wiring=wiring,  # type: ignore[arg-type]
        clock=ManualClock(START),
    )


@pytest.mark.parametrize("wiring", ["memory", "web"])
def test_every_service_resolves_in_the_wiring_without_auto_binding(wiring: str) -> None:
    injector = build(wiring)

    assert injector.binder._auto_bind is False  # an unbound port fails at start-up
    for service in SERVICES:
        assert isinstance(injector.get(service), service)
    assert injector.get(MarketService) is injector.get(MarketService)


@pytest.mark.parametrize("wiring", ["memory", "web"])
def test_a_class_nobody_bound_is_refused_rather_than_built(wiring: str) -> None:
    class Unbound:
        pass

    with pytest.raises(Exception, match="Unbound"):
        build(wiring).get(Unbound)


def test_the_memory_wiring_plays_a_whole_login_and_trade() -> None:
    injector = build("memory")
    lastfm = injector.get(LastfmPort)  # type: ignore[type-abstract]
    assert isinstance(lastfm, OfflineLastfm)
    auth = injector.get(AuthService)
    link = auth.login_link()
    assert link.token is not None
    lastfm.authorise(link.token, "wiring-player")
    login = auth.login(link.token)
    trading = injector.get(TradingService)

    quote = trading.quote(login.session_key, "fleetwood mac", "buy")
    receipt = trading.buy(login.session_key, quote.token)

    assert receipt.money == 20_000 - quote.price
    assert injector.get(AuditService).audit().ok


def test_the_web_wiring_serves_artist_pages_and_the_login_link() -> None:
    injector = build("web")
    artists = injector.get(ArtistService)

    assert isinstance(artists.basic("radiohead"), ArtistBasic)
    assert artists.light(RADIOHEAD).name == "Radiohead"
    assert artists.lastfm_data(RADIOHEAD).listeners > 0
    assert artists.search("radio", 5, 1)
    assert artists.chart(5, 1)
    assert artists.user_profile("someone").name == "someone"
    link = injector.get(AuthService).login_link()
    assert isinstance(link, LoginLink) and link.token
    assert injector.get(AuthService).api_key()


def _login_after_authorise(injector: Injector) -> object:
    lastfm = injector.get(LastfmPort)  # type: ignore[type-abstract]
    auth = injector.get(AuthService)
    link = auth.login_link()
    assert isinstance(lastfm, OfflineLastfm) and link.token is not None
    lastfm.authorise(link.token, "web-player")
    return auth.login(link.token)


KEY = "k" * 43
DATABASE_USES: dict[str, Callable[[Injector], object]] = {
    "market.top_by_price": lambda i: i.get(MarketService).top_by_price(5),
    "market.market_data": lambda i: i.get(MarketService).market_data(RADIOHEAD),
    "market.recent_trades": lambda i: i.get(MarketService).recent_trades(5),
    "auth.login": _login_after_authorise,
    "auth.check": lambda i: i.get(AuthService).check(KEY),
    "trading.quote": lambda i: i.get(TradingService).quote(KEY, RADIOHEAD, "buy"),
    "trading.buy": lambda i: i.get(TradingService).buy(KEY, "a.b"),
    "players.profile": lambda i: i.get(PlayerService).profile("someone"),
    "players.money": lambda i: i.get(PlayerService).money(KEY),
    "leagues.leagues": lambda i: i.get(LeagueService).leagues(),
    "close.run": lambda i: i.get(CloseService).run(),
    "analytics.counts": lambda i: i.get(AnalyticsService).counts(),
    "analytics.artists": lambda i: list(i.get(AnalyticsService).artists()),
    "analytics.is_market_open": lambda i: i.get(AnalyticsService).is_market_open(),
    "analytics.acquire_market_lock": lambda i: i.get(AnalyticsService).acquire_market_lock(),
    "audit.audit": lambda i: i.get(AuditService).audit(),
}


@pytest.mark.parametrize("use", list(DATABASE_USES))
def test_every_database_use_in_the_web_wiring_names_the_missing_database_url(use: str) -> None:
    with pytest.raises(CapabilityError) as refused:
        DATABASE_USES[use](build("web"))

    assert "DATM_DATABASE_URL" in refused.value.missing
    assert isinstance(refused.value, ProgrammingError)


WEB_SCRIPT = """
from datetime import UTC, datetime

from datm.adapters.clock import ManualClock
from datm.services.artists import ArtistService
from datm.services.auth import AuthService
from datm.settings import Settings
from datm.wiring import create_injector

injector = create_injector(
    Settings(), wiring="web", clock=ManualClock(datetime(2026, 11, 2, 9, tzinfo=UTC))
)
for name in SERVICES:
    module, cls = name.rsplit(".", 1)
    injector.get(getattr(__import__(module, fromlist=[cls]), cls))
artists = injector.get(ArtistService)
used = [artists.basic("radiohead").name, artists.lastfm_data("radiohead").name]
used.append(bool(injector.get(AuthService).login_link().token))
print(json.dumps({"used": used, "attempted": Watch.attempted, "loaded": DRIVERS_LOADED()}))
"""


def test_the_web_wiring_never_imports_sqlalchemy_or_psycopg2() -> None:
    services = [f"{s.__module__}.{s.__qualname__}" for s in SERVICES]
    script = PRELUDE + f"SERVICES = {services!r}\n" + WEB_SCRIPT

    report = run_watched(script, {"PATH": "/usr/bin:/bin"})

    assert report["used"] == ["Radiohead", "Radiohead", True]
    assert report["attempted"] == []
    assert report["loaded"] == []


def test_an_unknown_wiring_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        build("mainframe")


# settings ------------------------------------------------------------------------


def test_settings_load_from_a_mapping_by_upper_case_key_or_field_name() -> None:
    settings = Settings.load(
        {"POOL_SIZE": "7", "quote_validity_seconds": "30", "QUOTE_SECRET": QUOTE_SECRET},
        environ={},
    )

    assert settings.pool_size == 7
    assert settings.quote_validity_seconds == 30.0
    assert settings.quote_secret == QUOTE_SECRET
    assert settings.database_url is None
    assert settings.lock_timeout_seconds == Settings().lock_timeout_seconds


def test_settings_load_from_a_config_objects_upper_case_attributes() -> None:
    config = types.SimpleNamespace(
        LASTFM_API_KEY="config-key", LASTFM_API_SECRET="config-secret", LOCK_TIMEOUT_SECONDS=2
    )

    settings = Settings.load(config, environ={})

    assert settings.lastfm_api_key == "config-key"
    assert settings.lock_timeout_seconds == 2.0


def test_settings_load_from_nothing_are_the_defaults() -> None:
    assert Settings.load(None, environ={}) == Settings()


def test_the_environment_wins_over_the_config_object() -> None:
    settings = Settings.load(
        {"POOL_SIZE": 3, "LASTFM_API_KEY": "config-key", "LASTFM_API_SECRET": "s"},
        environ={"DATM_POOL_SIZE": "9", "DATM_REDIS_URL": "redis://cache:6379/0"},
    )

    assert settings.pool_size == 9
    assert settings.redis_url == "redis://cache:6379/0"
    assert settings.lastfm_api_key == "config-key"


def test_settings_read_the_process_environment_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATM_LASTFM_API_KEY", "from-the-environment")

    config = {"LASTFM_API_KEY": "config-key", "LASTFM_API_SECRET": "s"}
    assert Settings.load(config).lastfm_api_key == "from-the-environment"


@pytest.mark.parametrize(
    ("config", "setting"),
    [({"POOL_SIZE": "many"}, "POOL_SIZE"), ({"LOCK_TIMEOUT_SECONDS": ""}, "LOCK_TIMEOUT_SECONDS")],
)
def test_a_setting_that_is_not_a_number_is_a_configuration_error(
    config: dict[str, str], setting: str
) -> None:
    # A bad setting is the operator's to fix: ConfigurationError, no longer InvalidInput.
    with pytest.raises(ConfigurationError) as refused:
        Settings.load(config, environ={})

    assert refused.value.fields["setting"] == setting
    assert isinstance(refused.value, ProgrammingError)


def test_settings_repr_hides_every_secret() -> None:
    secrets = {
        "quote_secret": "quote-secret-value-123456",
        "lastfm_api_secret": "lastfm-secret-value",
        "database_url": "postgresql://datm:db-password@db/datm",
        "redis_url": "redis://:redis-password@cache:6379/0",
    }

    shown = repr(Settings(lastfm_api_key="public-key", **secrets))

    for value in secrets.values():
        assert value not in shown
    assert "db-password" not in shown and "redis-password" not in shown
    assert "public-key" in shown
    assert shown.count("<set>") == len(secrets)


def test_create_injector_binds_settings_from_config_and_environment() -> None:
    injector = create_injector(
        {"QUOTE_SECRET": QUOTE_SECRET, "LASTFM_API_KEY": "config-key", "LASTFM_API_SECRET": "s"},
        wiring="memory",
        environ={"DATM_LASTFM_API_KEY": "env-key", "DATM_QUOTE_VALIDITY_SECONDS": "20"},
    )

    settings = injector.get(Settings)
    assert (settings.lastfm_api_key, settings.quote_validity_seconds) == ("env-key", 20.0)
    assert injector.get(AuthService).api_key() == "env-key"
