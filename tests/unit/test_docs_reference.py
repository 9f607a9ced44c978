"""The reference in docs/ names exactly what the code has: topics, statuses,
rejection reasons, routes and settings, each way round."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

from http_api.routes import setup_routes
from shared.config import TOPIC_DEFAULTS
from shared.domain.events import REJECTION_REASONS
from shared.domain.model import Status

DOCS = Path(__file__).resolve().parents[2] / "docs"
CONFIG_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "config.py"


def first_column(page: str, heading: str) -> set[str]:
    """The backticked first cell of every row of the first table under ``heading``."""
    text = (DOCS / page).read_text()
    after = text[text.index(heading) + len(heading) :]
    rows = re.findall(r"^\| `([^`]+)`", after.split("\n#", 1)[0], re.MULTILINE)
    return set(rows)


def topic_names() -> set[str]:
    text = (DOCS / "topics.md").read_text()
    return set(re.findall(r"^### `([^`]+)`", text, re.MULTILINE)) | first_column(
        "topics.md", "## The original service's topics"
    )


def test_every_topic_of_the_registry_is_documented():
    assert set(TOPIC_DEFAULTS.values()) - topic_names() == set()


def test_every_documented_topic_is_in_the_registry():
    assert topic_names() - set(TOPIC_DEFAULTS.values()) == set()


def test_every_topic_setting_is_documented():
    text = (DOCS / "topics.md").read_text()
    missing = [f"TOPIC_{role.upper()}" for role in TOPIC_DEFAULTS if f"`TOPIC_{role.upper()}`" not in text]
    assert missing == []


def test_the_documented_statuses_are_the_core_s():
    assert first_column("orders.md", "## Statuses") == {str(s) for s in Status}


def test_the_documented_rejection_reasons_are_the_core_s():
    assert first_column("orders.md", "## Rejection reasons") == set(REJECTION_REASONS)


def served_routes() -> set[str]:
    app = web.Application()
    setup_routes(app)
    return {f"{r.method} {r.resource.canonical}" for r in app.router.routes() if r.method != "HEAD"}


def test_every_served_route_is_documented():
    assert served_routes() - first_column("http-api.md", "## Routes") == set()


def test_every_documented_route_is_served():
    assert first_column("http-api.md", "## Routes") - served_routes() == set()


def settings_read() -> set[str]:
    return set(re.findall(r'get\("([A-Z_]+)"', CONFIG_SOURCE.read_text()))


def documented_settings() -> set[str]:
    return {name for name in first_column("configuration.md", "# Configuration") if "<" not in name}


def test_every_setting_read_is_documented():
    assert settings_read() - documented_settings() == set()


def test_every_documented_setting_is_read():
    assert documented_settings() - settings_read() == set()
