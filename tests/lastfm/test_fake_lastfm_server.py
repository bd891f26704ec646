"""The fake last.fm over HTTPS, seen by a plain client: replay, keys, signatures,
faults and counts (login: test_fake_lastfm_logins.py)."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from lastfm_http import request
from recorded_lastfm import RECORDINGS, interactions

from datm.fake_lastfm import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeLastfm, Fault, signature

CHART_1 = {"method": "chart.getTopArtists", "limit": "1"}


def keyed(fake: FakeLastfm, **params: str) -> dict[str, str]:
    return {**params, "api_key": fake.api_key}


def recorded_body(name: str, index: int = 0) -> str:
    body: str = interactions(name)[index]["response"]["body"]["string"]
    return body


# --- replay --------------------------------------------------------------------------


def test_a_recorded_request_gets_the_recorded_document(fake: FakeLastfm) -> None:
    answer = request(fake, keyed(fake, **CHART_1))

    assert answer.status == 200
    assert answer.body == recorded_body("chart.getTopArtists-limit1.yaml")
    assert answer.headers["content-type"].startswith("text/xml")


def test_get_is_answered_like_post(fake: FakeLastfm) -> None:
    answer = request(fake, keyed(fake, **CHART_1), http_method="GET")

    assert answer.body == recorded_body("chart.getTopArtists-limit1.yaml")


def test_matching_ignores_credentials_the_user_format_and_default_parameters(
    fake: FakeLastfm,
) -> None:
    session = fake.open_session("someone")
    params = keyed(fake, **CHART_1, page="1", format="xml", user="someone", sk=session)

    answer = request(fake, params, sign_with=fake.api_secret)

    assert answer.body == recorded_body("chart.getTopArtists-limit1.yaml")
    search = keyed(fake, method="artist.search", artist="Nirvana", limit="30", page="1")
    assert request(fake, search).body == recorded_body("artist.search-nirvana.yaml")


def test_a_request_with_no_recording_gets_lastfms_error_6_document(fake: FakeLastfm) -> None:
    artist = request(fake, keyed(fake, method="artist.getInfo", artist="No Such Artist Here"))
    chart = request(fake, keyed(fake, method="chart.getTopArtists", limit="7"))

    assert artist.status == 400
    assert artist.xml().get("status") == "failed"
    assert artist.error_code() == 6
    assert artist.xml().findtext("error") == "The artist you supplied could not be found"
    assert chart.error_code() == 6


def test_interactions_of_one_request_are_served_in_order_then_the_last_repeats(
    tmp_path: Path,
) -> None:
    def interaction(listeners: int) -> dict[str, object]:
        stats = f"<stats><listeners>{listeners}</listeners></stats>"
        body = f'<lfm status="ok"><artist><name>A</name>{stats}</artist></lfm>'
        return {
            "request": {
                "body": "artist=A&method=artist.getInfo",
                "method": "POST",
                "uri": "https://x/2.0/",
            },
            "response": {"body": {"string": body}, "status": {"code": 200, "message": "OK"}},
        }

    cassette = {"interactions": [interaction(1), interaction(2)], "version": 1}
    (tmp_path / "artist.getInfo-a.yaml").write_text(yaml.safe_dump(cassette), encoding="utf-8")

    with FakeLastfm(tmp_path) as fake:
        params = keyed(fake, method="artist.getInfo", artist="A")
        served = [request(fake, params).xml().findtext("artist/stats/listeners") for _ in range(3)]

    assert served == ["1", "2", "2"]


# --- keys and signatures ----------------------------------------------------------------


def test_the_documented_default_account_is_the_one_known() -> None:
    assert (DEFAULT_API_KEY, DEFAULT_API_SECRET) == ("datm-fake-key", "datm-fake-secret")


@pytest.mark.parametrize("api_key", ["someone-elses-key", ""])
def test_an_unknown_api_key_gets_error_10(fake: FakeLastfm, api_key: str) -> None:
    answer = request(fake, {**CHART_1, "api_key": api_key})

    assert answer.status == 403
    assert answer.error_code() == 10


def test_a_signature_made_with_another_secret_gets_error_13(fake: FakeLastfm) -> None:
    params = keyed(fake, method="auth.getToken")

    wrong = request(fake, params, sign_with="not-the-secret")
    unsigned = request(fake, params)
    right = request(fake, params, sign_with=fake.api_secret)

    assert wrong.error_code() == 13
    assert unsigned.error_code() == 13
    assert right.status == 200 and right.xml().findtext("token")


def test_a_signature_covers_every_parameter(fake: FakeLastfm) -> None:
    params = keyed(fake, **CHART_1, sk=fake.open_session("someone"))
    params["api_sig"] = signature(params, fake.api_secret)
    tampered = {**params, "limit": "2"}  # changed after signing

    assert request(fake, params).status == 200
    assert request(fake, tampered).error_code() == 13


def test_an_unknown_session_key_gets_error_9(fake: FakeLastfm) -> None:
    params = keyed(fake, method="user.getInfo", sk="0" * 32)

    assert request(fake, params, sign_with=fake.api_secret).error_code() == 9


def test_a_client_that_does_not_trust_the_ca_cannot_connect(fake: FakeLastfm) -> None:
    untrusting = ssl.create_default_context()
    connection = http.client.HTTPSConnection("127.0.0.1", fake.port, context=untrusting, timeout=5)

    with pytest.raises(ssl.SSLCertVerificationError):
        connection.request("GET", "/2.0/")
    connection.close()


# --- faults --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        (Fault.HTTP_500, 500, None),
        (Fault.HTTP_503, 503, None),
        (Fault.OPERATION_FAILED, 400, 8),
        (Fault.SERVICE_OFFLINE, 400, 11),
        (Fault.TEMPORARILY_UNAVAILABLE, 400, 16),
        (Fault.RATE_LIMITED, 429, 29),
    ],
)
def test_an_injected_fault_answers_the_next_request_only(
    fake: FakeLastfm, fault: Fault, status: int, code: int | None
) -> None:
    fake.inject(fault)

    faulted = request(fake, keyed(fake, **CHART_1))
    after = request(fake, keyed(fake, **CHART_1))

    assert faulted.status == status
    if code is not None:
        assert faulted.error_code() == code
    assert after.status == 200


def test_malformed_xml_does_not_parse(fake: FakeLastfm) -> None:
    fake.inject(Fault.MALFORMED_XML)

    answer = request(fake, keyed(fake, **CHART_1))

    assert answer.status == 200
    with pytest.raises(ET.ParseError):
        answer.xml()


def test_a_dropped_connection_ends_without_a_response(fake: FakeLastfm) -> None:
    fake.inject(Fault.DROP)

    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, ssl.SSLError)):
        request(fake, keyed(fake, **CHART_1))


def test_a_slow_reply_comes_late_but_whole(fake: FakeLastfm) -> None:
    fake.inject(Fault.SLOW, delay=0.3)

    started = time.monotonic()
    answer = request(fake, keyed(fake, **CHART_1))

    assert time.monotonic() - started >= 0.3
    assert answer.body == recorded_body("chart.getTopArtists-limit1.yaml")


def test_faults_and_counts_are_reachable_over_http(fake: FakeLastfm) -> None:
    queued = request(fake, {"fault": "http-503", "times": "2"}, path="/_fake/faults")
    statuses = [request(fake, keyed(fake, **CHART_1)).status for _ in range(3)]
    counts = json.loads(request(fake, {}, http_method="GET", path="/_fake/requests").body)
    bad = request(fake, {"fault": "no-such-fault"}, path="/_fake/faults")

    assert queued.status == 200
    assert statuses == [503, 503, 200]
    assert counts == {"total": 3, "by_method": {"chart.getTopArtists": 3}}
    assert bad.status == 400


# --- counts -------------------------------------------------------------------------------


def test_requests_are_counted_in_all_and_per_method_faults_and_errors_included(
    fake: FakeLastfm,
) -> None:
    fake.inject(Fault.HTTP_500)
    request(fake, keyed(fake, **CHART_1))  # faulted
    request(fake, keyed(fake, **CHART_1))
    request(fake, {**CHART_1, "api_key": "wrong"})  # refused
    request(fake, keyed(fake, method="artist.getInfo", artist="Radiohead"))
    request(fake, {"api_key": fake.api_key, "user": "x"}, http_method="GET", path="/api/auth/")

    counts = fake.requests

    assert counts.total == 4
    assert dict(counts.by_method) == {"chart.getTopArtists": 3, "artist.getInfo": 1}
    assert counts.of("artist.getInfo") == 1
    fake.reset()
    assert fake.requests.total == 0


# --- addresses -------------------------------------------------------------------------------


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")
def test_the_fake_serves_on_the_ipv6_loopback_too() -> None:
    with FakeLastfm(RECORDINGS, host="::1") as fake:
        context = ssl.create_default_context(cafile=str(fake.ca_file))
        connection = http.client.HTTPSConnection("::1", fake.port, context=context, timeout=5)
        connection.request(
            "GET", f"/2.0/?method=chart.getTopArtists&limit=1&api_key={fake.api_key}"
        )
        response = connection.getresponse()

        assert fake.url.startswith("https://[::1]:")
        assert response.status == 200
        connection.close()
