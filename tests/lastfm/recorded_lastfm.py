"""The recordings read independently of datm: PyYAML for the cassettes, ElementTree
for the documents, so that a test compares the adapter with the XML itself."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import yaml

from datm.domain.lastfm import Image

RECORDINGS = Path(__file__).resolve().parents[1] / "data" / "lastfm-recordings"


def cassette_names() -> list[str]:
    return sorted(path.name for path in RECORDINGS.glob("*.yaml"))


def interactions(name: str) -> list[dict[str, Any]]:
    cassette = yaml.safe_load((RECORDINGS / name).read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = cassette["interactions"]
    return found


def documents(name: str) -> list[ET.Element]:
    """The XML root (``<lfm>``) of every interaction of a cassette, in order."""
    return [
        ET.fromstring(item["response"]["body"]["string"].replace("opensearch:", ""))
        for item in interactions(name)
    ]


def recorded_request(name: str) -> dict[str, str]:
    return dict(parse_qsl(interactions(name)[0]["request"]["body"]))


def text(element: ET.Element | None, path: str) -> str:
    if element is None:
        return ""
    return (element.findtext(path) or "").strip()


def number(element: ET.Element | None, path: str) -> int:
    value = text(element, path)
    return int(value) if value else 0


def images(element: ET.Element) -> tuple[Image, ...]:
    return tuple(
        Image(size=image.get("size", ""), url=(image.text or "").strip())
        for image in element.findall("image")
        if image.get("size") and (image.text or "").strip()
    )
