"""The fake last.fm's login over HTTPS: tokens, the user's consent page, sessions."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from lastfm_http import request
from recorded_lastfm import RECORDINGS, interactions

from datm.fake_lastfm import FakeLastfm


def keyed(fake: FakeLastfm, **params: str) -> dict[str, str]:
    return {**params, "api_key": fake.api_key}


def get_token(fake: FakeLastfm) -> str:
    answer = request(fake, keyed(fake, method="auth.getToken"), sign_with=fake.api_secret)
    token = answer.xml().findtext("token")
    assert token
    return token


def test_a_token_allowed_on_the_auth_page_is_exchanged_once_for_a_session(
    fake: FakeLastfm,
) -> None:
    token = get_token(fake)
    session_params = keyed(fake, method="auth.getSession", token=token)

    early = request(fake, session_params, sign_with=fake.api_secret)
    page = request(
        fake,
        {"api_key": fake.api_key, "token": token, "user": "alice"},
        http_method="GET",
        path="/api/auth/",
    )
    session = request(fake, session_params, sign_with=fake.api_secret)
    again = request(fake, session_params, sign_with=fake.api_secret)

    assert early.error_code() == 14
    assert page.status == 200 and "alice" in page.body
    assert page.headers["content-type"].startswith("text/html")
    assert session.status == 200
    assert session.xml().findtext("session/name") == "alice"
    key = session.xml().findtext("session/key")
    assert key and len(key) == 32
    assert again.error_code() == 15
    signed_call = keyed(fake, method="user.getInfo", sk=key)
    assert request(fake, signed_call, sign_with=fake.api_secret).status == 200


def test_a_token_never_issued_gets_the_recorded_error_4(fake: FakeLastfm) -> None:
    answer = request(
        fake, keyed(fake, method="auth.getSession", token="invalid"), sign_with=fake.api_secret
    )
    unrecorded = request(
        fake, keyed(fake, method="auth.getSession", token="other"), sign_with=fake.api_secret
    )

    assert answer.status == 403
    assert (
        answer.body
        == interactions("auth.getSession-invalid_token.yaml")[0]["response"]["body"]["string"]
    )
    assert unrecorded.error_code() == 4


def test_an_expired_token_gets_error_15() -> None:
    with FakeLastfm(RECORDINGS, token_ttl=0.0) as fake:
        token = get_token(fake)
        time.sleep(0.01)
        answer = request(
            fake, keyed(fake, method="auth.getSession", token=token), sign_with=fake.api_secret
        )

        assert answer.error_code() == 15
        with pytest.raises(ValueError, match="expired"):
            fake.authorise(token, "alice")


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"api_key": "wrong", "token": "t", "user": "alice"}, 403),
        ({"token": "never-issued", "user": "alice"}, 400),
        ({"user": ""}, 400),
    ],
)
def test_the_auth_page_refuses_a_wrong_key_an_unknown_token_or_no_user(
    fake: FakeLastfm, query: dict[str, str], status: int
) -> None:
    params = {"api_key": fake.api_key, **query}

    assert request(fake, params, http_method="GET", path="/api/auth/").status == status


def test_the_auth_page_web_flow_redirects_to_the_callback_with_an_allowed_token(
    fake: FakeLastfm,
) -> None:
    params = {"api_key": fake.api_key, "cb": "https://game.example/back?x=1", "user": "bob"}

    page = request(fake, params, http_method="GET", path="/api/auth/")

    assert page.status == 302
    location = urlsplit(page.headers["location"])
    assert location.netloc == "game.example"
    query = parse_qs(location.query)
    assert query["x"] == ["1"]
    [token] = query["token"]
    session = request(
        fake, keyed(fake, method="auth.getSession", token=token), sign_with=fake.api_secret
    )
    assert session.xml().findtext("session/name") == "bob"
