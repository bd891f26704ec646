"""The documents the fake last.fm writes itself, worded as last.fm words them.

Error documents have last.fm's shape (``<lfm status="failed"><error code=N>``); the
HTTP status that goes with each code follows the recorded error 4 (403 Forbidden)
for refused credentials, 429 for the rate limit and 400 for everything else.
"""

from __future__ import annotations

from html import escape as html_escape
from xml.sax.saxutils import escape

XML = "text/xml; charset=UTF-8"
HTML = "text/html; charset=UTF-8"

MESSAGES: dict[int, str] = {
    4: "Unauthorized Token - This token has not been issued",
    6: "Invalid parameters - Your request is missing a required parameter",
    8: "Operation failed - Most likely the backend service failed. Please try again.",
    9: "Invalid session key - Please re-authenticate",
    10: "Invalid API key - You must be granted a valid key by last.fm",
    11: "Service Offline - This service is temporarily offline. Try again later.",
    13: "Invalid method signature supplied",
    14: "Unauthorized Token - This token has not been authorized",
    15: "This token has expired",
    16: "There was a temporary error processing your request. Please try again",
    29: "Rate Limit Exceeded - Your IP has made too many requests in a short period",
}

# What last.fm says for error 6 when the thing asked about does not exist.
NOT_FOUND: dict[str, str] = {
    "artist": "The artist you supplied could not be found",
    "user": "User not found",
    "library": "User not found",
    "tag": "Tag not found",
    "geo": "country param invalid",
}

HTTP_STATUS: dict[int, int] = {4: 403, 9: 403, 10: 403, 13: 403, 14: 403, 15: 403, 26: 403, 29: 429}

# Cut off in the middle of an element: no XML parser accepts it.
MALFORMED = '<?xml version="1.0" encoding="UTF-8" ?>\n<lfm status="ok"><artist><name>Radio'


def error_document(code: int, message: str | None = None) -> str:
    text = escape(message if message is not None else MESSAGES.get(code, "Error"))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<lfm status="failed">\n'
        f'  <error code="{code}">{text}</error>\n</lfm>\n'
    )


def not_found_message(method: str) -> str:
    """last.fm's error-6 wording for a method whose subject does not exist."""
    package = method.split(".", 1)[0].lower()
    return NOT_FOUND.get(package, MESSAGES[6])


def http_status(code: int) -> int:
    return HTTP_STATUS.get(code, 400)


def ok_document(inner: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<lfm status="ok">\n{inner}\n</lfm>\n'


def token_document(token: str) -> str:
    return ok_document(f"<token>{escape(token)}</token>")


def session_document(user: str, key: str) -> str:
    return ok_document(
        f"<session><name>{escape(user)}</name><key>{escape(key)}</key>"
        "<subscriber>0</subscriber></session>"
    )


def page(title: str, text: str) -> str:
    """The small HTML page a browser sees on the fake's auth endpoint."""
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html_escape(title)}</title></head>\n"
        f"<body><h1>{html_escape(title)}</h1><p>{html_escape(text)}</p></body></html>\n"
    )
