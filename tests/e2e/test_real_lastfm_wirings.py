"""The real last.fm in each wiring, against the project's fake last.fm on loopback:
the web's (no database at all), and the in-memory one an api test would build."""

from __future__ import annotations

import re
import ssl
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import redis
import redis_support
import yaml
from driver_watch import PRELUDE, ROOT, run_watched

from datm.adapters.lastfm.caching import CachingLastfm
from datm.adapters.lastfm.pylast_lastfm import PylastLastfm
from datm.adapters.offline.lastfm import OfflineLastfm
from datm.domain.errors import CapabilityError, NotEnoughMoney
from datm.fake_lastfm import FakeLastfm
from datm.ports.lastfm import LastfmPort
from datm.services.auth import AuthService
from datm.services.players import PlayerService
from datm.services.trading import TradingService
from datm.settings import Settings
from datm.wiring import Wiring, create_injector

RECORDINGS = ROOT / "tests" / "data" / "lastfm-recordings"
QUOTE_SECRET = "e2e-quote-secret-0123456789abcdef"
STARTING_MONEY = 20_000
REDIS_URL = "redis://127.0.0.1:6379/15"  # a database of the tests' own


def recorded(cassette: str, pattern: str) -> str:
    """The first match of ``pattern`` in a recording's XML, as last.fm sent it."""
    document = yaml.safe_load((RECORDINGS / cassette).read_text(encoding="utf-8"))
    xml = document["interactions"][0]["response"]["body"]["string"]
    match = re.search(pattern, xml)
    assert match is not None, (cassette, pattern)
    return match.group(1)


@pytest.fixture
def fake() -> Iterator[FakeLastfm]:
    with FakeLastfm(RECORDINGS) as server:
        yield server


def lastfm_settings(fake: FakeLastfm, **more: object) -> dict[str, object]:
    return {
        "LASTFM_API_KEY": fake.api_key,
        "LASTFM_API_SECRET": fake.api_secret,
        "LASTFM_URL": fake.url,
        "LASTFM_CA_FILE": str(fake.ca_file),
        "LASTFM_RETRIES": 1,
        **more,
    }


def allow(fake: FakeLastfm, auth_url: str, user: str) -> None:
    """Play the user's browser on the fake's auth page."""
    context = ssl.create_default_context(cafile=str(fake.ca_file))
    url = f"{auth_url}&{urlencode({'user': user})}"
    with urllib.request.urlopen(url, context=context, timeout=10) as reply:
        assert reply.status == 200


WEB_SCRIPT = (
    PRELUDE
    + """
from datm.domain.errors import CapabilityError, NotEnoughMoney
from datm.ports.lastfm import LastfmPort
from datm.services.artists import ArtistService
from datm.services.auth import AuthService
from datm.services.players import PlayerService
from datm.wiring import Wiring, create_injector

injector = create_injector(wiring="web")  # everything from DATM_* in the environment
artists = injector.get(ArtistService)
basic = artists.basic("Radiohead")
data = artists.lastfm_data("Radiohead")
used = {
    "port": type(injector.get(LastfmPort)).__name__,
    "basic": [basic.name, basic.mbid],
    "listeners": data.listeners,
    "search": [a.name for a in artists.search("Nirvana", limit=30)][:2],
    "chart": [a.name for a in artists.chart(limit=1)],
    "tag": [a.name for a in artists.tag_chart("blues", limit=1)],
    "user": artists.user_profile("RJ").name,
    "link": injector.get(AuthService).login_link().url,
}
try:
    injector.get(PlayerService).profile("anyone")
except CapabilityError as refused:
    used["refused"] = refused.missing
print(json.dumps({"used": used, "attempted": Watch.attempted, "loaded": DRIVERS_LOADED()}))
"""
)


