"""What the fake last.fm answers, apart from HTTP: the handler turns a ``Reply`` into bytes.

An API request goes through, in order: the fault queue; the API key (error 10);
the signature, on signed calls (error 13); the session key, when one is sent
(error 9); then the login methods, which the fake serves itself, or the recordings
(error 6 when nothing was recorded for the request).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from datm.fake_lastfm import documents
from datm.fake_lastfm.cassettes import Recordings, parameters
from datm.fake_lastfm.faults import DEFAULT_DELAY_SECONDS, Fault, FaultQueue, RequestCounter
from datm.fake_lastfm.logins import Logins, signature_matches

SIGNED_METHODS = frozenset({"auth.gettoken", "auth.getsession", "auth.getmobilesession"})


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: str = ""
    content_type: str = documents.XML
    delay: float = 0.0  # seconds to wait before answering
    drop: bool = False  # close the connection instead of answering
    location: str = ""  # a redirect's target


def error(code: int, message: str | None = None) -> Reply:
    return Reply(documents.http_status(code), documents.error_document(code, message))


class FakeLastfmService:
    """The fake's behaviour; thread-safe, shared by every request handler."""

    def __init__(
        self, recordings: Recordings, api_key: str, api_secret: str, logins: Logins | None = None
    ) -> None:
        self.recordings = recordings
        self.api_key = api_key
        self.api_secret = api_secret
        self.logins = logins or Logins()
        self.faults = FaultQueue()
        self.counter = RequestCounter()

    # --- the API: /2.0/ ------------------------------------------------------

    def api(self, params: Mapping[str, str]) -> Reply:
        method = params.get("method", "")
        self.counter.count(method)
        injected = self.faults.take()
        if injected is not None and injected.fault is not Fault.SLOW:
            return _fault_reply(injected.fault)
        reply = self._answer(params, method.lower())
        if injected is not None:  # a slow reply: the proper answer, late
            return Reply(reply.status, reply.body, reply.content_type, delay=injected.delay)
        return reply

    def _answer(self, params: Mapping[str, str], method: str) -> Reply:
        if params.get("api_key") != self.api_key:
            return error(10)
        signed = "api_sig" in params or "sk" in params or method in SIGNED_METHODS
        if signed and not signature_matches(params, self.api_secret):
            return error(13)
        if "sk" in params and self.logins.session_user(params["sk"]) is None:
            return error(9)
        if method == "auth.gettoken":
            return Reply(200, documents.token_document(self.logins.issue_token()))
        if method == "auth.getsession":
            return self._session(params)
        recorded = self.recordings.answer(params)
        if recorded is None:
            return error(6, documents.not_found_message(method))
        return Reply(recorded.status, recorded.body)

    def _session(self, params: Mapping[str, str]) -> Reply:
        token = params.get("token", "")
        if not token:
            return error(6)
        if not self.logins.is_issued(token):
            # A token the fake never issued: a recorded answer if there is one
            # (the recordings hold last.fm's own error 4), else error 4.
            recorded = self.recordings.answer(params)
            if recorded is not None:
                return Reply(recorded.status, recorded.body)
        exchange = self.logins.exchange(token)
        if exchange.error:
            return error(exchange.error)
        return Reply(200, documents.session_document(exchange.user, exchange.key))

    # --- the user's browser: /api/auth/ ---------------------------------------

    def auth_page(self, params: Mapping[str, str]) -> Reply:
        """Where a user allows the game: ``?api_key=K&token=T&user=NAME`` allows token T
        for NAME; ``?api_key=K&cb=URL&user=NAME`` (web flow) issues a token, allows it
        and redirects to URL with ``token`` added."""
        if params.get("api_key") != self.api_key:
            return _page(403, "Invalid API key", "this application's API key is not known")
        user = params.get("user", "").strip()
        if not user:
            text = "the fake last.fm needs ?user=NAME to know who allows the application"
            return _page(400, "Who are you?", text)
        callback = params.get("cb", "")
        token = params.get("token") or (self.logins.issue_token() if callback else "")
        problem = self.logins.authorise(token, user)
        if problem is not None:
            return _page(400, "Cannot allow the application", problem)
        if callback:
            return Reply(302, content_type=documents.HTML, location=_with_token(callback, token))
        return _page(200, "Application allowed", f"{user} allowed the application.")

    # --- test control: /_fake/ ------------------------------------------------

    def control(self, action: str, params: Mapping[str, str]) -> Reply:
        """``requests`` (counts as JSON), ``faults`` (queue ``fault``, ``times``,
        ``delay``) and ``reset`` (counts and faults)."""
        if action == "requests":
            counts = self.counter.snapshot()
            body = {"total": counts.total, "by_method": dict(counts.by_method)}
            return Reply(200, json.dumps(body), "application/json")
        if action == "faults":
            try:
                self.faults.add(
                    Fault(params.get("fault", "")),
                    int(params.get("times", "1")),
                    float(params.get("delay", DEFAULT_DELAY_SECONDS)),
                )
            except ValueError as refused:
                return Reply(400, json.dumps({"error": str(refused)}), "application/json")
            return Reply(200, json.dumps({"pending": self.faults.pending()}), "application/json")
        if action == "reset":
            self.faults.clear()
            self.counter.clear()
            self.recordings.rewind()
            return Reply(200, "{}", "application/json")
        return Reply(404, json.dumps({"error": f"no control {action!r}"}), "application/json")


def _fault_reply(fault: Fault) -> Reply:
    code = fault.error_code
    if code is not None:
        return error(code)
    if fault is Fault.HTTP_500:
        return _page(500, "Internal Server Error", "the fake last.fm was told to fail")
    if fault is Fault.HTTP_503:
        return _page(503, "Service Unavailable", "the fake last.fm was told to fail")
    if fault is Fault.MALFORMED_XML:
        return Reply(200, documents.MALFORMED)
    if fault is Fault.DROP:
        return Reply(0, drop=True)
    raise ValueError(f"{fault} is not answered in place of a reply")


def _page(status: int, title: str, text: str) -> Reply:
    return Reply(status, documents.page(title, text), documents.HTML)


def _with_token(callback: str, token: str) -> str:
    parts = urlsplit(callback)
    query = {**parameters(parts.query), "token": token}
    return urlunsplit(parts._replace(query=urlencode(query)))
