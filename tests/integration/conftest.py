from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.sandbox import Stack


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def stack(servers, tmp_path: Path) -> Iterator[Stack]:
    s = Stack(servers.kafka_uri, servers.mongo_uri, tmp_path)
    try:
        yield s
    finally:
        s.close()