def test_the_web_wiring_serves_last_fm_through_the_real_adapter_and_no_database(
    fake: FakeLastfm,
) -> None:
    settings = lastfm_settings(fake, REDIS_URL=REDIS_URL)
    environ = {"PATH": "/usr/bin:/bin", **{f"DATM_{k}": str(v) for k, v in settings.items()}}
    forget_shared_cache()

    report = run_web(environ)
    first = fake.requests
    again = run_web(environ)  # another process: last.fm's answers come from Redis

    used = report["used"]
    assert used["port"] == "CachingLastfm"
    radiohead = "artist.getInfo-radiohead-x3.yaml"
    assert used["basic"] == ["Radiohead", recorded(radiohead, r"<mbid>([0-9a-f-]{36})</mbid>")]
    assert used["listeners"] == int(recorded(radiohead, r"<listeners>(\d+)</listeners>"))
    assert used["search"][0] == recorded("artist.search-nirvana.yaml", r"<name>([^<]+)</name>")
    chart = recorded("chart.getTopArtists-limit1.yaml", r"<name>([^<]+)</name>")
    assert used["chart"] == [chart]
    assert used["tag"] == [recorded("tag.getTopArtists-blues-limit1.yaml", r"<name>([^<]+)</name>")]
    assert used["user"] == recorded("user.getInfo-authenticated-a.yaml", r"<name>([^<]+)</name>")
    assert report["link_origin"] == fake.origin
    assert "DATM_DATABASE_URL" in used["refused"]
    assert report["attempted"] == [] and report["loaded"] == []
    assert first.of("artist.getInfo") >= 1 and first.of("auth.getToken") == 1
    assert again == report
    assert fake.requests.of("artist.getInfo") == first.of("artist.getInfo")
    assert fake.requests.of("auth.getToken") == 2  # never cached


def run_web(environ: dict[str, str]) -> dict[str, Any]:
    report = run_watched(WEB_SCRIPT, environ)
    link = urlsplit(report["used"].pop("link"))  # a new token each time
    assert link.path == "/api/auth/"
    report["link_origin"] = f"{link.scheme}://{link.netloc}"
    return report


def forget_shared_cache() -> None:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        stale = list(client.scan_iter("datm:lastfm:*"))
        if stale:
            client.delete(*stale)
    except redis.ConnectionError:
        redis_support.unavailable(f"Redis is not running at {REDIS_URL}")
    finally:
        client.close()


def test_an_api_on_the_real_last_fm_logs_in_and_lists_on_demand(
    fake: FakeLastfm,
) -> None:
    injector = create_injector(
        lastfm_settings(fake, QUOTE_SECRET=QUOTE_SECRET), wiring="memory", environ={}
    )
    port = injector.get(LastfmPort)  # type: ignore[type-abstract]
    assert isinstance(port, CachingLastfm) and isinstance(port.fresh(), PylastLastfm)
    auth = injector.get(AuthService)

    link = auth.login_link()
    allow(fake, link.url, "RJ")
    login = auth.login(link.token)
    trading = injector.get(TradingService)
    quote = trading.quote(login.session_key, "Radiohead", "buy")  # listed from last.fm
    with pytest.raises(NotEnoughMoney):  # Radiohead lists above a new player's money
        trading.buy(login.session_key, quote.token)

    assert login.is_new and login.player == "RJ"
    mbid = recorded("artist.getInfo-radiohead-x3.yaml", r"<mbid>([0-9a-f-]{36})</mbid>")
    assert quote.mbid == mbid and quote.price > STARTING_MONEY
    profile = injector.get(PlayerService).profile("RJ", with_images=False)
    assert (profile.net_worth, profile.holdings, profile.trades) == (STARTING_MONEY, (), ())
    assert fake.requests.of("auth.getSession") == 1


def test_the_web_wiring_without_a_key_stays_offline() -> None:
    injector = create_injector(Settings(), wiring="web")

    assert not isinstance(injector.get(LastfmPort), CachingLastfm)  # type: ignore[type-abstract]
    with pytest.raises(CapabilityError):
        injector.get(PlayerService).profile("anyone")


@pytest.mark.parametrize("wiring", ["memory", "postgres", "web"])
def test_every_wiring_takes_the_real_last_fm_when_a_key_is_set_and_offline_when_not(
    wiring: Wiring,
) -> None:
    # Building the injector and the port does no IO: no database, last.fm or Redis.
    database = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    real = create_injector(
        {"LASTFM_API_KEY": "k", "LASTFM_API_SECRET": "s", "REDIS_URL": REDIS_URL, **database},
        wiring=wiring,
        environ={},
    ).get(LastfmPort)  # type: ignore[type-abstract]
    offline = create_injector(database, wiring=wiring, environ={}).get(LastfmPort)  # type: ignore[type-abstract]

    assert isinstance(real, CachingLastfm) and isinstance(real.fresh(), PylastLastfm)
    assert isinstance(offline, OfflineLastfm)
