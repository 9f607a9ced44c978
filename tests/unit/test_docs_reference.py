"""The reference in docs/ names exactly what the code has: topics, statuses,
rejection reasons, routes and settings, each way round."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from aiohttp import web

from http_api.mutations import REJECTION_STATUS
from http_api.routes import setup_routes
from shared.config import Section, Settings, declared
from shared.domain.events import Reason
from shared.domain.model import Status
from shared.kafka_config import NAMED_SETTINGS
from shared.topics import Kind, Topics

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


REGISTRY = tuple(Topics().registered())


def test_every_topic_of_the_registry_is_documented():
    assert {t.name for t in REGISTRY} - topic_names() == set()


def test_every_documented_topic_is_in_the_registry():
    assert topic_names() - {t.name for t in REGISTRY} == set()


def test_every_topic_setting_is_documented():
    text = (DOCS / "topics.md").read_text()
    assert [t.setting for t in REGISTRY if f"`{t.setting}`" not in text] == []


def documented_keys() -> dict[str, str]:
    """Setting -> key, from the lines "Setting `TOPIC_X`; key: `field`." of topics.md."""
    text = (DOCS / "topics.md").read_text()
    return {s: k.replace("`", "") for s, k in re.findall(r"Setting `(TOPIC_\w+)`; key: ([^.]+)\.", text)}


def test_each_topic_is_keyed_as_documented():
    documented = documented_keys()
    assert {t.setting: t.key for t in REGISTRY if t.setting in documented} == documented


def test_the_original_service_s_topics_are_keyed_as_documented():
    text = (DOCS / "topics.md").read_text()
    section = text[text.index("## The original service's topics") :]
    keys = {t.key for t in REGISTRY if t.kind == Kind.COMPAT}
    assert [f"(key: `{k}`)" in section for k in keys] == [True]


def test_the_documented_statuses_are_the_core_s():
    assert first_column("orders.md", "## Statuses") == {str(s) for s in Status}


def test_the_documented_rejection_reasons_are_the_core_s():
    assert first_column("orders.md", "## Rejection reasons") == {str(r) for r in Reason}


def documented_statuses() -> dict[str, int]:
    """Reason -> HTTP status, from the last cell of each row of orders.md's reasons table."""
    text = (DOCS / "orders.md").read_text()
    section = text[text.index("## Rejection reasons") :].split("\n#", 1)[0]
    return {r: int(s) for r, s in re.findall(r"^\| `([^`]+)` \|.*\| (\d{3}) \|$", section, re.MULTILINE)}


def test_each_rejection_reason_answers_the_http_status_documented():
    assert documented_statuses() == {str(r): status for r, status in REJECTION_STATUS.items()}


def test_every_rejection_reason_has_an_http_status():
    assert set(REJECTION_STATUS) == set(Reason)


def served_routes() -> set[str]:
    app = web.Application()
    setup_routes(app)
    return {f"{r.method} {r.resource.canonical}" for r in app.router.routes() if r.method != "HEAD"}


def test_every_served_route_is_documented():
    assert served_routes() - first_column("http-api.md", "## Routes") == set()


def test_every_documented_route_is_served():
    assert first_column("http-api.md", "## Routes") - served_routes() == set()


def settings_read() -> set[str]:
    tabled = {d.variable for _, d in declared()}
    return tabled | set(re.findall(r'get\("([A-Z_]+)"', CONFIG_SOURCE.read_text())) | set(NAMED_SETTINGS)


def documented_settings() -> set[str]:
    return set().union(*(section_rows(section) for section in Section))


def section_rows(section: Section) -> set[str]:
    return {name for name in first_column("configuration.md", f"### {section}\n") if "<" not in name}


def test_every_setting_read_is_documented():
    assert settings_read() - documented_settings() == set()


def test_every_documented_setting_is_read():
    assert documented_settings() - settings_read() == set()


def test_each_declared_setting_is_documented_in_its_section():
    misplaced = {d.variable: str(d.section) for _, d in declared() if d.variable not in section_rows(d.section)}
    assert misplaced == {}


def documented_defaults() -> dict[str, str]:
    """Setting -> its default cell, from configuration.md's tables."""
    text = (DOCS / "configuration.md").read_text()
    return dict(re.findall(r"^\| `([A-Z_]+)` \| ([^|]*) \|", text, re.MULTILINE))


def test_each_numeric_default_is_documented_as_the_code_has_it():
    defaults = {f.name: f.default for f in fields(Settings)}
    documented = documented_defaults()
    wrong = {}
    for name, declaration in declared():
        variable, default = declaration.variable, defaults[name]
        if isinstance(default, int | float) and not isinstance(default, bool):
            cell = documented[variable].replace(",", "")
            first = re.match(r"\s*([0-9.]+)", cell)
            if first is None or float(first.group(1)) != float(default):
                wrong[variable] = (documented[variable].strip(), default)
    assert wrong == {}
