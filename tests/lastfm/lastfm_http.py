"""A plain HTTPS client for the fake last.fm (standard library), trusting only its CA."""

from __future__ import annotations

import http.client
import ssl
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import urlencode

from datm.fake_lastfm import FakeLastfm, signature

TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    headers: dict[str, str]

    def xml(self) -> ET.Element:
        return ET.fromstring(self.body)

    def error_code(self) -> int | None:
        error = self.xml().find("error")
        return None if error is None else int(error.get("code", "0"))


def request(
    fake: FakeLastfm,
    params: dict[str, str],
    *,
    http_method: str = "POST",
    path: str = "/2.0/",
    sign_with: str | None = None,
) -> Answer:
    """One request; ``sign_with`` adds an api_sig made with that secret."""
    params = dict(params)
    if sign_with is not None:
        params["api_sig"] = signature(params, sign_with)
    context = ssl.create_default_context(cafile=str(fake.ca_file))
    connection = http.client.HTTPSConnection(
        "127.0.0.1", fake.port, context=context, timeout=TIMEOUT_SECONDS
    )
    try:
        if http_method == "POST":
            connection.request(
                "POST",
                path,
                body=urlencode(params),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        else:
            connection.request(http_method, f"{path}?{urlencode(params)}")
        response = connection.getresponse()
        body = response.read().decode("utf-8")
        return Answer(response.status, body, {k.lower(): v for k, v in response.getheaders()})
    finally:
        connection.close()
