"""Secrets are compared in constant time (issue 15, part 5).

``==`` on a string stops at the first differing character, so how long a refusal
takes tells an attacker how much of a guessed MAC was right. Over every module of
datm, no ``==`` or ``!=`` has a side that names a secret (a MAC, signature,
digest, secret, password, token, hash or session key): such comparisons go
through ``hmac.compare_digest``. A session is found by the SHA-256 of its key, a
lookup whose timing says nothing about the key.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import datm

PACKAGE = Path(datm.__file__).resolve().parent
SECRET_WORDS = frozenset(
    {"mac", "signature", "sig", "digest", "secret", "password", "token", "hash", "sk"}
)
SECRET_ENDINGS = ("session_key", "lastfm_key", "api_sig")


def names_a_secret(identifier: str) -> bool:
    words = set(re.split(r"_+", identifier.lower().strip("_")))
    return bool(words & SECRET_WORDS) or identifier.lower().endswith(SECRET_ENDINGS)


def _identifiers(node: ast.AST) -> Iterator[str]:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name):
            yield inner.id
        elif isinstance(inner, ast.Attribute):
            yield inner.attr


def secret_equalities(source: str) -> list[str]:
    """Every ``==``/``!=`` in ``source`` with a side that names a secret."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        if not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
            continue
        sides = [node.left, *node.comparators]
        if any(names_a_secret(name) for side in sides for name in _identifiers(side)):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def compare_digest_calls(source: str) -> int:
    return sum(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute | ast.Name)
        and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) == "compare_digest"
        for node in ast.walk(ast.parse(source))
    )


def sources() -> dict[str, str]:
    return {
        str(path.relative_to(PACKAGE)): path.read_text(encoding="utf-8")
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def test_no_secret_is_compared_with_equals_anywhere_in_datm() -> None:
    found = {name: hits for name, text in sources().items() if (hits := secret_equalities(text))}

    assert found == {}


def test_the_checks_that_compare_secrets_use_compare_digest() -> None:
    texts = sources()

    assert compare_digest_calls(texts["domain/quotes.py"]) >= 1  # quote MACs
    assert compare_digest_calls(texts["fake_lastfm/logins.py"]) >= 1  # last.fm's api_sig


def test_the_scan_finds_the_comparisons_it_forbids() -> None:
    forbidden = [
        "if mac == signature: pass",
        "ok = expected_mac != given",
        "same = session.key_hash == hash_session_key(key)",
        "if self._secret == other: pass",
        "if token == stored_token: pass",
        "if params['api_sig'] == api_sig: pass",
        "if session_key != cached: pass",
    ]
    allowed = [
        "if hmac.compare_digest(mac, signature): pass",
        "if count == 1: pass",
        "if task.id == task_id: pass",
        "if signed.count('.') != 1: pass",  # a count, not the secret, is compared
    ]

    assert [s for s in forbidden if not secret_equalities(s)] == []
    assert [s for s in allowed if secret_equalities(s)] == []
