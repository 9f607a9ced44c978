"""The broker's jars come from a lock of coordinates and SHA-256s, fetched and checked without Maven."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from devkit import kafka_jars
from devkit.kafka_jars import KAFKA_VERSION, Jar, fetch, locked, parse_lock


def _jar_in(repository: Path, jar: Jar, content: bytes) -> None:
    path = Path(jar.url(str(repository)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def test_the_lock_holds_the_broker_and_its_tools_at_the_pinned_version():
    names = {(jar.group, jar.artifact): jar.version for jar in locked()}
    assert names[("org.apache.kafka", "kafka_2.13")] == KAFKA_VERSION
    assert names[("org.apache.kafka", "kafka-tools")] == KAFKA_VERSION


def test_the_pom_asks_for_the_version_the_lock_was_made_at():
    pom = kafka_jars.POM.read_text()
    assert f"<kafka.version>{KAFKA_VERSION}</kafka.version>" in pom, re.findall(r"<kafka.version>.*?<", pom)


def test_every_locked_jar_is_named_once():
    jars = locked()
    assert len({(jar.group, jar.artifact) for jar in jars}) == len(jars)


def test_a_lock_line_without_a_hash_is_refused_with_its_line_number():
    with pytest.raises(ValueError, match="line 2"):
        parse_lock("# header\norg.example:thing:1.0\n")


def test_a_lock_line_with_a_short_hash_is_refused():
    with pytest.raises(ValueError, match="not a SHA-256"):
        parse_lock("org.example:thing:1.0 abc123\n")


def test_a_jar_is_fetched_from_the_repository_and_kept_when_its_hash_matches(tmp_path, monkeypatch):
    monkeypatch.setattr(Path, "home", lambda: tmp_path / "no-home")  # no ~/.m2 to copy from
    content = b"the jar's bytes"
    jar = Jar("org.example", "thing", "1.0", hashlib.sha256(content).hexdigest())
    _jar_in(tmp_path / "repo", jar, content)
    target = tmp_path / "jars"
    target.mkdir()
    got = fetch(jar, target, (tmp_path / "repo").as_uri())
    assert got.read_bytes() == content


def test_a_jar_whose_hash_differs_from_the_lock_is_refused_and_not_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(Path, "home", lambda: tmp_path / "no-home")
    jar = Jar("org.example", "thing", "1.0", hashlib.sha256(b"what the lock says").hexdigest())
    _jar_in(tmp_path / "repo", jar, b"something else")
    target = tmp_path / "jars"
    target.mkdir()
    with pytest.raises(RuntimeError, match="SHA-256"):
        fetch(jar, target, (tmp_path / "repo").as_uri())
    assert list(target.iterdir()) == [], list(target.iterdir())
